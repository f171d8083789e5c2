"""Authenticated, encrypted full-mesh channels between the organisations' peers.

Every opening in the compute phase travels over these channels, so they must give each org
exactly the bytes the other org sent, in order, and nothing from anyone else. The transport
is a full mesh over real TCP: for every ordered pair of orgs ``(i, j)`` there is one
connection, dialled by ``i``, on which only ``i`` sends data and only ``j`` reads it. Two
connections per pair keep each direction independent (no simultaneous-open races, no
interleaving of the two directions' counters).

Security properties (against a network attacker, and against any party that does not hold
the claimed org's registered secret key):

* **Confidentiality and integrity.** Every frame is sealed with AES-256-GCM under a key that
  HKDF-SHA256 derives from the X25519 shared secret of the sender's static secret key and the
  receiver's registered public key (the keys each org registered on-chain, via
  ``nacl.public.Box``) and from the channel's nonce prefix; the whole 24-byte nonce is the
  GCM associated data. AES-GCM rather than the box's own XSalsa20-Poly1305 because openings
  are tens of MB per round and AES-NI makes the cipher several times cheaper. A frame that
  does not authenticate under the channel's key is rejected and the channel is closed.
* **Peer authentication.** The acceptor learns who dialled by decrypting the handshake frame
  with the *claimed* org's registered public key; only that org (or the acceptor itself) can
  produce it. The dialler learns it reached the right org from the encrypted acknowledgement,
  which only the holder of the acceptor's secret key can produce. A peer with a wrong key or
  a wrong session tag is never accepted.
* **Order, no replay, no drops, no reflection.** The nonce carries the sender index, the
  receiver index, a frame kind, a per-connection random salt and a 64-bit counter. The
  receiver requires the counter to be exactly the next expected one and every other field to
  match the channel, so a replayed, reordered, dropped, reflected (``i -> j`` frame fed back
  to ``i``) or cross-connection frame is rejected. The nonce is authenticated as part of the
  box, so it cannot be altered without failing authentication.
* **Nonce uniqueness across sessions.** Orgs keep their static keys across sessions, so the
  counter alone would repeat nonces under the same key in every session; the dialler's
  random 11-byte salt makes each connection's nonce space fresh.
* **Session binding.** The handshake carries ``session_tag``; a peer from another session is
  rejected. Replay protection *across* sessions rests on the tag being unique per session
  (e.g. derived from the on-chain session id).

Not provided: hiding who talks to whom or how much (lengths are visible), and availability
(a network attacker can always cut a connection; that surfaces as a ``TransportError``).

Wire format (all integers big-endian)::

    nonce     = sender:u16 | receiver:u16 | kind:u8 | salt:11 bytes | counter:u64   (24 bytes)
    frame     = length:u32 | nonce | AES-GCM ciphertext (payload + 16-byte tag)
    length    = len(nonce) + len(ciphertext) = len(payload) + 40, at most max_frame_size

    dialler i -> acceptor j:  index i:u16 (in clear), then
                              frame(kind=0, counter=0, payload = session_tag | i:u16 | j:u16)
    acceptor j -> dialler i:  frame(kind=1, same salt, counter=0,
                              payload = session_tag | j:u16 | i:u16)            (the ack)
    dialler i -> acceptor j:  frame(kind=0, counter=1, 2, ...) for each message, forever

After the ack only the dialler writes to a connection. Each incoming connection has a reader
thread that drains, authenticates and queues frames as they arrive, so a large send never
waits on the receiving org's application code and ``exchange`` cannot deadlock on full
socket buffers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

from offchain.exceptions import TransportError

__all__ = [
    "MAX_FRAME_SIZE",
    "FRAME_OVERHEAD",
    "PeerNetwork",
    "TransportError",
    "TransportStats",
    "free_ports",
]

logger = logging.getLogger(__name__)

#: Default largest frame (nonce + ciphertext) accepted or sent. Big enough for vectors of
#: millions of field elements; small enough that a hostile length cannot exhaust memory.
MAX_FRAME_SIZE = 256 * 1024 * 1024

_NONCE = struct.Struct(">HHB11sQ")  # sender, receiver, kind, salt, counter
_NONCE_SIZE = Box.NONCE_SIZE  # 24
_MAC_SIZE = 16
_SALT_SIZE = 11
_LEN = struct.Struct(">I")
_INDEX = struct.Struct(">H")
_PAIR = struct.Struct(">HH")

#: Bytes on the wire per message beyond the payload: length prefix, nonce, MAC.
FRAME_OVERHEAD = _LEN.size + _NONCE_SIZE + _MAC_SIZE

_KIND_DATA = 0  # handshake (counter 0) and every data frame on a dialled connection
_KIND_ACK = 1  # the acceptor's handshake reply; a distinct kind so it can never share a nonce

_MAX_SESSION_TAG = 1024
# Frames up to this size are sent with their header in one write (one TCP segment with
# TCP_NODELAY); larger ones are written separately so the payload is never copied again.
_COALESCE_LIMIT = 64 * 1024
_ACCEPT_POLL = 0.05
_MAX_BACKOFF = 0.5

assert _NONCE.size == _NONCE_SIZE


class _PeerClosed(Exception):
    """The remote end closed the connection (EOF); ``midframe`` if inside a frame."""

    def __init__(self, midframe: bool) -> None:
        super().__init__("closed")
        self.midframe = midframe


@dataclass(frozen=True)
class TransportStats:
    """Traffic counters of one ``PeerNetwork`` (data frames only, handshakes excluded).

    ``bytes_*`` count payload bytes; ``wire_bytes_*`` add the per-frame overhead
    (``FRAME_OVERHEAD`` = length prefix + nonce + MAC). Received counters advance when
    ``recv`` delivers a message. ``rounds`` counts ``exchange``/``exchange_each`` calls.
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    rounds: int = 0

    @property
    def wire_bytes_sent(self) -> int:
        """Bytes written to sockets for data frames, including framing and crypto overhead."""
        return self.bytes_sent + FRAME_OVERHEAD * self.messages_sent

    @property
    def wire_bytes_received(self) -> int:
        """Bytes read from sockets for delivered data frames, including overhead."""
        return self.bytes_received + FRAME_OVERHEAD * self.messages_received


class _Outgoing:
    """The connection we dialled to ``peer``: we only write to it."""

    def __init__(self, peer: int, sock: socket.socket, box: _ChannelCipher, prefix: bytes) -> None:
        self.peer = peer
        self.sock = sock
        self.box = box
        self.prefix = prefix  # nonce bytes before the counter: sender|receiver|kind|salt
        self.counter = 1  # 0 was the handshake
        self.lock = threading.Lock()  # one frame at a time: counter order == stream order
        self.failed: TransportError | None = None


class _Incoming:
    """The connection ``peer`` dialled to us: a reader thread fills ``queue``."""

    def __init__(self, peer: int, sock: socket.socket, box: _ChannelCipher, prefix: bytes) -> None:
        self.peer = peer
        self.sock = sock
        self.box = box
        self.prefix = prefix
        self.expected = 1
        # Items are plaintext bytes or, last, the TransportError that ended the channel.
        self.queue: queue.SimpleQueue[bytes | TransportError] = queue.SimpleQueue()
        self.failed: TransportError | None = None
        self.thread: threading.Thread | None = None


class _ChannelCipher:
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


def _nonce_prefix(sender: int, receiver: int, kind: int, salt: bytes) -> bytes:
    return _NONCE.pack(sender, receiver, kind, salt, 0)[: _NONCE_SIZE - 8]


def _recv_into_exact(sock: socket.socket, view: memoryview) -> int:
    """Fill ``view`` from ``sock``; return the byte count read (short only on EOF)."""
    got = 0
    total = len(view)
    while got < total:
        n = sock.recv_into(view[got:])
        if n == 0:
            break
        got += n
    return got


def _read_frame(sock: socket.socket, limit: int) -> bytearray:
    """Read one length-prefixed frame; ``_PeerClosed`` on EOF, ``ValueError`` on bad length."""
    header = bytearray(_LEN.size)
    got = _recv_into_exact(sock, memoryview(header))
    if got < len(header):
        raise _PeerClosed(midframe=got > 0)
    (length,) = _LEN.unpack(header)
    # Checked before allocating: an unauthenticated length must not decide our memory use.
    if length < _NONCE_SIZE + _MAC_SIZE or length > limit:
        raise ValueError(length)
    body = bytearray(length)  # received in place: no per-chunk concatenation
    if _recv_into_exact(sock, memoryview(body)) < length:
        raise _PeerClosed(midframe=True)
    return body


def _open_frame(
    box: _ChannelCipher, body: bytearray
) -> tuple[tuple[int, int, int, bytes, int], bytes]:
    """Authenticate and decrypt ``body``; return (parsed nonce, plaintext). ``CryptoError``."""
    view = memoryview(body)
    nonce = bytes(view[:_NONCE_SIZE])
    plaintext = box.decrypt(bytes(view[_NONCE_SIZE:]), nonce)
    return _NONCE.unpack(nonce), plaintext


def _close_socket(sock: socket.socket) -> None:
    # shutdown() first: it wakes a thread blocked in recv on this socket, close() may not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _set_nodelay(sock: socket.socket) -> None:
    # Protocol rounds are latency-bound small messages; Nagle would add delays per round.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PeerNetwork:
    """This org's end of the full mesh of authenticated, encrypted channels.

    ``index`` is this org's position; ``public_keys[j]`` and ``endpoints[j]`` are org ``j``'s
    registered Curve25519 public key (32 bytes) and ``(host, port)``. ``session_tag``
    (1..1024 bytes) must be the same at every org and unique per session. ``timeout`` bounds
    ``start`` as a whole, each blocking ``recv`` and each ``send``.

    Typical use::

        with PeerNetwork(i, sk, pks, endpoints, tag) as net:   # starts the mesh
            opened = net.exchange(my_share)

    ``send``/``recv`` on different peers may be called from different threads; the usual
    pattern is one protocol thread calling ``exchange``.
    """

    def __init__(
        self,
        index: int,
        secret_key: PrivateKey,
        public_keys: Sequence[bytes],
        endpoints: Sequence[tuple[str, int]],
        session_tag: bytes,
        timeout: float = 30.0,
        *,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        n = len(public_keys)
        if n < 1 or n > 0xFFFF:
            raise ValueError(f"need between 1 and 65535 orgs, got {n}")
        if len(endpoints) != n:
            raise ValueError(f"{n} public keys but {len(endpoints)} endpoints")
        if not 0 <= index < n:
            raise ValueError(f"index {index} out of range for {n} orgs")
        if not isinstance(session_tag, bytes | bytearray) or not (
            1 <= len(session_tag) <= _MAX_SESSION_TAG
        ):
            raise ValueError(f"session_tag must be 1..{_MAX_SESSION_TAG} bytes")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_frame_size < _NONCE_SIZE + _MAC_SIZE + 1 or max_frame_size > 0xFFFFFFFF:
            raise ValueError("max_frame_size out of range")
        keys = [bytes(k) for k in public_keys]
        for j, k in enumerate(keys):
            if len(k) != PublicKey.SIZE:
                raise ValueError(f"public key of org {j} must be {PublicKey.SIZE} bytes")
        if bytes(secret_key.public_key) != keys[index]:
            # Caught here so a misconfigured org fails fast instead of timing out everyone.
            raise ValueError(f"secret key does not match the registered public key of org {index}")
        for j, (_host, port) in enumerate(endpoints):
            if not 0 < int(port) <= 0xFFFF:
                raise ValueError(f"endpoint of org {j} needs a port in 1..65535, got {port}")
        self._n = n
        self._index = index
        self._endpoints = [(str(h), int(p)) for h, p in endpoints]
        self._tag = bytes(session_tag)
        self.timeout = float(timeout)
        self.max_frame_size = max_frame_size
        self._boxes: dict[int, _ChannelCipher] = {}
        for j in range(n):
            if j == index:
                continue
            try:
                # Precomputes the X25519 shared key once per peer.
                self._boxes[j] = _ChannelCipher(Box(secret_key, PublicKey(keys[j])))
            except CryptoError:
                raise ValueError(f"public key of org {j} is not a usable Curve25519 key") from None

        self._cond = threading.Condition()
        self._outgoing: dict[int, _Outgoing] = {}
        self._incoming: dict[int, _Incoming] = {}
        self._pending: set[socket.socket] = set()  # accepted, handshake not finished
        self._dial_errors: dict[int, TransportError] = {}
        self._ready: set[int] = set()  # incoming channels acknowledged and being read
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stop_accepting = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._closed = False
        self._stats_lock = threading.Lock()
        self._bytes_sent = 0
        self._bytes_received = 0
        self._messages_sent = 0
        self._messages_received = 0
        self._rounds = 0

    # ------------------------------------------------------------------ properties

    @property
    def n(self) -> int:
        """Number of orgs in the mesh (including this one)."""
        return self._n

    @property
    def index(self) -> int:
        """This org's index."""
        return self._index

    @property
    def stats(self) -> TransportStats:
        """A snapshot of the traffic counters."""
        with self._stats_lock:
            return TransportStats(
                bytes_sent=self._bytes_sent,
                bytes_received=self._bytes_received,
                messages_sent=self._messages_sent,
                messages_received=self._messages_received,
                rounds=self._rounds,
            )

    def _others(self) -> list[int]:
        # Start after our own index so that not every org writes to org 0 first.
        return [(self._index + k) % self._n for k in range(1, self._n)]

    # ------------------------------------------------------------------ start-up

    def start(self) -> None:
        """Listen, dial every other org, and return once all ``2*(n-1)`` channels are up.

        Dialling retries with backoff until ``timeout``. Raises ``TransportError`` (and closes
        everything) if a peer is unreachable, rejects our handshake, or never completes its
        handshake with us in time. Calling it again on a started network does nothing.
        """
        with self._cond:
            if self._closed:
                raise TransportError("transport is closed")
            if self._started:
                return
            self._started = True
        deadline = time.monotonic() + self.timeout
        try:
            self._start(deadline)
        except BaseException:
            self.close()
            raise
        # Everyone who needs to dial us has: no reason to keep accepting connections.
        self._stop_listening()

    def _stop_listening(self) -> None:
        self._stop_accepting.set()
        # Join before closing, so the accept thread never polls a closed (reusable) fd.
        if self._acceptor is not None and self._acceptor is not threading.current_thread():
            self._acceptor.join(timeout=1.0)
        if self._listener is not None:
            self._listener.close()

    def _start(self, deadline: float) -> None:
        if self._n == 1:
            return
        host, port = self._endpoints[self._index]
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            listener = socket.create_server((host, port), family=family, backlog=self._n + 8)
        except OSError as e:
            raise TransportError(
                f"org {self._index} cannot listen on {host}:{port}: {e.strerror or e}"
            ) from None
        listener.settimeout(_ACCEPT_POLL)  # poll so close()/stop can end the accept loop
        self._listener = listener
        self._acceptor = self._spawn(self._accept_loop, "accept", listener, deadline)
        dialers = [
            self._spawn(self._dial_guarded, f"dial-{j}", j, deadline) for j in self._others()
        ]

        others = self._others()
        with self._cond:
            # Wait until every peer is settled: both channels up, or our dial to it failed.
            # Failing fast on the first error would close our channels with honest orgs that
            # are still setting up, and they would then blame us instead of the real culprit.
            while not self._closed and not all(self._settled(j) for j in others):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        # Diallers share the deadline; give them a moment to report their more specific error.
        for t in dialers:
            t.join(timeout=max(0.0, deadline + 1.0 - time.monotonic()))
        with self._cond:
            if self._closed:
                raise TransportError("transport was closed during start")
            errors = [self._dial_errors[j] for j in sorted(self._dial_errors)]
            missing_in = [j for j in others if j not in self._dial_errors and j not in self._ready]
            missing_out = [
                j for j in others if j not in self._dial_errors and j not in self._outgoing
            ]
        if missing_in:
            names = ", ".join(f"org {j}" for j in sorted(missing_in))
            errors.append(
                TransportError(
                    f"timed out after {self.timeout}s: no authenticated connection from {names} "
                    "(not running, or wrong key or session tag)",
                    peer=min(missing_in),
                )
            )
        if missing_out:
            names = ", ".join(f"org {j}" for j in sorted(missing_out))
            errors.append(
                TransportError(
                    f"timed out after {self.timeout}s connecting to {names}", peer=min(missing_out)
                )
            )
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise TransportError("; ".join(str(e) for e in errors), peer=errors[0].peer)

    def _settled(self, peer: int) -> bool:
        return peer in self._dial_errors or (peer in self._outgoing and peer in self._ready)

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        t = threading.Thread(
            target=target,
            args=args,
            name=f"transport-{self._index}-{name}",
            daemon=True,  # a hung peer must not keep the process alive
        )
        self._threads.append(t)
        t.start()
        return t

    def _fail_dial(self, peer: int, err: TransportError) -> None:
        with self._cond:
            self._dial_errors[peer] = err
            self._cond.notify_all()

    def _accept_loop(self, listener: socket.socket, deadline: float) -> None:
        while not self._stop_accepting.is_set():
            try:
                sock, addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed
            with self._cond:
                if self._closed:
                    _close_socket(sock)
                    return
                self._pending.add(sock)
            # One thread per handshake: a silent or slow connection cannot hold up the others.
            self._spawn(self._handshake_incoming, "handshake", sock, addr, deadline)

    def _handshake_incoming(self, sock: socket.socket, addr: object, deadline: float) -> None:
        claimed: int | None = None
        accepted = False

        def reject(reason: str) -> None:
            who = f"org {claimed}" if claimed is not None else "an unknown org"
            logger.warning(
                "org %d rejected a connection from %s claiming to be %s: %s",
                self._index,
                addr,
                who,
                reason,
            )

        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            _set_nodelay(sock)
            hello = bytearray(_INDEX.size)
            if _recv_into_exact(sock, memoryview(hello)) < len(hello):
                reject("closed before sending its index")
                return
            (claimed,) = _INDEX.unpack(hello)
            if claimed >= self._n or claimed == self._index:
                reject(f"index {claimed} is not another org of this session")
                return
            box = self._boxes[claimed]
            expected_plain = self._tag + _PAIR.pack(claimed, self._index)
            # Exactly one size is valid: refuse anything else before reading it.
            try:
                body = _read_frame(sock, limit=_NONCE_SIZE + _MAC_SIZE + len(expected_plain))
            except ValueError:
                reject("handshake frame has the wrong length")
                return
            except _PeerClosed:
                reject("closed during the handshake")
                return
            try:
                (sender, receiver, kind, salt, counter), plain = _open_frame(box, body)
            except CryptoError:
                reject("handshake failed authentication (wrong key?)")
                return
            if (sender, receiver, kind, counter) != (claimed, self._index, _KIND_DATA, 0):
                reject("handshake nonce does not match the channel")
                return
            if plain != expected_plain:
                reject("wrong session tag")
                return
            chan = _Incoming(
                claimed, sock, box, _nonce_prefix(claimed, self._index, _KIND_DATA, salt)
            )
            with self._cond:
                if self._closed:
                    return
                if claimed in self._incoming:
                    # A replayed handshake, or a second dial: the first channel stays.
                    reject("that org is already connected")
                    return
                self._incoming[claimed] = chan  # reserve before acking, checked atomically
            try:
                ack = box.encrypt(
                    self._tag + _PAIR.pack(self._index, claimed),
                    _nonce_prefix(self._index, claimed, _KIND_ACK, salt) + bytes(8),
                )
                sock.sendall(_LEN.pack(len(ack)) + ack)
            except OSError:
                with self._cond:
                    del self._incoming[claimed]
                reject("connection lost while acknowledging")
                return
            sock.settimeout(None)  # the reader blocks indefinitely; recv() has its own timeout
            chan.thread = self._spawn(self._read_loop, f"reader-{claimed}", chan)
            accepted = True
            with self._cond:
                self._ready.add(claimed)
                self._cond.notify_all()
        except TimeoutError:
            reject("handshake timed out")
        except OSError as e:
            reject(f"connection error during handshake ({e.strerror or type(e).__name__})")
        finally:
            with self._cond:
                self._pending.discard(sock)
            if not accepted:
                _close_socket(sock)

    def _dial_guarded(self, peer: int, deadline: float) -> None:
        try:
            self._dial(peer, deadline)
        except TransportError as e:
            self._fail_dial(peer, e)
        except Exception as e:  # never let a dial thread die silently
            self._fail_dial(
                peer,
                TransportError(f"connecting to org {peer} failed: {type(e).__name__}", peer=peer),
            )

    def _dial(self, peer: int, deadline: float) -> None:
        host, port = self._endpoints[peer]
        where = f"org {peer} at {host}:{port}"
        delay = 0.02
        last = "no attempt"
        while True:
            if self._closed:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError(
                    f"could not reach {where} within {self.timeout}s ({last})", peer=peer
                )
            try:
                sock = socket.create_connection((host, port), timeout=remaining)
                break
            except OSError as e:
                last = e.strerror or type(e).__name__
            # Back off: the peer's listener may simply not be up yet.
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, _MAX_BACKOFF)

        ok = False
        try:
            _set_nodelay(sock)
            box = self._boxes[peer]
            salt = os.urandom(_SALT_SIZE)
            prefix = _nonce_prefix(self._index, peer, _KIND_DATA, salt)
            hs = box.encrypt(self._tag + _PAIR.pack(self._index, peer), prefix + bytes(8))
            sock.sendall(_INDEX.pack(self._index) + _LEN.pack(len(hs)) + hs)
            expected_ack = self._tag + _PAIR.pack(peer, self._index)
            try:
                body = _read_frame(sock, limit=_NONCE_SIZE + _MAC_SIZE + len(expected_ack))
                (sender, receiver, kind, ack_salt, counter), plain = _open_frame(box, body)
            except (_PeerClosed, ConnectionError):
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
                self._index,
                _KIND_ACK,
                salt,
                0,
            ) or plain != expected_ack:
                raise TransportError(
                    f"handshake acknowledgement from {where} does not match the channel",
                    peer=peer,
                )
            sock.settimeout(self.timeout)  # bounds each send
            with self._cond:
                if self._closed:
                    return
                self._outgoing[peer] = _Outgoing(peer, sock, box, prefix)
                ok = True
                self._cond.notify_all()
        except TimeoutError:
            raise TransportError(
                f"{where} did not answer our handshake within {self.timeout}s", peer=peer
            ) from None
        except OSError as e:
            raise TransportError(
                f"connection to {where} failed during the handshake "
                f"({e.strerror or type(e).__name__})",
                peer=peer,
            ) from None
        finally:
            if not ok:
                _close_socket(sock)

    # ------------------------------------------------------------------ receiving

    def _read_loop(self, chan: _Incoming) -> None:
        peer = chan.peer
        err: TransportError
        quiet = False  # an orderly close by the peer is routine, not worth a warning
        try:
            while True:
                try:
                    body = _read_frame(chan.sock, self.max_frame_size)
                except ValueError as e:
                    raise TransportError(
                        f"frame from org {peer} announces {e.args[0]} bytes "
                        f"(allowed {_NONCE_SIZE + _MAC_SIZE}..{self.max_frame_size})",
                        peer=peer,
                    ) from None
                # Authenticate first: any altered byte, nonce included, is reported as such.
                try:
                    (sender, receiver, kind, salt, counter), plain = _open_frame(chan.box, body)
                except CryptoError:
                    raise TransportError(
                        f"message from org {peer} failed authentication", peer=peer
                    ) from None
                del body
                # Genuine frame: now check it belongs here and now. The box key is the same
                # in both directions, so this is what stops reflected/cross-connection frames.
                if _nonce_prefix(sender, receiver, kind, salt) != chan.prefix:
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
                chan.queue.put(plain)
        except TransportError as e:
            err = e
        except _PeerClosed as e:
            quiet = not e.midframe
            how = "in the middle of a frame" if e.midframe else ""
            err = TransportError(f"org {peer} closed the connection {how}".rstrip(), peer=peer)
        except OSError as e:
            err = TransportError(
                f"connection from org {peer} failed ({e.strerror or type(e).__name__})",
                peer=peer,
            )
        if self._closed:
            err = TransportError("transport is closed", peer=peer)
        else:
            logger.log(logging.INFO if quiet else logging.WARNING, "org %d: %s", self._index, err)
        chan.queue.put(err)
        # Stop reading for good: the stream position is lost, and the sender should notice.
        _close_socket(chan.sock)

    def recv(self, frm: int) -> bytes:
        """Next message from org ``frm``, blocking up to ``timeout`` seconds.

        Raises ``TransportError`` on timeout, if the peer closed the connection, or if a
        frame failed authentication or arrived out of sequence (the channel is then dead:
        every later ``recv`` from that peer raises the same error). Messages that arrived
        before the peer closed are still delivered first.
        """
        chan = self._in_channel(frm)
        if chan.failed is not None:
            raise chan.failed
        try:
            item = chan.queue.get(timeout=self.timeout)
        except queue.Empty:
            raise TransportError(
                f"timed out after {self.timeout}s waiting for a message from org {frm}", peer=frm
            ) from None
        if isinstance(item, TransportError):
            chan.failed = item
            chan.queue.put(item)  # wake any other thread blocked on this channel too
            raise item
        with self._stats_lock:
            self._bytes_received += len(item)
            self._messages_received += 1
        return item

    # ------------------------------------------------------------------ sending

    def send(self, to: int, payload: bytes) -> None:
        """Encrypt ``payload`` and send it to org ``to`` as the channel's next message.

        Returns once the bytes are handed to the kernel (the receiver's reader thread drains
        them concurrently, so this does not wait on the receiver's application). Raises
        ``TransportError`` if the payload exceeds the frame limit, the peer is gone, or the
        write does not complete within ``timeout``.
        """
        chan = self._out_channel(to)
        data = payload if type(payload) is bytes else bytes(payload)  # PyNaCl needs bytes
        if len(data) + _NONCE_SIZE + _MAC_SIZE > self.max_frame_size:
            raise TransportError(
                f"message for org {to} is {len(data)} bytes, over the frame limit of "
                f"{self.max_frame_size} bytes",
                peer=to,
            )
        with chan.lock:
            if chan.failed is not None:
                raise chan.failed
            frame = chan.box.encrypt(data, chan.prefix + chan.counter.to_bytes(8, "big"))
            header = _LEN.pack(len(frame))
            try:
                if len(frame) <= _COALESCE_LIMIT:
                    chan.sock.sendall(header + frame)
                else:
                    chan.sock.sendall(header)
                    chan.sock.sendall(frame)
            except TimeoutError:
                # A partial frame may be on the wire: the stream is unusable from here on.
                chan.failed = TransportError(
                    f"timed out after {self.timeout}s sending to org {to}", peer=to
                )
            except OSError as e:
                chan.failed = TransportError(
                    f"org {to} closed the connection ({e.strerror or type(e).__name__})",
                    peer=to,
                )
            if chan.failed is not None:
                _close_socket(chan.sock)
                raise chan.failed
            chan.counter += 1
        with self._stats_lock:
            self._bytes_sent += len(data)
            self._messages_sent += 1

    def exchange(self, payload: bytes) -> list[bytes]:
        """One round: send ``payload`` to every other org and receive one message from each.

        Returns a list indexed by org, with ``payload`` itself at this org's index.
        """
        return self.exchange_each([payload] * self._n)

    def exchange_each(self, payloads: Sequence[bytes]) -> list[bytes]:
        """One round: send ``payloads[j]`` to org ``j``, receive one message from each.

        ``payloads[index]`` is not sent; it is returned at this org's index.
        """
        if len(payloads) != self._n:
            raise ValueError(f"need {self._n} payloads, got {len(payloads)}")
        # All sends first, then all receives: the peers' reader threads drain our sends while
        # they are doing the same, so no ordering between orgs is needed.
        for j in self._others():
            self.send(j, payloads[j])
        own = payloads[self._index]
        result: list[bytes] = [b""] * self._n
        result[self._index] = own if type(own) is bytes else bytes(own)
        for j in self._others():
            result[j] = self.recv(j)
        with self._stats_lock:
            self._rounds += 1
        return result

    def _check_peer(self, peer: int) -> None:
        if not 0 <= peer < self._n or peer == self._index:
            raise ValueError(f"org {peer} is not another org of this {self._n}-org mesh")
        if self._closed:
            raise TransportError("transport is closed", peer=peer)

    def _out_channel(self, peer: int) -> _Outgoing:
        self._check_peer(peer)
        chan = self._outgoing.get(peer)
        if chan is None:
            raise TransportError(f"no channel to org {peer}: call start() first", peer=peer)
        return chan

    def _in_channel(self, peer: int) -> _Incoming:
        self._check_peer(peer)
        chan = self._incoming.get(peer)
        if chan is None:
            raise TransportError(f"no channel from org {peer}: call start() first", peer=peer)
        return chan

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        """Close every connection and stop all threads. Idempotent.

        Threads blocked in ``recv`` wake with ``TransportError``; peers see the connection
        close.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending)
            outgoing = list(self._outgoing.values())
            incoming = list(self._incoming.values())
            self._cond.notify_all()
        self._stop_listening()
        for sock in pending:
            _close_socket(sock)
        # No lock here: shutting the socket down is what interrupts a send blocked on it.
        for out in outgoing:
            _close_socket(out.sock)
        for inc in incoming:
            _close_socket(inc.sock)
            inc.queue.put(TransportError("transport is closed", peer=inc.peer))
        for inc in incoming:
            if inc.thread is not None and inc.thread is not threading.current_thread():
                inc.thread.join(timeout=1.0)

    def __enter__(self) -> PeerNetwork:
        """Start the mesh (if not started yet) and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("started" if self._started else "new")
        return f"PeerNetwork(index={self._index}, n={self._n}, {state})"


def free_ports(k: int, host: str = "127.0.0.1") -> list[int]:
    """``k`` distinct TCP ports that are free right now on ``host`` (for tests and launchers).

    All ``k`` sockets are held open together so the ports are distinct; another process can
    still take one before it is used, which is acceptable for local runs.
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(k):
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
