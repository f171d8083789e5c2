"""The frame format of the transport: AES-GCM sealed, length-prefixed frames whose 24-byte
nonce names the channel and counts its frames.

Wire format (all integers big-endian)::

    nonce     = sender:u16 | receiver:u16 | kind:u8 | salt:11 bytes | counter:u64   (24 bytes)
    frame     = length:u32 | nonce | AES-GCM ciphertext (payload + 16-byte tag)
    length    = len(nonce) + len(ciphertext) = len(payload) + 40, at most max_frame_size

    dialler i -> acceptor j:  index i:u16 (in clear), then
                              frame(kind=0, counter=0, payload = session_tag | i:u16 | j:u16)
    acceptor j -> dialler i:  frame(kind=1, same salt, counter=0,
                              payload = session_tag | j:u16 | i:u16)            (the ack)
    dialler i -> acceptor j:  frame(kind=0, counter=1, 2, ...) for each message, forever

A receiver checks, in this order: the announced length (before allocating anything), the
frame's authentication (nonce included, as associated data), that the nonce belongs to this
channel (sender, receiver, kind and salt) and that its counter is exactly the next one
(:func:`receive_frame`). The handshake that sets up a channel is in
:mod:`offchain.transport.handshake`; connecting and the threads in
:mod:`offchain.transport.mesh`.
"""

from __future__ import annotations

import queue
import socket
import struct
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.exceptions import CryptoError
from nacl.public import Box

from offchain.exceptions import TransportError

#: Default largest frame (nonce + ciphertext) accepted or sent. Big enough for vectors of
#: millions of field elements; small enough that a hostile length cannot exhaust memory.
MAX_FRAME_SIZE = 256 * 1024 * 1024

NONCE = struct.Struct(">HHB11sQ")  # sender, receiver, kind, salt, counter
NONCE_SIZE = Box.NONCE_SIZE  # 24
MAC_SIZE = 16
SALT_SIZE = 11
LEN = struct.Struct(">I")

#: Bytes on the wire per message beyond the payload: length prefix, nonce, MAC.
FRAME_OVERHEAD = LEN.size + NONCE_SIZE + MAC_SIZE

KIND_DATA = 0  # handshake (counter 0) and every data frame on a dialled connection
KIND_ACK = 1  # the acceptor's handshake reply; a distinct kind so it can never share a nonce

# Frames up to this size are sent with their header in one write (one TCP segment with
# TCP_NODELAY); larger ones are written separately so the payload is never copied again.
COALESCE_LIMIT = 64 * 1024

assert NONCE.size == NONCE_SIZE


@dataclass(frozen=True)
class TransportStats:
    """Traffic counters of one ``PeerNetwork`` (data frames only, handshakes excluded).

    ``bytes_*`` count payload bytes; ``wire_bytes_*`` add the per-frame overhead
    (``FRAME_OVERHEAD`` = length prefix + nonce + MAC). Received counters advance when
    ``recv`` delivers a message. ``rounds`` counts ``exchange``/``exchange_each`` calls.
    ``seconds_waiting`` is the time ``recv`` spent blocked (the network's share of a run, plus
    waiting for slower peers).
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    rounds: int = 0
    seconds_waiting: float = 0.0

    @property
    def wire_bytes_sent(self) -> int:
        """Bytes written to sockets for data frames, including framing and crypto overhead."""
        return self.bytes_sent + FRAME_OVERHEAD * self.messages_sent

    @property
    def wire_bytes_received(self) -> int:
        """Bytes read from sockets for delivered data frames, including overhead."""
        return self.bytes_received + FRAME_OVERHEAD * self.messages_received


class PeerClosed(Exception):
    """The remote end closed the connection (EOF); ``midframe`` if inside a frame."""

    def __init__(self, midframe: bool) -> None:
        super().__init__("closed")
        self.midframe = midframe


class Outgoing:
    """The connection we dialled to ``peer``: we only write to it."""

    def __init__(self, peer: int, sock: socket.socket, box: ChannelCipher, prefix: bytes) -> None:
        self.peer = peer
        self.sock = sock
        self.box = box
        self.prefix = prefix  # nonce bytes before the counter: sender|receiver|kind|salt
        self.counter = 1  # 0 was the handshake
        self.lock = threading.Lock()  # one frame at a time: counter order == stream order
        self.failed: TransportError | None = None


class Incoming:
    """The connection ``peer`` dialled to us: a reader thread fills ``queue``."""

    def __init__(self, peer: int, sock: socket.socket, box: ChannelCipher, prefix: bytes) -> None:
        self.peer = peer
        self.sock = sock
        self.box = box
        self.prefix = prefix
        self.expected = 1
        # Items are plaintext bytes or, last, the TransportError that ended the channel.
        self.queue: queue.SimpleQueue[bytes | TransportError] = queue.SimpleQueue()
        self.failed: TransportError | None = None
        self.thread: threading.Thread | None = None


class ChannelCipher:
    """AES-256-GCM for one pair of orgs, with ``Box``'s ``encrypt``/``decrypt`` signature.

    One key per nonce prefix (sender, receiver, kind, per-connection salt), derived by
    HKDF-SHA256 from the pair's X25519 shared secret; under that key the 8-byte counter is
    the GCM nonce, so no (key, nonce) pair ever repeats. The full 24-byte nonce is associated
    data: altering any of it fails authentication.
    """

    def __init__(self, box: Box) -> None:
        self._shared = box.shared_key()
        self._keys: dict[bytes, AESGCM] = {}

    def _aead(self, prefix: bytes) -> AESGCM:
        aead = self._keys.get(prefix)
        if aead is None:
            key = HKDF(SHA256(), 32, salt=None, info=b"chainmpc/transport/v1" + prefix).derive(
                self._shared
            )
            aead = self._keys[prefix] = AESGCM(key)
        return aead

    def encrypt(self, plaintext: bytes, nonce: bytes) -> bytes:
        """``nonce || ciphertext || tag``."""
        prefix, counter = nonce[:-8], nonce[-8:]
        return nonce + self._aead(prefix).encrypt(bytes(4) + counter, plaintext, nonce)

    def decrypt(self, ciphertext: bytes, nonce: bytes) -> bytes:
        """The plaintext, or ``CryptoError`` if anything was altered."""
        try:
            return self._aead(nonce[:-8]).decrypt(bytes(4) + nonce[-8:], ciphertext, nonce)
        except InvalidTag:
            raise CryptoError("authentication failed") from None


def nonce_prefix(sender: int, receiver: int, kind: int, salt: bytes) -> bytes:
    """The nonce bytes before the counter: they name the channel and the frame kind."""
    return NONCE.pack(sender, receiver, kind, salt, 0)[: NONCE_SIZE - 8]


def recv_into_exact(sock: socket.socket, view: memoryview) -> int:
    """Fill ``view`` from ``sock``; return the byte count read (short only on EOF)."""
    got = 0
    total = len(view)
    while got < total:
        n = sock.recv_into(view[got:])
        if n == 0:
            break
        got += n
    return got


def read_frame(sock: socket.socket, limit: int) -> bytearray:
    """Read one length-prefixed frame; ``PeerClosed`` on EOF, ``ValueError`` on bad length."""
    header = bytearray(LEN.size)
    got = recv_into_exact(sock, memoryview(header))
    if got < len(header):
        raise PeerClosed(midframe=got > 0)
    (length,) = LEN.unpack(header)
    # Checked before allocating: an unauthenticated length must not decide our memory use.
    if length < NONCE_SIZE + MAC_SIZE or length > limit:
        raise ValueError(length)
    body = bytearray(length)  # received in place: no per-chunk concatenation
    if recv_into_exact(sock, memoryview(body)) < length:
        raise PeerClosed(midframe=True)
    return body


def open_frame(
    box: ChannelCipher, body: bytearray
) -> tuple[tuple[int, int, int, bytes, int], bytes]:
    """Authenticate and decrypt ``body``; return (parsed nonce, plaintext). ``CryptoError``."""
    view = memoryview(body)
    nonce = bytes(view[:NONCE_SIZE])
    plaintext = box.decrypt(bytes(view[NONCE_SIZE:]), nonce)
    return NONCE.unpack(nonce), plaintext


def receive_frame(chan: Incoming, limit: int) -> bytes:
    """The next frame's plaintext from ``chan``, checked to be genuine, of this channel and
    next in sequence; :class:`TransportError` naming what failed (:class:`PeerClosed` on
    EOF, ``OSError`` from the socket)."""
    peer = chan.peer
    try:
        body = read_frame(chan.sock, limit)
    except ValueError as e:
        raise TransportError(
            f"frame from org {peer} announces {e.args[0]} bytes "
            f"(allowed {NONCE_SIZE + MAC_SIZE}..{limit})",
            peer=peer,
        ) from None
    # Authenticate first: any altered byte, nonce included, is reported as such.
    try:
        (sender, receiver, kind, salt, counter), plain = open_frame(chan.box, body)
    except CryptoError:
        raise TransportError(f"message from org {peer} failed authentication", peer=peer) from None
    del body
    # Genuine frame: now check it belongs here and now. The box key is the same in both
    # directions, so this is what stops reflected/cross-connection frames.
    if nonce_prefix(sender, receiver, kind, salt) != chan.prefix:
        raise TransportError(
            f"message from org {peer} carries a nonce of another channel", peer=peer
        )
    if counter != chan.expected:
        raise TransportError(
            f"message from org {peer} is out of sequence (counter {counter}, "
            f"expected {chan.expected}): replayed, reordered or dropped",
            peer=peer,
        )
    chan.expected += 1
    return plain
