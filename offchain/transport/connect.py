"""Setting up the mesh: listening, dialling every other org, and a thread per connection
(accepting and authenticating incoming handshakes, reading frames). A base of
:class:`~offchain.transport.mesh.PeerNetwork`, which holds the state these methods share
(under ``self._cond``); apart only to keep each module short.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

from offchain.exceptions import TransportError
from offchain.transport.framing import (
    KIND_DATA,
    ChannelCipher,
    Incoming,
    Outgoing,
    PeerClosed,
    nonce_prefix,
    receive_frame,
)
from offchain.transport.handshake import (
    Rejected,
    accept_handshake,
    dial_handshake,
    read_claim,
    send_ack,
)

logger = logging.getLogger("offchain.transport.mesh")  # one logger for the whole transport

_ACCEPT_POLL = 0.05
_MAX_BACKOFF = 0.5


def close_socket(sock: socket.socket) -> None:
    # shutdown() first: it wakes a thread blocked in recv on this socket, close() may not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def set_nodelay(sock: socket.socket) -> None:
    # Protocol rounds are latency-bound small messages; Nagle would add delays per round.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MeshSetup:
    """Start-up and the per-connection threads of :class:`~offchain.transport.mesh.PeerNetwork`
    (which defines the attributes used here)."""

    _n: int
    _index: int
    _tag: bytes
    _endpoints: list[tuple[str, int]]
    _boxes: dict[int, ChannelCipher]
    _outgoing: dict[int, Outgoing]
    _incoming: dict[int, Incoming]
    _pending: set[socket.socket]
    _dial_errors: dict[int, TransportError]
    _ready: set[int]
    _listener: socket.socket | None
    _acceptor: threading.Thread | None
    _stop_accepting: threading.Event
    _threads: list[threading.Thread]
    _cond: threading.Condition
    _started: bool
    _closed: bool
    timeout: float
    max_frame_size: int

    def _others(self) -> list[int]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

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
                    close_socket(sock)
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
            set_nodelay(sock)
            try:
                claimed = read_claim(sock, self._index, self._n)
                box = self._boxes[claimed]
                salt = accept_handshake(sock, box, self._index, claimed, self._tag)
            except Rejected as r:
                claimed = r.claimed
                reject(r.reason)
                return
            chan = Incoming(claimed, sock, box, nonce_prefix(claimed, self._index, KIND_DATA, salt))
            with self._cond:
                if self._closed:
                    return
                if claimed in self._incoming:
                    # A replayed handshake, or a second dial: the first channel stays.
                    reject("that org is already connected")
                    return
                self._incoming[claimed] = chan  # reserve before acking, checked atomically
            try:
                send_ack(sock, box, self._index, claimed, self._tag, salt)
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
                close_socket(sock)

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
            set_nodelay(sock)
            box = self._boxes[peer]
            prefix = dial_handshake(sock, box, self._index, peer, self._tag, where)
            sock.settimeout(self.timeout)  # bounds each send
            with self._cond:
                if self._closed:
                    return
                self._outgoing[peer] = Outgoing(peer, sock, box, prefix)
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
                close_socket(sock)

    def _read_loop(self, chan: Incoming) -> None:
        peer = chan.peer
        err: TransportError
        quiet = False  # an orderly close by the peer is routine, not worth a warning
        try:
            while True:
                chan.queue.put(receive_frame(chan, self.max_frame_size))
        except TransportError as e:
            err = e
        except PeerClosed as e:
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
        close_socket(chan.sock)
