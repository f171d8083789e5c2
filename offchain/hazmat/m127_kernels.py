"""The numba kernels behind :mod:`offchain.hazmat.m127`: LLVM ``i128`` intrinsics for one
element's modular operations, and the ``@njit`` loops over vectors that use them. Internal:
callers use :mod:`offchain.hazmat.m127`, which checks shapes and dtypes first (these do
not); apart only to keep each module short.
"""

from __future__ import annotations

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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
