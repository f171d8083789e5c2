"""offchain.hazmat.m127 (vectorised arithmetic mod 2^127 - 1) checked against Python ints."""

from __future__ import annotations

import builtins
import random as pyrandom

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.hazmat import m127
from offchain.hazmat.m127 import P

EDGES = [0, 1, 2, P - 1, P - 2, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**126, 2**126 + 1]
EDGES += [2**127 - 2**64, P - 2**64, (P - 1) // 2, (P + 1) // 2]

elements = st.integers(min_value=0, max_value=P - 1)
any_ints = st.integers(min_value=-(2**300), max_value=2**300)


def pairs(seed: int = 1, n: int = 2000) -> tuple[list[int], list[int]]:
    """Random vectors plus every ordered pair of edge values (products that overflow included)."""
    rng = pyrandom.Random(seed)
    xs = [rng.randrange(P) for _ in range(n)] + [rng.getrandbits(64) for _ in range(50)]
    ys = [rng.randrange(P) for _ in range(n)] + [rng.randrange(P) for _ in range(50)]
    for x in EDGES:
        for y in EDGES:
            xs.append(x)
            ys.append(y)
    return xs, ys


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    m127.warmup()


# ---------------------------------------------------------------- representation / conversion


def test_layout_is_wire_format() -> None:
    xs, _ = pairs()
    a = m127.from_ints(xs)
    assert a.dtype == np.uint64 and a.shape == (len(xs), 2) and a.flags.c_contiguous
    wire = b"".join(x.to_bytes(16, "little") for x in xs)
    assert m127.to_bytes(a) == wire
    assert a.tobytes() == wire
    assert bytes(a.view(np.uint8)) == wire
    assert list(a[:, 0]) == [x & (2**64 - 1) for x in xs]
    assert list(a[:, 1]) == [x >> 64 for x in xs]


def test_roundtrip_ints_and_bytes() -> None:
    xs, _ = pairs()
    a = m127.from_ints(xs)
    assert m127.to_ints(a) == xs
    b = m127.from_bytes(m127.to_bytes(a))
    assert b.flags.writeable and b.flags.c_contiguous
    assert np.array_equal(a, b)
    assert np.array_equal(m127.from_bytes(memoryview(m127.to_bytes(a))), a)
    assert np.array_equal(m127.from_bytes(bytearray(m127.to_bytes(a))), a)


def test_from_ints_reduces_with_python_semantics() -> None:
    vals = [-1, -P, -P - 1, P, P + 1, 2**127, 2**128 - 1, 2**200 + 5, -(2**64)]
    assert m127.to_ints(m127.from_ints(vals)) == [v % P for v in vals]
    assert m127.to_ints(m127.from_ints(iter(range(-3, 3)))) == [v % P for v in range(-3, 3)]


def test_empty_and_zeros() -> None:
    e = m127.from_ints([])
    assert e.shape == (0, 2)
    assert m127.to_ints(e) == [] and m127.to_bytes(e) == b""
    assert m127.from_bytes(b"").shape == (0, 2)
    assert m127.to_ints(m127.mul(e, e)) == [] and m127.dot(e, e) == 0 and m127.sum(e) == 0
    assert m127.to_ints(m127.zeros(3)) == [0, 0, 0]


@pytest.mark.parametrize("bad", [P, P + 1, 2**127, 2**128 - 1, 2**127 + 2**64])
def test_from_bytes_rejects_unreduced(bad: int) -> None:
    good = b"".join(x.to_bytes(16, "little") for x in (0, P - 1, 5))
    with pytest.raises(ValueError, match="not reduced"):
        m127.from_bytes(bad.to_bytes(16, "little"))
    with pytest.raises(ValueError, match="element 3"):
        m127.from_bytes(good + bad.to_bytes(16, "little") + good)


@pytest.mark.parametrize("length", [1, 15, 17, 31, 33])
def test_from_bytes_rejects_ragged_length(length: int) -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        m127.from_bytes(bytes(length))


def test_wrong_type_rejected() -> None:
    with pytest.raises(TypeError):
        m127.add(np.zeros((3, 2), dtype=np.int64), m127.zeros(3))
    with pytest.raises(TypeError):
        m127.mul(m127.zeros(3), np.zeros((3, 3), dtype=np.uint64))
    with pytest.raises(ValueError, match="shape mismatch"):
        m127.mul(m127.zeros(3), m127.zeros(4))
    with pytest.raises(ValueError, match="shape mismatch"):
        m127.dot(m127.zeros(3), m127.zeros(4))


# ---------------------------------------------------------------------------------- arithmetic


def test_elementwise_ops_match_python_ints() -> None:
    xs, ys = pairs()
    a, b = m127.from_ints(xs), m127.from_ints(ys)
    a0, b0 = a.copy(), b.copy()
    assert m127.to_ints(m127.add(a, b)) == [(x + y) % P for x, y in zip(xs, ys, strict=True)]
    assert m127.to_ints(m127.sub(a, b)) == [(x - y) % P for x, y in zip(xs, ys, strict=True)]
    assert m127.to_ints(m127.sub(b, a)) == [(y - x) % P for x, y in zip(xs, ys, strict=True)]
    assert m127.to_ints(m127.mul(a, b)) == [x * y % P for x, y in zip(xs, ys, strict=True)]
    assert m127.to_ints(m127.neg(a)) == [-x % P for x in xs]
    assert m127.dot(a, b) == builtins.sum(x * y for x, y in zip(xs, ys, strict=True)) % P
    assert m127.sum(a) == builtins.sum(xs) % P
    # inputs untouched
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


def test_worst_case_accumulations() -> None:
    n = 5000
    a = m127.from_ints([P - 1] * n)
    assert m127.sum(a) == (P - 1) * n % P
    assert m127.dot(a, a) == (P - 1) ** 2 * n % P
    h = m127.from_ints([2**127 - 2**64] * n)
    assert m127.dot(h, h) == (2**127 - 2**64) ** 2 * n % P


@pytest.mark.parametrize("shape", [(2,), (1, 2)])
def test_broadcast_element(shape: tuple[int, ...]) -> None:
    xs, _ = pairs(seed=2, n=300)
    a = m127.from_ints(xs)
    for c in EDGES + [123456789**3 % P]:
        e = m127.from_ints([c]).reshape(shape)
        assert m127.to_ints(m127.mul(a, e)) == [x * c % P for x in xs]
        assert m127.to_ints(m127.add(a, e)) == [(x + c) % P for x in xs]
        assert m127.to_ints(m127.sub(a, e)) == [(x - c) % P for x in xs]
        out = m127.zeros(len(xs))
        m127.mul_into(out, a, e)
        assert m127.to_ints(out) == [x * c % P for x in xs]


def test_scalar_ints() -> None:
    xs, _ = pairs(seed=3, n=300)
    a = m127.from_ints(xs)
    for c in EDGES + [-1, -5, P, P + 7, 2**200, -(2**130)]:
        assert m127.to_ints(m127.mul_scalar(a, c)) == [x * c % P for x in xs]
        assert m127.to_ints(m127.add_scalar(a, c)) == [(x + c) % P for x in xs]


def test_into_variants_and_aliasing() -> None:
    xs, ys = pairs(seed=4, n=500)
    a, b = m127.from_ints(xs), m127.from_ints(ys)
    prod = [x * y % P for x, y in zip(xs, ys, strict=True)]
    total = [(x + y) % P for x, y in zip(xs, ys, strict=True)]
    diff = [(x - y) % P for x, y in zip(xs, ys, strict=True)]

    out = m127.zeros(len(xs))
    assert m127.mul_into(out, a, b) is out and m127.to_ints(out) == prod
    assert m127.add_into(out, a, b) is out and m127.to_ints(out) == total
    assert m127.sub_into(out, a, b) is out and m127.to_ints(out) == diff

    for op, want in ((m127.mul_into, prod), (m127.add_into, total), (m127.sub_into, diff)):
        a1, b1 = a.copy(), b.copy()
        op(a1, a1, b1)  # out is a
        assert m127.to_ints(a1) == want and np.array_equal(b1, b)
        a1, b1 = a.copy(), b.copy()
        op(b1, a1, b1)  # out is b
        assert m127.to_ints(b1) == want and np.array_equal(a1, a)

    sq = a.copy()
    m127.mul_into(sq, sq, sq)  # all three alias
    assert m127.to_ints(sq) == [x * x % P for x in xs]
    with pytest.raises(ValueError):
        m127.mul_into(m127.zeros(3), a, b)


# ------------------------------------------------------------------------------ hypothesis


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(elements, elements), max_size=40))
def test_property_ops(pairs_: list[tuple[int, int]]) -> None:
    xs = [x for x, _ in pairs_]
    ys = [y for _, y in pairs_]
    a, b = m127.from_ints(xs), m127.from_ints(ys)
    assert m127.to_ints(m127.mul(a, b)) == [x * y % P for x, y in pairs_]
    assert m127.to_ints(m127.add(a, b)) == [(x + y) % P for x, y in pairs_]
    assert m127.to_ints(m127.sub(a, b)) == [(x - y) % P for x, y in pairs_]
    assert m127.to_ints(m127.neg(a)) == [-x % P for x in xs]
    assert m127.dot(a, b) == builtins.sum(x * y for x, y in pairs_) % P
    assert m127.sum(b) == builtins.sum(ys) % P
    assert np.array_equal(m127.from_bytes(m127.to_bytes(a)), a)


@settings(max_examples=200, deadline=None)
@given(st.lists(any_ints, max_size=20), any_ints)
def test_property_from_ints_and_scalars(vals: list[int], c: int) -> None:
    a = m127.from_ints(vals)
    assert m127.to_ints(a) == [v % P for v in vals]
    assert m127.to_ints(m127.mul_scalar(a, c)) == [v * c % P for v in vals]
    assert m127.to_ints(m127.add_scalar(a, c)) == [(v + c) % P for v in vals]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=30))
def test_property_int64_roundtrip(vals: list[int]) -> None:
    x = np.array(vals, dtype=np.int64)
    a = m127.from_int64(x)
    assert m127.to_ints(a) == [v % P for v in vals]
    assert np.array_equal(m127.to_int64(a), x)


@settings(max_examples=100, deadline=None)
@given(st.lists(elements, max_size=20), st.integers(min_value=0, max_value=127))
def test_property_bits(vals: list[int], k: int) -> None:
    bits = m127.bit_decompose_public(m127.from_ints(vals), k)
    assert bits.dtype == np.uint8 and bits.shape == (len(vals), k)
    assert bits.tolist() == [[(v >> j) & 1 for j in range(k)] for v in vals]


# --------------------------------------------------------------------------- int64 and bits


def test_int64_edges() -> None:
    vals = [0, 1, -1, 2, -2, 2**63 - 1, -(2**63), -(2**63) + 1, 2**62, -(2**62)]
    x = np.array(vals, dtype=np.int64)
    a = m127.from_int64(x)
    assert m127.to_ints(a) == [v % P for v in vals]
    assert np.array_equal(m127.to_int64(a), x)
    assert m127.to_int64(a).dtype == np.int64
    for bad in (2**63, 2**64, P - 2**63 - 1, 2**126):
        with pytest.raises(ValueError, match="element 1"):
            m127.to_int64(m127.from_ints([0, bad]))
    # the edges of the accepted range
    assert m127.to_int64(m127.from_ints([2**63 - 1, P - 2**63])).tolist() == [2**63 - 1, -(2**63)]


def test_bit_decompose_edges() -> None:
    vals = EDGES
    for k in (0, 1, 63, 64, 65, 127):
        bits = m127.bit_decompose_public(m127.from_ints(vals), k)
        assert bits.tolist() == [[(v >> j) & 1 for j in range(k)] for v in vals]
    with pytest.raises(ValueError):
        m127.bit_decompose_public(m127.zeros(1), 128)


# ------------------------------------------------------------------------------- randomness


def test_random() -> None:
    n = 20000
    a = m127.random(n)
    assert a.shape == (n, 2) and a.dtype == np.uint64
    vals = m127.to_ints(a)
    assert all(0 <= v < P for v in vals)
    assert len(set(vals)) == n  # collisions have probability ~ n^2 / 2^128
    assert not np.array_equal(a, m127.random(n))
    # top bit (bit 126) and bit 0 each set about half the time
    assert 0.45 < np.mean([v >> 126 for v in vals]) < 0.55
    assert 0.45 < np.mean([v & 1 for v in vals]) < 0.55
    m127.from_bytes(m127.to_bytes(a))  # passes the reduction check
    assert m127.random(0).shape == (0, 2)


def test_random_bits() -> None:
    for n in (1, 7, 8, 9, 1000):
        a = m127.random_bits(n)
        assert a.shape == (n, 2) and a.dtype == np.uint64
        assert set(m127.to_ints(a)) <= {0, 1}
    a = m127.random_bits(10000)
    vals = m127.to_ints(a)
    assert set(vals) == {0, 1}
    assert 4500 < builtins.sum(vals) < 5500


def test_random_redraws_p(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rejection step: 127 one-bits (= p) must be redrawn, not returned or reduced."""
    real = m127.os.urandom
    calls: list[int] = []

    def fake(k: int) -> bytes:
        calls.append(k)
        return b"\xff" * k if len(calls) == 1 else real(k)

    monkeypatch.setattr(m127.os, "urandom", fake)
    a = m127.random(3)
    assert all(0 <= v < P for v in m127.to_ints(a))
    assert calls == [48, 16, 16, 16]
