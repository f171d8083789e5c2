"""Vectorised arithmetic modulo the Mersenne prime p = 2^127 - 1.

Representation
--------------
A vector of N field elements is a C-contiguous NumPy array of dtype ``uint64`` and shape
``(N, 2)``; row ``k`` is ``(lo, hi)``, the two 64-bit limbs of element ``k`` (value
``lo + hi * 2^64``). On a little-endian host this is exactly the 16-byte little-endian
encoding of each element, so ``arr.tobytes()`` / ``arr.view(np.uint8)`` *is* the wire format
and decoding is one copy plus a range check. Elements are always fully reduced:
``0 <= x < p``, i.e. ``hi < 2^63`` and ``x != p``. Functions assume reduced inputs (they do
not re-check, that would cost as much as the arithmetic); the only entry points that see
untrusted data, :func:`from_bytes` and :func:`from_ints`, check or reduce.

Why
---
NumPy has no 128-bit integers and Python ints cost ~5 M mul/s (see ``docs/design.md``, section
"Off-chain engine"). The kernels here are numba ``@njit`` loops; the modular operations are small
``numba.extending.intrinsic`` functions that emit LLVM ``i128`` code, so the 64x64 -> 128-bit
partial products become single hardware multiplies. Reduction uses the Mersenne shape:
``2^127 = 1 (mod p)``, so ``x = h * 2^127 + l`` reduces to ``h + l``.

Kernels are compiled lazily on first use (``cache=False``, ``parallel=False``: callers decide
threading); :func:`warmup` compiles all of them up front.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from offchain.hazmat.m127_kernels import (
    _M63,
    _M64,
    _U64,
    P,
    _k_add_vs,
    _k_add_vv,
    _k_beaver,
    _k_bits,
    _k_dot,
    _k_first_unreduced,
    _k_from_int64,
    _k_mul_vs,
    _k_mul_vv,
    _k_neg,
    _k_sub_vs,
    _k_sub_vv,
    _k_sum,
    _k_to_int64,
)

__all__ = [
    "P",
    "add",
    "add_into",
    "add_scalar",
    "bit_decompose_public",
    "dot",
    "from_bytes",
    "from_int64",
    "from_ints",
    "mul",
    "mul_into",
    "mul_scalar",
    "neg",
    "random",
    "random_bits",
    "sub",
    "sub_into",
    "sum",
    "to_bytes",
    "to_int64",
    "to_ints",
    "warmup",
    "zeros",
]

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _vec(a: np.ndarray, name: str = "a") -> np.ndarray:
    """Check a field vector's dtype and shape; return a C-contiguous view (copy if needed)."""
    if not isinstance(a, np.ndarray) or a.dtype != np.uint64 or a.ndim != 2 or a.shape[1] != 2:
        got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"{name} must be a uint64 array of shape (N, 2), got {got}")
    return np.ascontiguousarray(a)


def _scalar_limbs(b: np.ndarray) -> tuple[np.uint64, np.uint64] | None:
    """(lo, hi) if b is one element of shape (2,) or (1, 2), else None."""
    if isinstance(b, np.ndarray) and b.dtype == np.uint64 and b.shape in ((2,), (1, 2)):
        flat = b.reshape(2)
        return _U64(flat[0]), _U64(flat[1])
    return None


def _int_limbs(c: int) -> tuple[np.uint64, np.uint64]:
    c %= P
    return _U64(c & _M64), _U64(c >> 64)


def _limbs_to_int(lo: int, hi: int) -> int:
    return int(lo) | (int(hi) << 64)


def _binary(out: np.ndarray, a: np.ndarray, b: np.ndarray, kvv, kvs) -> np.ndarray:
    sc = _scalar_limbs(b)
    if sc is not None:
        kvs(out, a, sc[0], sc[1])
        return out
    b = _vec(b, "b")
    if b.shape != a.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    kvv(out, a, b)
    return out


def _check_out(out: np.ndarray, a: np.ndarray) -> None:
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.uint64
        or out.shape != a.shape
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        raise ValueError("out must be a writable C-contiguous uint64 array shaped like a")


# --------------------------------------------------------------------------------------------
# construction and conversion
# --------------------------------------------------------------------------------------------


def zeros(n: int) -> np.ndarray:
    """n zero elements."""
    return np.zeros((n, 2), dtype=np.uint64)


def from_ints(values: Iterable[int]) -> np.ndarray:
    """Field vector from Python ints, each reduced mod p first (Python ``%``: -1 -> p - 1)."""
    data = b"".join((int(v) % P).to_bytes(16, "little") for v in values)
    return np.frombuffer(data, dtype=np.uint64).reshape(-1, 2).copy()


def to_ints(a: np.ndarray) -> list[int]:
    """Python ints of a field vector."""
    a = _vec(a)
    lo = a[:, 0].tolist()
    hi = a[:, 1].tolist()
    return [x | (y << 64) for x, y in zip(lo, hi, strict=True)]


def from_bytes(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode 16 little-endian bytes per element (the wire format) into a new array.

    Raises ValueError if the length is not a multiple of 16 or any element is >= p: received
    data is never silently reduced.
    """
    mv = memoryview(data).cast("B")
    if mv.nbytes % 16:
        raise ValueError(f"field data length {mv.nbytes} is not a multiple of 16")
    a = np.frombuffer(mv, dtype=np.uint64).reshape(-1, 2).copy()
    bad = _k_first_unreduced(a)
    if bad >= 0:
        raise ValueError(f"element {bad} is not reduced modulo 2^127 - 1")
    return a


def to_bytes(a: np.ndarray) -> bytes:
    """Wire format: 16 little-endian bytes per element (the array's own memory)."""
    return _vec(a).tobytes()


def from_int64(x: np.ndarray) -> np.ndarray:
    """Embed an int64 array: v >= 0 -> v, v < 0 -> p - |v|."""
    x = np.ascontiguousarray(x, dtype=np.int64).reshape(-1)
    out = np.empty((x.shape[0], 2), dtype=np.uint64)
    _k_from_int64(out, x)
    return out


def to_int64(a: np.ndarray) -> np.ndarray:
    """Inverse of :func:`from_int64` (signed representative in [-2^63, 2^63)).

    Elements in [0, 2^63) map to themselves and elements in [p - 2^63, p) to x - p. Raises
    ValueError if any element is outside both ranges.
    """
    a = _vec(a)
    out = np.empty(a.shape[0], dtype=np.int64)
    bad = _k_to_int64(out, a)
    if bad >= 0:
        raise ValueError(f"element {bad} has no signed 64-bit representative")
    return out


def random(n: int) -> np.ndarray:
    """n elements uniform in [0, p), from ``os.urandom`` (the OS CSPRNG).

    Exact rejection sampling: 127 random bits give x uniform in [0, 2^127); the single value
    x = p (probability 2^-127 per element) is redrawn, so the output is exactly uniform.
    """
    a = np.frombuffer(os.urandom(16 * n), dtype=np.uint64).reshape(n, 2).copy()
    a[:, 1] &= _U64(_M63)
    while True:
        bad = _k_first_unreduced(a)
        if bad < 0:
            return a
        a[bad] = np.frombuffer(os.urandom(16), dtype=np.uint64)
        a[bad, 1] &= _U64(_M63)


def random_bits(n: int) -> np.ndarray:
    """n elements uniform in {0, 1}, from ``os.urandom``."""
    bits = np.unpackbits(np.frombuffer(os.urandom((n + 7) // 8), dtype=np.uint8))[:n]
    out = np.zeros((n, 2), dtype=np.uint64)
    out[:, 0] = bits
    return out


def bit_decompose_public(a: np.ndarray, k: int) -> np.ndarray:
    """Low k bits (k <= 127) of each element, as uint8 of shape (N, k), least significant first."""
    if not 0 <= k <= 127:
        raise ValueError("k must be in [0, 127]")
    a = _vec(a)
    out = np.empty((a.shape[0], k), dtype=np.uint8)
    _k_bits(out, a, k)
    return out


# --------------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------------


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b mod p elementwise; b may be one element of shape (2,) or (1, 2) (broadcast)."""
    a = _vec(a)
    return _binary(np.empty_like(a), a, b, _k_add_vv, _k_add_vs)


def sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b mod p elementwise; b may be one element of shape (2,) or (1, 2) (broadcast)."""
    a = _vec(a)
    return _binary(np.empty_like(a), a, b, _k_sub_vv, _k_sub_vs)


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b mod p elementwise; b may be one element of shape (2,) or (1, 2) (broadcast)."""
    a = _vec(a)
    return _binary(np.empty_like(a), a, b, _k_mul_vv, _k_mul_vs)


def neg(a: np.ndarray) -> np.ndarray:
    """-a mod p elementwise."""
    a = _vec(a)
    out = np.empty_like(a)
    _k_neg(out, a)
    return out


def add_scalar(a: np.ndarray, c: int) -> np.ndarray:
    """a + c mod p for a Python int c (reduced mod p first)."""
    a = _vec(a)
    out = np.empty_like(a)
    _k_add_vs(out, a, *_int_limbs(c))
    return out


def mul_scalar(a: np.ndarray, c: int) -> np.ndarray:
    """a * c mod p for a Python int c (reduced mod p first)."""
    a = _vec(a)
    out = np.empty_like(a)
    _k_mul_vs(out, a, *_int_limbs(c))
    return out


def add_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """out <- a + b mod p (out may be a or b); b may be a broadcast element. Returns out."""
    a = _vec(a)
    _check_out(out, a)
    return _binary(out, a, b, _k_add_vv, _k_add_vs)


def sub_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """out <- a - b mod p (out may be a or b); b may be a broadcast element. Returns out."""
    a = _vec(a)
    _check_out(out, a)
    return _binary(out, a, b, _k_sub_vv, _k_sub_vs)


def mul_into(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """out <- a * b mod p (out may be a or b); b may be a broadcast element. Returns out."""
    a = _vec(a)
    _check_out(out, a)
    return _binary(out, a, b, _k_mul_vv, _k_mul_vs)


def dot(a: np.ndarray, b: np.ndarray) -> int:
    """sum_k a[k] * b[k] mod p (e.g. a MAC check's sum rho_j * m_j)."""
    a = _vec(a)
    b = _vec(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    return _limbs_to_int(*_k_dot(a, b))


def sum(a: np.ndarray) -> int:  # the API's name; shadows the builtin inside this module
    """sum_k a[k] mod p."""
    return _limbs_to_int(*_k_sum(_vec(a)))


def beaver(
    c: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    a: tuple[np.ndarray, np.ndarray],
    d: np.ndarray,
    e: np.ndarray,
    alpha: int,
    add_de: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Beaver's output shares in one pass: ``(c + d b + e a [+ d e], c_m + d b_m + e a_m +
    alpha d e)`` from (value, MAC) pairs ``c``, ``b``, ``a`` and public ``d``, ``e``."""
    arrays = [_vec(v) for v in (*c, *b, *a, d, e)]
    n = arrays[0].shape[0]
    if any(v.shape[0] != n for v in arrays):
        raise ValueError("beaver: operands differ in length")
    zx, zm = np.empty((n, 2), np.uint64), np.empty((n, 2), np.uint64)
    al0, al1 = _int_limbs(alpha)
    _k_beaver(zx, zm, *arrays, al0, al1, add_de)
    return zx, zm


def warmup() -> None:
    """Compile every kernel now (otherwise each compiles on its first call)."""
    a = from_ints([1, 2])
    x = np.array([1, -1], dtype=np.int64)
    c0, c1 = _U64(3), _U64(0)
    o = zeros(2)
    for kvv, kvs in ((_k_mul_vv, _k_mul_vs), (_k_add_vv, _k_add_vs), (_k_sub_vv, _k_sub_vs)):
        kvv(o, a, a)
        kvs(o, a, c0, c1)
    _k_neg(o, a)
    _k_beaver(o, zeros(2), a, a, a, a, a, a, a, a, c0, c1, True)
    _k_dot(a, a)
    _k_sum(a)
    _k_first_unreduced(a)
    _k_from_int64(o, x)
    _k_to_int64(np.empty(2, dtype=np.int64), a)
    _k_bits(np.empty((2, 127), dtype=np.uint8), a, 127)
