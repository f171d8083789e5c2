"""Secure comparison of shared integers with preprocessed edaBits.

``less_than_zero(<z>)`` for ``z`` a signed ``l``-bit integer (``-2^(l-1) <= z < 2^(l-1)``):

1. ``x = z + 2^(l-1)`` lies in ``[0, 2^l)``; ``[z < 0] = 1 - bit_{l-1}(x)``, and with
   ``m = l - 1``, ``bit_m(x) = (x - (x mod 2^m)) / 2^m``.
2. Take an edaBit ``<r> = sum_i 2^i <r_i> + 2^m <r_high>`` of ``mask_bits`` bits whose low
   ``m`` bits ``<r_i>`` are shared. Open ``c = x + r`` (one round). Because ``r`` has
   ``kappa >= 40`` more bits than ``x``, ``c`` reveals nothing about ``x`` beyond statistical
   distance ``2^-kappa``; because ``x + r < p`` it does not wrap.
3. ``x mod 2^m = (c mod 2^m) - r_low + 2^m u`` with ``u = [c mod 2^m < r_low]``, a comparison
   of a public integer with shared bits, computed as the carry out of ``r_low + (2^m - 1 - c)``
   by a parallel-prefix (generate, propagate) tree: ``log2 m`` rounds, fewer than ``2 m``
   multiplications per element, all elements together (Catrina–de Hoogh, SCN 2010).

Cost of one call on N elements with ``m`` = 32: ``1 + 5`` rounds, ``57 N`` triples (see
:func:`triples_for`), ``N`` edaBits; the openings join the pending MAC check like every
other opening.
"""

from __future__ import annotations

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import Shared, weighted_sum


def _interleave(parts: list[Shared], n: int, widths: list[int]) -> Shared:
    """Concatenate bit-column blocks per element (inverse of :meth:`Shared.columns`)."""

    def join(vs):  # noqa: ANN001, ANN202
        tail = vs[0].shape[1:]
        grids = [v.reshape((n, w, *tail)) for v, w in zip(vs, widths, strict=True)]
        return np.concatenate(grids, axis=1).reshape((-1, *tail))

    return Shared(join([p.x for p in parts]), join([p.m for p in parts]))


def open_masked(engine: Engine, x: Shared, m: int, label: str) -> tuple[np.ndarray, Shared, Shared]:
    """Open ``c = x + r`` for fresh edaBits ``r`` of ``m`` shared low bits (one round).

    Returns the public low ``m`` bits of ``c`` (``uint8``, ``(n, m)``), ``<r>`` and its shared
    low bits. ``x`` must be non-negative and at most ``m + 1`` bits, so that ``c`` hides it
    (statistical distance ``2^-kappa``) and does not wrap mod p.
    """
    f = engine.field
    r, r_bits = engine.take_edabits(len(x), m)  # keyed by m: masks as wide as the field needs
    (c,) = engine.open(engine.arith.add(x, r), label=label)
    return f.low_bits(c, m), r, r_bits


def xnor_public(engine: Engine, r_bits: Shared, c_bits: np.ndarray) -> Shared:
    """``1 - (r_i XOR c_i)`` for shared ``r_i`` and public ``c_i``: local,
    ``(2 c_i - 1) r_i + (1 - c_i)``."""
    f, ar = engine.field, engine.arith
    two_c_minus_1 = f.add_scalar(f.mul_scalar(f.from_bits(c_bits), 2), -1)
    return ar.add_public(ar.mul_public(r_bits, two_c_minus_1), f.from_bits(1 - c_bits))


def triples_for(m: int) -> int:
    """Triples one ``[c < r]`` on ``m`` bits consumes: a G product per pair at each level,
    a P product per pair except the lowest, whose P is never needed."""
    total, width = 0, m
    while width > 1:
        pairs = width // 2
        total += 2 * pairs - 1
        width = pairs + width % 2
    return total


def public_less_than_bits(
    engine: Engine, c_bits: np.ndarray, r_bits: Shared, n: int, m: int
) -> Shared:
    """``[c < r]`` for public ``c`` (``uint8`` bits, shape ``(n, m)``) and shared ``r``
    (``n * m`` bit shares, element-major). ``ceil(log2 m)`` rounds, :func:`triples_for` triples.

    ``r > c`` iff ``r + (2^m - 1 - c)`` carries out of ``m`` bits. With public ``c`` the
    generate bits ``g_i = r_i (1 - c_i)`` and propagate bits ``p_i = r_i XOR (1 - c_i)`` are
    linear; groups combine as ``(G, P) = (G_hi + P_hi G_lo, P_hi P_lo)``. The lowest group's
    ``P`` is never used, so it is not computed (its column holds a placeholder).
    """
    f, ar = engine.field, engine.arith
    g = ar.mul_public(r_bits, f.from_bits(1 - c_bits))
    p = xnor_public(engine, r_bits, c_bits)  # r_i XOR (1 - c_i)
    width = m
    while width > 1:
        pairs = width // 2
        g_lo = g.columns(n, width, slice(0, 2 * pairs, 2))
        g_hi = g.columns(n, width, slice(1, 2 * pairs, 2))
        p_hi = p.columns(n, width, slice(1, 2 * pairs, 2))
        p_lo_upper = p.columns(n, width, slice(2, 2 * pairs, 2))
        p_hi_upper = p.columns(n, width, slice(3, 2 * pairs, 2))
        prods = engine.mul(Shared.concat([p_hi, p_hi_upper]), Shared.concat([g_lo, p_lo_upper]))
        g_new = ar.add(g_hi, prods[: n * pairs])
        # A placeholder P for the lowest group (never read), then the real products.
        p_new = g_new
        if pairs > 1:
            p_new = _interleave(
                [g_new.columns(n, pairs, slice(0, 1)), prods[n * pairs :]], n, [1, pairs - 1]
            )
        if width % 2:  # the top group has no partner: it moves up unchanged
            top = slice(width - 1, width)
            g_new = _interleave([g_new, g.columns(n, width, top)], n, [pairs, 1])
            p_new = _interleave([p_new, p.columns(n, width, top)], n, [pairs, 1])
        g, p = g_new, p_new
        width = pairs + width % 2
    return g


def less_than_zero(engine: Engine, z: Shared, bits: int) -> Shared:
    """``[z < 0]`` as shared 0/1 for signed ``bits``-bit ``z``. See the module docstring."""
    f, ar = engine.field, engine.arith
    m = bits - 1
    n = len(z)
    x = ar.add_const(z, 1 << m)
    c_low_bits, _, r_bits = open_masked(engine, x, m, "ltz")
    c_low = from_low_bits(f, c_low_bits, m)
    r_low = weighted_sum(f, r_bits, n, m)
    u = public_less_than_bits(engine, c_low_bits, r_bits, n, m)
    # x mod 2^m = c_low - r_low + 2^m u ;  bit_m(x) = (x - x mod 2^m) / 2^m
    x_mod = ar.add(ar.add_public(ar.scale(r_low, -1), c_low), ar.scale(u, 1 << m))
    top = ar.scale(ar.sub(x, x_mod), pow(1 << m, -1, f.p))
    return ar.add_const(ar.scale(top, -1), 1)


def from_low_bits(f: Field, bits: np.ndarray, m: int) -> Vec:
    """Public field elements from their low ``m`` bits (``uint8``, shape ``(n, m)``)."""
    out = f.zeros(bits.shape[0])
    for i in range(m):
        out = f.add(out, f.mul_scalar(f.from_bits(bits[:, i].copy()), 1 << i))
    return out


def _product_of_bits(engine: Engine, bits: Shared, n: int, m: int) -> Shared:
    """``prod_i <b_i>`` per element of an element-major ``n x m`` matrix of shared bits:
    ``m - 1`` triples, ``ceil(log2 m)`` rounds (a balanced tree, all elements together)."""
    width = m
    while width > 1:
        pairs = width // 2
        lo = bits.columns(n, width, slice(0, 2 * pairs, 2))
        hi = bits.columns(n, width, slice(1, 2 * pairs, 2))
        prod = engine.mul(lo, hi)
        if width % 2:
            prod = _interleave(
                [prod, bits.columns(n, width, slice(width - 1, width))], n, [pairs, 1]
            )
        bits, width = prod, pairs + width % 2
    return bits


def equal_zero(engine: Engine, z: Shared, bits: int) -> Shared:
    """``[z == 0]`` as shared 0/1 for signed ``bits``-bit ``z`` (``|z| < 2^(bits-1)``).

    With ``m = bits - 1`` and ``x = z + 2^m`` in ``(0, 2^bits)``, ``z = 0`` iff
    ``x mod 2^m = 0`` iff the low ``m`` bits of ``c = x + r`` equal those of the edaBit ``r``:
    the product of ``1 - (c_i XOR r_i)``, each linear in ``r_i`` for public ``c_i``.
    ``1 + ceil(log2 m)`` rounds (6 for 32-bit inputs), ``m - 1`` triples, one edaBit.
    """
    m = bits - 1
    c_bits, _, r_bits = open_masked(engine, engine.arith.add_const(z, 1 << m), m, "eqz")
    return _product_of_bits(engine, xnor_public(engine, r_bits, c_bits), len(z), m)


def equal(engine: Engine, a: Shared, b: Shared, bits: int) -> Shared:
    """``[a == b]`` for signed ``bits``-bit ``a``, ``b``: 6 rounds, 31 triples for 32 bits."""
    return equal_zero(engine, engine.arith.sub(a, b), bits + 1)


def less_than(engine: Engine, a: Shared, b: Shared, bits: int) -> Shared:
    """``[a < b]`` for signed ``bits``-bit ``a``, ``b``: ``6`` rounds for 32 bits."""
    return less_than_zero(engine, engine.arith.sub(a, b), bits + 1)
