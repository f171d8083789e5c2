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


The frame format and its checks are in :mod:`offchain.transport.framing`, the handshake in
:mod:`offchain.transport.handshake`; this module connects the mesh and runs its threads.
After the handshake only the dialler writes to a connection. Each incoming connection has a
reader thread that drains, authenticates and queues frames as they arrive, so a large send
never waits on the receiving org's application code and ``exchange`` cannot deadlock on full
socket buffers.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey

from offchain.exceptions import TransportError
from offchain.transport.connect import MeshSetup, close_socket
from offchain.transport.framing import (
    COALESCE_LIMIT,
    FRAME_OVERHEAD,
    LEN,
    MAC_SIZE,
    MAX_FRAME_SIZE,
    NONCE_SIZE,
    ChannelCipher,
    Incoming,
    Outgoing,
    TransportStats,
)

__all__ = [
    "MAX_FRAME_SIZE",
    "FRAME_OVERHEAD",
    "PeerNetwork",
    "TransportError",
    "TransportStats",
    "free_ports",
]

_MAX_SESSION_TAG = 1024


class PeerNetwork(MeshSetup):
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
        if max_frame_size < NONCE_SIZE + MAC_SIZE + 1 or max_frame_size > 0xFFFFFFFF:
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
        self._boxes: dict[int, ChannelCipher] = {}
        for j in range(n):
            if j == index:
                continue
            try:
                # Precomputes the X25519 shared key once per peer.
                self._boxes[j] = ChannelCipher(Box(secret_key, PublicKey(keys[j])))
            except CryptoError:
                raise ValueError(f"public key of org {j} is not a usable Curve25519 key") from None

        self._cond = threading.Condition()
        self._outgoing: dict[int, Outgoing] = {}
        self._incoming: dict[int, Incoming] = {}
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
        self._waiting = 0.0

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
                seconds_waiting=self._waiting,
            )

    def _others(self) -> list[int]:
        # Start after our own index so that not every org writes to org 0 first.
        return [(self._index + k) % self._n for k in range(1, self._n)]

    # ------------------------------------------------------------------ receiving

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
        start = time.perf_counter()
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
            self._waiting += time.perf_counter() - start
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
        if len(data) + NONCE_SIZE + MAC_SIZE > self.max_frame_size:
            raise TransportError(
                f"message for org {to} is {len(data)} bytes, over the frame limit of "
                f"{self.max_frame_size} bytes",
                peer=to,
            )
        with chan.lock:
            if chan.failed is not None:
                raise chan.failed
            frame = chan.box.encrypt(data, chan.prefix + chan.counter.to_bytes(8, "big"))
            header = LEN.pack(len(frame))
            try:
                if len(frame) <= COALESCE_LIMIT:
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
                close_socket(chan.sock)
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

    def _out_channel(self, peer: int) -> Outgoing:
        self._check_peer(peer)
        chan = self._outgoing.get(peer)
        if chan is None:
            raise TransportError(f"no channel to org {peer}: call start() first", peer=peer)
        return chan

    def _in_channel(self, peer: int) -> Incoming:
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
            close_socket(sock)
        # No lock here: shutting the socket down is what interrupts a send blocked on it.
        for out in outgoing:
            close_socket(out.sock)
        for inc in incoming:
            close_socket(inc.sock)
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
