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
NumPy has no 128-bit integers and Python ints cost ~5 M mul/s (see ``DESIGN.md``, section
"Field"). The kernels here are numba ``@njit`` loops; the modular operations are small
``numba.extending.intrinsic`` functions that emit LLVM ``i128`` code, so the 64x64 -> 128-bit
partial products become single hardware multiplies. Reduction uses the Mersenne shape:
``2^127 = 1 (mod p)``, so ``x = h * 2^127 + l`` reduces to ``h + l``.

Kernels are compiled lazily on first use (``cache=False``, ``parallel=False``: callers decide
threading); :func:`warmup` compiles all of them up front.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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

if sys.byteorder != "little":  # pragma: no cover - every supported host is little-endian
    raise ImportError(
        "offchain.hazmat.m127 assumes a little-endian host (limbs double as wire bytes)"
    )

P: int = 2**127 - 1
"""The modulus, the Mersenne prime 2^127 - 1."""

_M64 = 2**64 - 1
_M63 = 2**63 - 1
_U64 = np.uint64

# --------------------------------------------------------------------------------------------
# LLVM intrinsics: every modular operation on one element, written on i128 values.
# --------------------------------------------------------------------------------------------

_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_P128 = ir.Constant(_I128, P)
_PAIR = types.UniTuple(types.uint64, 2)


def _c128(v: int) -> ir.Constant:
    return ir.Constant(_I128, v)


def _join(builder: ir.IRBuilder, lo: ir.Value, hi: ir.Value) -> ir.Value:
    """(lo, hi) i64 limbs -> i128."""
    return builder.or_(builder.zext(lo, _I128), builder.shl(builder.zext(hi, _I128), _c128(64)))


def _split(context, builder: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """i128 -> numba UniTuple(uint64, 2) (lo, hi)."""
    lo = builder.trunc(x, _I64)
    hi = builder.trunc(builder.lshr(x, _c128(64)), _I64)
    return context.make_tuple(builder, _PAIR, [lo, hi])


def _cond_sub_p(builder: ir.IRBuilder, r: ir.Value) -> ir.Value:
    """r in [0, 2p) -> r mod p."""
    ge = builder.icmp_unsigned(">=", r, _P128)
    return builder.select(ge, builder.sub(r, _P128), r)


def _mulmod_ir(builder: ir.IRBuilder, a0, a1, b0, b1) -> ir.Value:
    """(a0 + a1 2^64) * (b0 + b1 2^64) mod p, operands reduced, result reduced, as i128."""

    def wide(x: ir.Value, y: ir.Value) -> ir.Value:  # 64x64 -> 128: one hardware multiply
        return builder.mul(builder.zext(x, _I128), builder.zext(y, _I128))

    t00 = wide(a0, b0)  # < 2^128
    t01 = wide(a0, b1)  # < 2^127 (a1, b1 < 2^63)
    t10 = wide(a1, b0)  # < 2^127
    t11 = wide(a1, b1)  # < 2^126
    mid = builder.add(t01, t10)  # < 2^128, no overflow
    # full product = H * 2^128 + L, with H < 2^126
    lo = builder.add(t00, builder.shl(mid, _c128(64)))
    carry = builder.zext(builder.icmp_unsigned("<", lo, t00), _I128)
    hi = builder.add(builder.add(t11, builder.lshr(mid, _c128(64))), carry)
    # 2^128 = 2 and 2^127 = 1 (mod p):  x = 2H + (L & p) + (L >> 127)  <= 2^128 - 2
    r = builder.add(
        builder.add(builder.shl(hi, _c128(1)), builder.and_(lo, _P128)),
        builder.lshr(lo, _c128(127)),
    )
    r = builder.add(builder.and_(r, _P128), builder.lshr(r, _c128(127)))  # <= 2^127 = p + 1
    return _cond_sub_p(builder, r)


@intrinsic
def _mulmod(typingctx, a0, a1, b0, b1):
    """(lo, hi) of a * b mod p; a, b given as reduced (lo, hi) uint64 limbs."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        return _split(context, builder, _mulmod_ir(builder, *args))

    return sig, codegen


@intrinsic
def _addmod(typingctx, a0, a1, b0, b1):
    """(lo, hi) of a + b mod p."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        s = builder.add(_join(builder, args[0], args[1]), _join(builder, args[2], args[3]))
        return _split(context, builder, _cond_sub_p(builder, s))

    return sig, codegen


@intrinsic
def _submod(typingctx, a0, a1, b0, b1):
    """(lo, hi) of a - b mod p."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a = _join(builder, args[0], args[1])
        b = _join(builder, args[2], args[3])
        d = builder.sub(a, b)  # wraps mod 2^128 when a < b
        lt = builder.icmp_unsigned("<", a, b)
        return _split(context, builder, builder.select(lt, builder.add(d, _P128), d))

    return sig, codegen


@intrinsic
def _negmod(typingctx, a0, a1):
    """(lo, hi) of -a mod p."""
    sig = _PAIR(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a = _join(builder, args[0], args[1])
        zero = builder.icmp_unsigned("==", a, _c128(0))
        return _split(context, builder, builder.select(zero, a, builder.sub(_P128, a)))

    return sig, codegen


# --------------------------------------------------------------------------------------------
# numba kernels (loops over rows). All scalars passed in are np.uint64.
# --------------------------------------------------------------------------------------------


@njit(cache=False)
def _k_mul_vv(out, a, b):
    for i in range(a.shape[0]):
        r0, r1 = _mulmod(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_beaver(zx, zm, cx, cm, bx, bm, ax, am, d, e, al0, al1, add_de):
    # One pass for a whole Beaver output: z = c + d b + e a (+ d e), MACs z_m = ... + alpha d e.
    for i in range(cx.shape[0]):
        de0, de1 = _mulmod(d[i, 0], d[i, 1], e[i, 0], e[i, 1])
        t0, t1 = _mulmod(d[i, 0], d[i, 1], bx[i, 0], bx[i, 1])
        u0, u1 = _mulmod(e[i, 0], e[i, 1], ax[i, 0], ax[i, 1])
        t0, t1 = _addmod(t0, t1, u0, u1)
        t0, t1 = _addmod(t0, t1, cx[i, 0], cx[i, 1])
        if add_de:
            t0, t1 = _addmod(t0, t1, de0, de1)
        zx[i, 0] = t0
        zx[i, 1] = t1
        t0, t1 = _mulmod(d[i, 0], d[i, 1], bm[i, 0], bm[i, 1])
        u0, u1 = _mulmod(e[i, 0], e[i, 1], am[i, 0], am[i, 1])
        t0, t1 = _addmod(t0, t1, u0, u1)
        t0, t1 = _addmod(t0, t1, cm[i, 0], cm[i, 1])
        u0, u1 = _mulmod(de0, de1, al0, al1)
        t0, t1 = _addmod(t0, t1, u0, u1)
        zm[i, 0] = t0
        zm[i, 1] = t1


@njit(cache=False)
def _k_mul_vs(out, a, c0, c1):
    for i in range(a.shape[0]):
        r0, r1 = _mulmod(a[i, 0], a[i, 1], c0, c1)
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_add_vv(out, a, b):
    for i in range(a.shape[0]):
        r0, r1 = _addmod(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_add_vs(out, a, c0, c1):
    for i in range(a.shape[0]):
        r0, r1 = _addmod(a[i, 0], a[i, 1], c0, c1)
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_sub_vv(out, a, b):
    for i in range(a.shape[0]):
        r0, r1 = _submod(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_sub_vs(out, a, c0, c1):
    for i in range(a.shape[0]):
        r0, r1 = _submod(a[i, 0], a[i, 1], c0, c1)
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_neg(out, a):
    for i in range(a.shape[0]):
        r0, r1 = _negmod(a[i, 0], a[i, 1])
        out[i, 0] = r0
        out[i, 1] = r1


@njit(cache=False)
def _k_dot(a, b):
    s0 = np.uint64(0)
    s1 = np.uint64(0)
    for i in range(a.shape[0]):
        r0, r1 = _mulmod(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        s0, s1 = _addmod(s0, s1, r0, r1)
    return s0, s1


@njit(cache=False)
def _k_sum(a):
    s0 = np.uint64(0)
    s1 = np.uint64(0)
    for i in range(a.shape[0]):
        s0, s1 = _addmod(s0, s1, a[i, 0], a[i, 1])
    return s0, s1


@njit(cache=False)
def _k_first_unreduced(a):
    """Index of the first row >= p, or -1."""
    m63 = np.uint64(0x7FFFFFFFFFFFFFFF)
    m64 = np.uint64(0xFFFFFFFFFFFFFFFF)
    for i in range(a.shape[0]):
        hi = a[i, 1]
        if hi > m63 or (hi == m63 and a[i, 0] == m64):
            return i
    return -1


@njit(cache=False)
def _k_from_int64(out, x):
    m63 = np.uint64(0x7FFFFFFFFFFFFFFF)
    one = np.uint64(1)
    zero = np.uint64(0)
    for i in range(x.shape[0]):
        v = x[i]
        u = np.uint64(v)  # two's complement: 2^64 - |v| when v < 0
        if v >= 0:
            out[i, 0] = u
            out[i, 1] = zero
        else:  # p - m = (2^63 - 1) * 2^64 + (2^64 - 1 - m), and 2^64 - 1 - m = u - 1
            out[i, 0] = u - one
            out[i, 1] = m63


@njit(cache=False)
def _k_to_int64(out, a):
    """Fill out; return index of the first element outside [-2^63, 2^63), or -1."""
    m63 = np.uint64(0x7FFFFFFFFFFFFFFF)
    one = np.uint64(1)
    zero = np.uint64(0)
    for i in range(a.shape[0]):
        lo = a[i, 0]
        hi = a[i, 1]
        if hi == zero and lo <= m63:
            out[i] = np.int64(lo)
        elif hi == m63 and lo >= m63:  # p - m with 1 <= m <= 2^63
            out[i] = np.int64(lo + one)  # wraps to -m
        else:
            return i
    return -1


@njit(cache=False)
def _k_bits(out, a, k):
    one = np.uint64(1)
    for i in range(a.shape[0]):
        lo = a[i, 0]
        hi = a[i, 1]
        for j in range(min(k, 64)):
            out[i, j] = np.uint8((lo >> np.uint64(j)) & one)
        for j in range(64, k):
            out[i, j] = np.uint8((hi >> np.uint64(j - 64)) & one)


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
