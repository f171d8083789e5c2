"""Tests for offchain.transport.mesh: real TCP on 127.0.0.1, one thread per org.

In-flight attacks (tampering, replay, dropping, reordering, oversized frames) go through a
frame-aware TCP proxy placed between two orgs, so they hit the real wire format.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import Box, PrivateKey

from offchain.transport.framing import ChannelCipher
from offchain.transport.mesh import FRAME_OVERHEAD, PeerNetwork, TransportError, free_ports

TAG = b"session-42"
FAST = 10.0  # timeout for meshes expected to come up (generous: only failures wait it out)
FAIL = 0.8  # timeout for meshes that are expected not to


@pytest.fixture
def keys() -> list[PrivateKey]:
    return [PrivateKey.generate() for _ in range(4)]


def endpoints(n: int) -> list[tuple[str, int]]:
    return [("127.0.0.1", p) for p in free_ports(n)]


def make_net(
    i: int,
    keys: Sequence[PrivateKey],
    eps: Sequence[tuple[str, int]],
    *,
    timeout: float = FAST,
    tag: bytes = TAG,
    **kwargs: Any,
) -> PeerNetwork:
    pks = [bytes(k.public_key) for k in keys]
    return PeerNetwork(i, keys[i], pks, eps, tag, timeout=timeout, **kwargs)


def in_parallel(fns: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run fns concurrently; each result is the return value or the exception raised."""
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(f) for f in fns]
        out: list[Any] = []
        for f in futures:
            try:
                out.append(f.result(timeout=60))
            except Exception as e:  # collected, asserted on by the caller
                out.append(e)
        return out


@pytest.fixture
def mesh(keys: list[PrivateKey]) -> Iterator[list[PeerNetwork]]:
    """Three started orgs."""
    eps = endpoints(3)
    nets = [make_net(i, keys[:3], eps) for i in range(3)]
    assert in_parallel([n.start for n in nets]) == [None, None, None]
    yield nets
    for n in nets:
        n.close()


def assert_no_secrets(text: str, keys: Sequence[PrivateKey], *payloads: bytes) -> None:
    """No key (secret or public) and no payload appears in ``text`` in any common encoding."""
    blobs = [bytes(k) for k in keys] + [bytes(k.public_key) for k in keys] + list(payloads)
    for b in blobs:
        for form in (b.hex(), repr(b), b.decode("latin-1"), str(list(b[:8]))[1:-1]):
            assert form not in text


# ---------------------------------------------------------------------------- proxy


Mutation = Callable[[int, bytes], list[bytes]]


class FrameProxy:
    """A man in the middle for connections dialled to ``upstream``.

    Forwards the acceptor's bytes unchanged; parses the dialler's stream (2-byte index, then
    length-prefixed frames), forwards the handshake frame unchanged and passes every later
    frame (header included) through ``mutate(k, frame)`` with k = 0, 1, ... per data frame.
    """

    def __init__(
        self, upstream: tuple[str, int], mutate: Mutation, replay_handshake: bool = False
    ) -> None:
        self.upstream = upstream
        self.mutate = mutate
        # If set: once the genuine handshake is acknowledged, replay it on a new connection
        # and store what the acceptor answered there (b"" = it hung up) in ``replay_answer``.
        self.replay_handshake = replay_handshake
        self.replay_answer: bytes | None = None
        self.replayed = threading.Event()
        self.acked = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = ("127.0.0.1", self.listener.getsockname()[1])
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            self.socks += [down, up]
            threading.Thread(target=self._pipe, args=(up, down), daemon=True).start()
            threading.Thread(target=self._frames, args=(down, up), daemon=True).start()

    @staticmethod
    def _exact(sock: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
                self.acked.set()
        except OSError:
            pass

    def _frames(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            hello = self._exact(src, 2)
            dst.sendall(hello)
            k = -1
            while True:
                header = self._exact(src, 4)
                frame = header + self._exact(src, struct.unpack(">I", header)[0])
                out = [frame] if k < 0 else self.mutate(k, frame)
                k += 1
                for f in out:
                    dst.sendall(f)
                if k == 0 and self.replay_handshake:
                    self._replay(hello + frame)
        except (OSError, EOFError):
            pass

    def _replay(self, handshake: bytes) -> None:
        assert self.acked.wait(FAST)
        with socket.create_connection(self.upstream, timeout=FAST) as s:
            s.sendall(handshake)
            try:
                self.replay_answer = s.recv(100)
            except ConnectionResetError:
                self.replay_answer = b""
        self.replayed.set()

    def close(self) -> None:
        self.listener.close()
        for s in self.socks:
            s.close()


def mesh_via_proxy(
    keys: Sequence[PrivateKey], mutate: Mutation
) -> tuple[list[PeerNetwork], FrameProxy]:
    """Three orgs where org 2's connection to org 0 runs through a FrameProxy."""
    eps = endpoints(3)
    proxy = FrameProxy(eps[0], mutate)
    eps2 = list(eps)
    eps2[0] = proxy.address  # only org 2 dials org 0 through the proxy
    nets = [make_net(0, keys[:3], eps), make_net(1, keys[:3], eps), make_net(2, keys[:3], eps2)]
    assert in_parallel([n.start for n in nets]) == [None, None, None]
    return nets, proxy


def flip_last_byte(k: int, frame: bytes) -> list[bytes]:
    return [frame[:-1] + bytes([frame[-1] ^ 1])]


def replay_first(k: int, frame: bytes) -> list[bytes]:
    return [frame, frame] if k == 0 else [frame]


def drop_first(k: int, frame: bytes) -> list[bytes]:
    return [] if k == 0 else [frame]


def swap_first_two() -> Mutation:
    held: list[bytes] = []

    def mutate(k: int, frame: bytes) -> list[bytes]:
        if k == 0:
            held.append(frame)
            return []
        return [frame, *held] if k == 1 else [frame]

    return mutate


# ---------------------------------------------------------------------------- delivery


def test_exchange_three_orgs_each_get_the_others_payloads(mesh: list[PeerNetwork]) -> None:
    payloads = [f"opening from org {i}".encode() * (i + 1) for i in range(3)]
    results = in_parallel([lambda i=i: mesh[i].exchange(payloads[i]) for i in range(3)])
    assert results == [payloads, payloads, payloads]
    # A second round stays in step.
    second = [os.urandom(100 + i) for i in range(3)]
    assert in_parallel([lambda i=i: mesh[i].exchange(second[i]) for i in range(3)]) == [second] * 3


def test_exchange_each_delivers_per_peer_payloads(mesh: list[PeerNetwork]) -> None:
    def run(i: int) -> list[bytes]:
        return mesh[i].exchange_each([f"{i}->{j}".encode() for j in range(3)])

    results = in_parallel([lambda i=i: run(i) for i in range(3)])
    for i in range(3):
        assert results[i] == [f"{j}->{i}".encode() for j in range(3)]


def test_twenty_megabyte_payloads_round_trip(mesh: list[PeerNetwork]) -> None:
    # Every org sends 20 MB to both others at once: needs concurrent reading to not deadlock.
    big = [os.urandom(20_000_000) for _ in range(3)]
    results = in_parallel([lambda i=i: mesh[i].exchange(big[i]) for i in range(3)])
    assert all(r == big for r in results)


def test_stats_count_bytes_messages_and_rounds(mesh: list[PeerNetwork]) -> None:
    sizes = [10, 200, 3000]
    in_parallel([lambda i=i: mesh[i].exchange(b"x" * sizes[i]) for i in range(3)])
    in_parallel([lambda i=i: mesh[i].exchange_each([b"yy"] * 3) for i in range(3)])
    for i, net in enumerate(mesh):
        s = net.stats
        assert s.rounds == 2
        assert s.messages_sent == s.messages_received == 4
        assert s.bytes_sent == 2 * sizes[i] + 2 * 2
        assert s.bytes_received == sum(sizes) - sizes[i] + 2 * 2
        assert s.wire_bytes_sent == s.bytes_sent + 4 * FRAME_OVERHEAD


def test_send_recv_point_to_point_keeps_order(mesh: list[PeerNetwork]) -> None:
    msgs = [os.urandom(i) for i in range(0, 50)]  # includes the empty message
    for m in msgs:
        mesh[1].send(2, m)
    assert [mesh[2].recv(1) for _ in msgs] == msgs


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.lists(st.binary(max_size=2000), min_size=3, max_size=3), min_size=3, max_size=3))
def test_exchange_each_property(mesh: list[PeerNetwork], table: list[list[bytes]]) -> None:
    # table[i][j] is what org i sends to org j.
    results = in_parallel([lambda i=i: mesh[i].exchange_each(table[i]) for i in range(3)])
    for i in range(3):
        assert results[i] == [table[j][i] for j in range(3)]


def test_context_manager_starts_and_closes(keys: list[PrivateKey]) -> None:
    eps = endpoints(2)
    nets = [make_net(i, keys[:2], eps) for i in range(2)]

    def run(i: int) -> list[bytes]:
        with nets[i] as net:
            assert (net.n, net.index) == (2, i)
            return net.exchange(bytes([i]))

    assert in_parallel([lambda i=i: run(i) for i in range(2)]) == [[b"\0", b"\1"]] * 2
    with pytest.raises(TransportError, match="closed"):
        nets[0].send(1, b"late")


def test_single_org_mesh_exchanges_with_itself_only(keys: list[PrivateKey]) -> None:
    with make_net(0, keys[:1], endpoints(1)) as net:
        assert net.exchange(b"alone") == [b"alone"]


# ---------------------------------------------------------------------------- failures


def test_peer_with_wrong_secret_key_is_rejected(
    keys: list[PrivateKey], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    eps = endpoints(3)
    impostor = PrivateKey.generate()
    # The impostor claims index 2 with its own key (in its own view of the registry).
    fake_keys = [keys[0], keys[1], impostor]
    nets = [make_net(0, keys[:3], eps, timeout=FAIL), make_net(1, keys[:3], eps, timeout=FAIL)]
    nets.append(make_net(2, fake_keys, eps, timeout=FAIL))
    results = in_parallel([n.start for n in nets])
    for i in (0, 1):
        assert isinstance(results[i], TransportError)
        assert "org 2" in str(results[i]) and results[i].peer == 2
    assert isinstance(results[2], TransportError)  # and the impostor knows it was refused
    assert "claiming to be org 2" in caplog.text
    for r in results:
        assert_no_secrets(str(r), [*keys, impostor])
    assert_no_secrets(caplog.text, [*keys, impostor])
    for n in nets:
        n.close()


@pytest.mark.parametrize(
    ("case", "log_reason"),
    [("wrong-key", "failed authentication"), ("wrong-tag", "wrong session tag")],
)
def test_raw_impostor_is_dropped_and_never_delivers(
    keys: list[PrivateKey], caplog: pytest.LogCaptureFixture, case: str, log_reason: str
) -> None:
    """A raw client claiming to be org 1, with a wrong key or (holding org 1's key) a wrong
    session tag: no acknowledgement, connection closed, its data never surfaces, and the
    genuine org 1 still gets in afterwards."""
    caplog.set_level(logging.WARNING)
    eps = endpoints(2)
    net0, net1 = make_net(0, keys[:2], eps), make_net(1, keys[:2], eps)
    pk0 = keys[0].public_key
    evil = ChannelCipher(Box(PrivateKey.generate() if case == "wrong-key" else keys[1], pk0))
    tag = TAG if case == "wrong-key" else b"session-41"
    salt = os.urandom(11)

    def frame(counter: int, plaintext: bytes) -> bytes:
        nonce = struct.pack(">HHB11sQ", 1, 0, 0, salt, counter)
        ct = evil.encrypt(plaintext, nonce)
        return struct.pack(">I", len(ct)) + ct

    def impostor() -> bytes:
        deadline = time.monotonic() + FAST
        while True:
            try:
                s = socket.create_connection(eps[0])
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        with s:
            s.settimeout(FAST)
            hello = struct.pack(">H", 1) + frame(0, tag + struct.pack(">HH", 1, 0))
            s.sendall(hello + frame(1, b"forged opening"))
            try:
                return s.recv(100)  # b"" once org 0 hangs up
            except ConnectionResetError:
                return b""

    start0 = threading.Thread(target=net0.start)
    start0.start()
    assert impostor() == b""  # no acknowledgement, connection closed
    assert in_parallel([net1.start]) == [None]
    start0.join()
    net1.send(0, b"genuine opening")
    assert net0.recv(1) == b"genuine opening"
    assert "claiming to be org 1" in caplog.text and log_reason in caplog.text
    assert_no_secrets(caplog.text, keys)
    net0.close()
    net1.close()


def test_wrong_session_tag_is_rejected(keys: list[PrivateKey]) -> None:
    eps = endpoints(3)
    nets = [make_net(i, keys[:3], eps, timeout=FAIL) for i in range(2)]
    nets.append(make_net(2, keys[:3], eps, timeout=FAIL, tag=b"session-41"))
    results = in_parallel([n.start for n in nets])
    assert all(isinstance(r, TransportError) for r in results)
    assert "org 2" in str(results[0]) and "org 2" in str(results[1])
    for n in nets:
        n.close()


def test_unreachable_peer_named_within_timeout(keys: list[PrivateKey]) -> None:
    eps = endpoints(3)  # org 2 never starts
    nets = [make_net(i, keys[:3], eps, timeout=FAIL) for i in range(2)]
    t0 = time.monotonic()
    results = in_parallel([n.start for n in nets])
    elapsed = time.monotonic() - t0
    assert elapsed < FAIL + 1.5
    for r in results:
        assert isinstance(r, TransportError) and r.peer == 2
        assert "org 2" in str(r) and f"127.0.0.1:{eps[2][1]}" in str(r)
        assert_no_secrets(str(r), keys)


def test_tampered_frame_fails_authentication(keys: list[PrivateKey]) -> None:
    nets, proxy = mesh_via_proxy(keys, flip_last_byte)
    try:
        nets[2].send(0, b"secret share 1234")
        with pytest.raises(TransportError) as info:
            nets[0].recv(2)
        assert str(info.value) == "message from org 2 failed authentication"
        assert info.value.peer == 2
        assert_no_secrets(str(info.value), keys, b"secret share 1234")
        # The channel is dead for good; the other channels are unaffected.
        with pytest.raises(TransportError, match="org 2 failed authentication"):
            nets[0].recv(2)
        nets[1].send(0, b"fine")
        assert nets[0].recv(1) == b"fine"
    finally:
        proxy.close()
        for n in nets:
            n.close()


@pytest.mark.parametrize(
    ("mutate", "delivered"),
    [(replay_first, [b"m0"]), (drop_first, []), (swap_first_two(), [])],
    ids=["replay", "drop", "reorder"],
)
def test_replayed_dropped_reordered_frames_rejected(
    keys: list[PrivateKey], mutate: Mutation, delivered: list[bytes]
) -> None:
    nets, proxy = mesh_via_proxy(keys, mutate)
    try:
        for m in (b"m0", b"m1", b"m2"):
            nets[2].send(0, m)
        assert [nets[0].recv(2) for _ in delivered] == delivered
        with pytest.raises(TransportError, match="org 2 is out of sequence"):
            nets[0].recv(2)
        with pytest.raises(TransportError, match="out of sequence"):
            nets[0].recv(2)  # nothing after the break is ever delivered
    finally:
        proxy.close()
        for n in nets:
            n.close()


def test_replayed_handshake_rejected(
    keys: list[PrivateKey], caplog: pytest.LogCaptureFixture
) -> None:
    """A recorded handshake replayed on a second connection gets no ack and no channel."""
    caplog.set_level(logging.WARNING)
    eps = endpoints(3)
    proxy = FrameProxy(eps[0], lambda k, f: [f], replay_handshake=True)
    eps2 = list(eps)
    eps2[0] = proxy.address
    nets = [make_net(0, keys[:3], eps), make_net(1, keys[:3], eps), make_net(2, keys[:3], eps2)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        # Org 1 starts only after the replay, so org 0 is still accepting connections then.
        early = [pool.submit(nets[0].start), pool.submit(nets[2].start)]
        assert proxy.replayed.wait(FAST)
        assert proxy.replay_answer == b""
        assert [f.result() for f in [pool.submit(nets[1].start), *early]] == [None] * 3
    assert "claiming to be org 2" in caplog.text and "already connected" in caplog.text
    nets[2].send(0, b"once")
    assert nets[0].recv(2) == b"once"
    proxy.close()
    for n in nets:
        n.close()


@pytest.mark.parametrize("attack", ["reflected", "other-connection"])
def test_genuine_frame_from_another_channel_rejected(keys: list[PrivateKey], attack: str) -> None:
    """Frames that authenticate (the pair's box key is the same in both directions) but belong
    elsewhere: org 0's own frame to org 2 fed back, or org 2's frame from another connection
    (e.g. an earlier session) with a different salt."""
    # what an attacker replaying old traffic has
    shared = ChannelCipher(Box(keys[0], keys[2].public_key))

    def substitute(k: int, frame: bytes) -> list[bytes]:
        sender, receiver, kind, salt, counter = struct.unpack(">HHB11sQ", frame[4:28])
        if attack == "reflected":
            sender, receiver = receiver, sender
        else:
            salt = os.urandom(11)
        ct = shared.encrypt(
            b"out of place", struct.pack(">HHB11sQ", sender, receiver, 0, salt, counter)
        )
        return [struct.pack(">I", len(ct)) + ct]

    nets, proxy = mesh_via_proxy(keys, substitute)
    try:
        nets[2].send(0, b"x")
        with pytest.raises(TransportError, match="org 2 carries a nonce of another channel"):
            nets[0].recv(2)
    finally:
        proxy.close()
        for n in nets:
            n.close()


def test_oversized_frame_header_rejected_without_allocating(keys: list[PrivateKey]) -> None:
    def huge(k: int, frame: bytes) -> list[bytes]:
        return [struct.pack(">I", 0xFFFFFFF0)]

    nets, proxy = mesh_via_proxy(keys, huge)
    try:
        nets[2].send(0, b"x")
        with pytest.raises(TransportError, match="frame from org 2 announces"):
            nets[0].recv(2)
    finally:
        proxy.close()
        for n in nets:
            n.close()


def test_frame_size_limit_on_both_ends(keys: list[PrivateKey]) -> None:
    eps = endpoints(2)
    small = make_net(0, keys[:2], eps, max_frame_size=4096)
    big = make_net(1, keys[:2], eps)
    assert in_parallel([small.start, big.start]) == [None, None]
    try:
        with pytest.raises(TransportError, match="org 1 .*frame limit"):
            small.send(1, bytes(5000))
        big.send(0, bytes(5000))
        with pytest.raises(TransportError, match="frame from org 1 announces"):
            small.recv(1)
    finally:
        small.close()
        big.close()


def test_peer_closed_after_last_message(keys: list[PrivateKey]) -> None:
    eps = endpoints(2)
    nets = [make_net(i, keys[:2], eps) for i in range(2)]
    assert in_parallel([n.start for n in nets]) == [None, None]
    nets[1].send(0, b"last words")
    nets[1].close()
    assert nets[0].recv(1) == b"last words"  # still delivered
    with pytest.raises(TransportError, match="org 1 closed the connection"):
        nets[0].recv(1)
    nets[0].close()


def test_recv_times_out_naming_the_peer(keys: list[PrivateKey]) -> None:
    eps = endpoints(2)
    nets = [make_net(i, keys[:2], eps, timeout=0.3) for i in range(2)]
    assert in_parallel([n.start for n in nets]) == [None, None]
    t0 = time.monotonic()
    with pytest.raises(TransportError, match="waiting for a message from org 1"):
        nets[0].recv(1)
    assert 0.25 < time.monotonic() - t0 < 2.0
    for n in nets:
        n.close()


def test_constructor_validation(keys: list[PrivateKey]) -> None:
    pks = [bytes(k.public_key) for k in keys[:2]]
    eps = endpoints(2)
    with pytest.raises(ValueError, match="port"):
        PeerNetwork(0, keys[0], pks, [("127.0.0.1", 0), eps[1]], TAG)
    with pytest.raises(ValueError, match="does not match"):
        PeerNetwork(0, keys[1], pks, eps, TAG)
    with pytest.raises(ValueError, match="endpoints"):
        PeerNetwork(0, keys[0], pks, eps[:1], TAG)
    net = PeerNetwork(0, keys[0], pks, eps, TAG)
    with pytest.raises(TransportError, match="start"):
        net.send(1, b"too early")
    with pytest.raises(ValueError):
        net.send(0, b"to myself")


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for p in ports:
        with socket.create_server(("127.0.0.1", p)):
            pass
