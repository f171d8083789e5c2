"""The handshake that opens a channel: mutual authentication with the registered keys and
binding to the session.

The dialler ``i`` sends its index in clear, then a frame (kind 0, counter 0, a fresh random
salt) sealed under the key of the pair ``(i, j)`` whose payload is ``session_tag | i | j``.
The acceptor ``j`` opens it with the *claimed* org's registered public key, so only that org
(or ``j`` itself) can have produced it; it checks the nonce and the payload, then answers
with a frame of kind 1 under the same salt, payload ``session_tag | j | i``, which only the
holder of ``j``'s secret key can produce. Sizes are checked before anything is read: there is
exactly one valid handshake length. The frames themselves are :mod:`offchain.transport.framing`'s.
"""

from __future__ import annotations

import os
import socket
import struct

from nacl.exceptions import CryptoError

from offchain.exceptions import TransportError
from offchain.transport.framing import (
    KIND_ACK,
    KIND_DATA,
    LEN,
    MAC_SIZE,
    NONCE_SIZE,
    SALT_SIZE,
    ChannelCipher,
    PeerClosed,
    nonce_prefix,
    open_frame,
    read_frame,
    recv_into_exact,
)

INDEX = struct.Struct(">H")
PAIR = struct.Struct(">HH")


class Rejected(Exception):
    """An incoming handshake refused; ``reason`` is safe to log (no key material), ``claimed``
    the index the dialler claimed, if it got that far."""

    def __init__(self, reason: str, claimed: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claimed = claimed


def dial_handshake(
    sock: socket.socket, box: ChannelCipher, index: int, peer: int, tag: bytes, where: str
) -> bytes:
    """Authenticate the connection ``sock`` that org ``index`` dialled to org ``peer`` (two
    messages: handshake, acknowledgement); return the channel's nonce prefix.
    :class:`TransportError` if the acceptor refuses or its answer is not genuine; socket
    errors and timeouts propagate."""
    salt = os.urandom(SALT_SIZE)
    prefix = nonce_prefix(index, peer, KIND_DATA, salt)
    hs = box.encrypt(tag + PAIR.pack(index, peer), prefix + bytes(8))
    sock.sendall(INDEX.pack(index) + LEN.pack(len(hs)) + hs)
    expected_ack = tag + PAIR.pack(peer, index)
    try:
        body = read_frame(sock, limit=NONCE_SIZE + MAC_SIZE + len(expected_ack))
        (sender, receiver, kind, ack_salt, counter), plain = open_frame(box, body)
    except (PeerClosed, ConnectionError):
        raise TransportError(
            f"{where} rejected our handshake (closed the connection): "
            "wrong key or session tag on one side?",
            peer=peer,
        ) from None
    except (ValueError, CryptoError):
        raise TransportError(
            f"handshake acknowledgement from {where} failed authentication", peer=peer
        ) from None
    if (sender, receiver, kind, ack_salt, counter) != (
        peer,
        index,
        KIND_ACK,
        salt,
        0,
    ) or plain != expected_ack:
        raise TransportError(
            f"handshake acknowledgement from {where} does not match the channel",
            peer=peer,
        )
    return prefix


def read_claim(sock: socket.socket, index: int, n: int) -> int:
    """The index that the dialler of a connection accepted by org ``index`` of ``n`` claims
    (sent in clear, not yet authenticated: :func:`accept_handshake` checks it).
    :class:`Rejected` if it is no other org; socket errors and timeouts propagate."""
    hello = bytearray(INDEX.size)
    if recv_into_exact(sock, memoryview(hello)) < len(hello):
        raise Rejected("closed before sending its index")
    (claimed,) = INDEX.unpack(hello)
    if claimed >= n or claimed == index:
        raise Rejected(f"index {claimed} is not another org of this session", claimed)
    return claimed


def accept_handshake(
    sock: socket.socket, box: ChannelCipher, index: int, claimed: int, tag: bytes
) -> bytes:
    """Read and check the handshake frame of org ``claimed`` on a connection accepted by org
    ``index``, ``box`` being the pair's cipher (from ``claimed``'s registered key); return the
    channel's salt. :class:`Rejected` with the reason otherwise; socket errors and timeouts
    propagate. The caller acknowledges (:func:`send_ack`) once it has reserved the channel."""
    expected_plain = tag + PAIR.pack(claimed, index)
    # Exactly one size is valid: refuse anything else before reading it.
    try:
        body = read_frame(sock, limit=NONCE_SIZE + MAC_SIZE + len(expected_plain))
    except ValueError:
        raise Rejected("handshake frame has the wrong length", claimed) from None
    except PeerClosed:
        raise Rejected("closed during the handshake", claimed) from None
    try:
        (sender, receiver, kind, salt, counter), plain = open_frame(box, body)
    except CryptoError:
        raise Rejected("handshake failed authentication (wrong key?)", claimed) from None
    if (sender, receiver, kind, counter) != (claimed, index, KIND_DATA, 0):
        raise Rejected("handshake nonce does not match the channel", claimed)
    if plain != expected_plain:
        raise Rejected("wrong session tag", claimed)
    return salt


def send_ack(
    sock: socket.socket, box: ChannelCipher, index: int, claimed: int, tag: bytes, salt: bytes
) -> None:
    """Org ``index``'s acknowledgement of ``claimed``'s handshake (kind 1, the dialler's salt,
    counter 0): what proves to the dialler that it reached the holder of ``index``'s key."""
    ack = box.encrypt(
        tag + PAIR.pack(index, claimed), nonce_prefix(index, claimed, KIND_ACK, salt) + bytes(8)
    )
    sock.sendall(LEN.pack(len(ack)) + ack)
