"""Bit decomposition of shared integers with preprocessed edaBits.

``bit_decompose(<x>, k)`` for ``0 <= x < 2^k`` returns shared bits ``<x_0>, ..., <x_{k-1}>``:

1. Take an edaBit ``<r>`` (``mask_bits`` bits, low ``k`` bits shared) and open ``c = x + r``
   (one round; ``r`` has at least 40 more bits than ``x``, so ``c`` hides ``x``).
2. ``x = (c - r) mod 2^k = c + (~r_low) + 1 mod 2^k``: add the public bits of ``c`` to the
   shared complemented bits of ``r`` with carry-in 1. Generate ``g_i = c_i (1 - r_i)`` and
   propagate ``p_i = c_i XOR (1 - r_i)`` are linear; the carry-in folds into position 0.
3. Every carry at once by a Sklansky parallel prefix: ``ceil(log2 k)`` rounds, at most
   ``k/2`` group combinations (2 multiplications each) per level.
4. ``x_i = p_i XOR carry_i``: one more round of ``k - 1`` multiplications.

For ``k`` = 32: ``2 + 5`` rounds, at most ``2 * 16 * 5 + 31 = 191`` triples per element
(:func:`triples_for`), one edaBit. Signed inputs: decompose ``x + 2^(k-1)``.
"""

from __future__ import annotations

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.shares import Shared
from offchain.protocols.compare import open_masked, xnor_public


def _levels(k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sklansky prefix levels: pairs (positions updated, position each combines with)."""
    levels = []
    d = 0
    while (1 << d) < k:
        block = 1 << d
        targets = np.array([i for i in range(k) if i & block], dtype=np.int64)
        sources = (targets >> d << d) - 1
        levels.append((targets, sources))
        d += 1
    return levels


def triples_for(k: int) -> int:
    """Triples one ``k``-bit decomposition consumes."""
    return sum(2 * len(t) for t, _ in _levels(k)) + (k - 1)


def _flat(n: int, k: int, positions: np.ndarray) -> np.ndarray:
    return (np.arange(n)[:, None] * k + positions[None, :]).ravel()


def _scatter(base: Shared, index: np.ndarray, values: Shared) -> Shared:
    x, m = base.x.copy(), base.m.copy()
    x[index], m[index] = values.x, values.m
    return Shared(x, m)


def bit_decompose(engine: Engine, x: Shared, k: int) -> Shared:
    """Shared bits of ``x`` (``0 <= x < 2^k``), element-major: ``n * k`` bit shares, LSB first.
    See the module docstring for rounds and preprocessing."""
    f, ar = engine.field, engine.arith
    n = len(x)
    c_bits, _, r_bits = open_masked(engine, x, k, "bitdec")
    # ~r_i = 1 - r_i;  g = c AND ~r;  p = c XOR ~r = 1 - (c XOR r)
    g = ar.mul_public(ar.add_const(ar.scale(r_bits, -1), 1), f.from_bits(c_bits))
    p = xnor_public(engine, r_bits, c_bits)
    # Carry-in 1 at position 0: G_0 = g_0 + p_0 (g and p are never both 1).
    first = _flat(n, k, np.array([0]))
    g = _scatter(g, first, ar.add(g[first], p[first]))
    big_p = p
    for targets, sources in _levels(k):
        t_idx, s_idx = _flat(n, k, targets), _flat(n, k, sources)
        p_t = big_p[t_idx]
        prods = engine.mul(Shared.concat([p_t, p_t]), Shared.concat([g[s_idx], big_p[s_idx]]))
        half = len(t_idx)
        g = _scatter(g, t_idx, ar.add(g[t_idx], prods[:half]))
        big_p = _scatter(big_p, t_idx, prods[half:])
    # carry_i = G_{0..i-1} for i >= 1 (carry_0 = 1);  x_i = p_i XOR carry_i.
    upper = _flat(n, k, np.arange(1, k))
    below = _flat(n, k, np.arange(0, k - 1))
    p_up, carry = p[upper], g[below]
    xor = ar.sub(ar.add(p_up, carry), ar.scale(engine.mul(p_up, carry), 2))
    bits = _scatter(p, first, ar.add_const(ar.scale(p[first], -1), 1))
    return _scatter(bits, upper, xor)
