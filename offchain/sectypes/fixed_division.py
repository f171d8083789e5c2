"""Division and reciprocal of secret fixed-point numbers: range-based scaling, then
Newton–Raphson (see :meth:`FixedDivision.divide` for the method, costs and error). A mixin of
:class:`~offchain.sectypes.fixed.SecretFixed`, apart only to keep each module short."""

from __future__ import annotations

import math
from typing import Any, Self

from offchain.hazmat.shares import Shared
from offchain.protocols.compare import less_than
from offchain.sectypes.base import SecureArray

RECIPROCAL_LO = -4  # default divisor range [2^lo, 2^hi] of reciprocal() and /
RECIPROCAL_HI = 8
RECIPROCAL_ITERATIONS = 3
_INITIAL = 1.5 + math.sqrt(2)  # 1/w ~ _INITIAL - 2w on [1/2, 1): relative error <= 0.0858


class FixedDivision:
    """``reciprocal``, ``divide`` and ``/`` of :class:`~offchain.sectypes.fixed.SecretFixed`
    (which supplies ``f``, ``bits``, ``_truncated``, ``_compare_width`` and the rest)."""

    __slots__ = ()

    def reciprocal(
        self,
        lo: int = RECIPROCAL_LO,
        hi: int = RECIPROCAL_HI,
        iterations: int = RECIPROCAL_ITERATIONS,
    ) -> Self:
        """``1 / self`` for every element in ``[2^lo, 2^hi]`` (precondition; default
        ``[2^-4, 2^8]``). See :meth:`divide` (numerator 1), which states the method and the
        costs; here the numerator product is skipped (one triple and one truncation pair per
        element fewer). Error (derived in :meth:`divide`, tested over the range):
        ``|r - 1/x| <= 2^-f (2 + 7/x)``.
        """
        return self._divide(None, lo, hi, iterations)

    def divide(
        self,
        divisor: Self,
        lo: int = RECIPROCAL_LO,
        hi: int = RECIPROCAL_HI,
        iterations: int = RECIPROCAL_ITERATIONS,
    ) -> Self:
        """``self / divisor`` elementwise for divisors in ``[2^lo, 2^hi]`` (precondition;
        default ``[2^-4, 2^8]``; needs ``hi < f`` and ``2^-lo`` well inside the range).

        Method (range-based scaling, then Newton–Raphson from a public linear guess):

        1. ``b_j = [x >= 2^j]`` for ``j = lo+1 .. hi``: one vectorised comparison of
           ``hi - lo`` public thresholds (``1 + ceil(log2 k)`` rounds);
        2. ``s = 2^-(e+1)`` for ``2^e <= x < 2^(e+1)``, a public linear combination of the
           ``b_j`` (local, exact); ``w = x s`` in ``[1/2, 1)`` and ``a s`` together (one
           multiplication and one truncation: 2 rounds);
        3. ``y_0 = 2.9142 - 2 w`` (relative error <= 0.0858), then ``iterations`` Newton steps
           ``y <- y (2 - w y)`` (4 rounds each): relative error ``0.0858^(2^iterations)``,
           below 2^-28 for the default 3, so rounding dominates;
        4. ``(a s) y`` (2 rounds).

        Cost per element, ``t = hi - lo`` (12 by default) and ``k`` the edaBit width:
        ``1 + ceil(log2 k) + 4 + 4 * iterations`` rounds (23 for k = 48), ``t`` edaBits,
        ``t * triples_for(k) + 3 + 2 * iterations`` triples and ``3 + 2 * iterations``
        truncation pairs (see :func:`division_cost`).

        Error, in ulp = 2^-f, each truncation contributing < 1 (tested over the range):
        ``|q - a/x| <= 4 + 7 |a| / x``. Because ``x s`` lies in ``[1/2, 1)``: ``w`` is off by
        < 1, so ``1/w`` by < 4; the last Newton step adds < 3 (``y <= 2``), the quadratic term
        is negligible, so ``y`` is within 7 of ``1/(x s)``; ``a s`` is off by < 1, which
        ``y <= 2`` turns into < 2; the final truncation adds < 1; and ``s < 1/x`` turns 7 into
        ``7 |a| / x``. For the reciprocal (``a = 1``, ``a s = s`` exact): ``2 + 7/x``.
        """
        if not isinstance(divisor, type(self)):
            raise TypeError("divide() takes a secret divisor; use / for public divisors")
        self._peer_bits(divisor)
        return divisor._divide(self, lo, hi, iterations)

    def _divide(self, numerator: Self | None, lo: int, hi: int, iterations: int) -> Self:
        e, f, ar, fld = self.engine, self.f, self.engine.arith, self.engine.field
        if not -f <= lo < hi < f or -lo > self.bits - f - 3:
            raise ValueError(f"divisor range [2^{lo}, 2^{hi}] does not suit fix{self.bits}.{f}")
        n, t = len(self), hi - lo
        # 1. lt_j = [x < 2^j], all thresholds in one comparison.
        thresholds = [1 << (f + j) for j in range(lo + 1, hi + 1)]
        consts = fld.from_ints(c for c in thresholds for _ in range(n))
        k = self._compare_width()
        xs = Shared.concat([self.shared] * t)
        lt = less_than(e, xs, ar.constant(consts), k)
        # 2. S = 2^(f-e-1) = 2^(f-hi-1) + sum_j lt_j 2^(f-j-1)   (integers, exact)
        s = ar.constant(fld.from_ints([1 << (f - hi - 1)] * n))
        for i, j in enumerate(range(lo + 1, hi + 1)):
            s = ar.add(s, ar.scale(lt[i * n : (i + 1) * n], 1 << (f - j - 1)))
        if numerator is None:
            w = self._truncated(e.mul(self.shared, s))
            scaled = self._new(s)
        else:
            both = self._truncated(
                e.mul(Shared.concat([self.shared, numerator.shared]), Shared.concat([s, s]))
            )
            w, scaled = both[:n], both[n:]
        # 3. Newton–Raphson for 1/w, w in [1/2, 1).
        y = w * -2 + _INITIAL
        for _ in range(iterations):
            y = y * (2 - w * y)
        # 4. a / x = (a s) / w
        return scaled * y

    def __truediv__(self, other: Any) -> Self:
        """``self / other``: a secret divisor as :meth:`divide` (divisor in [2^-4, 2^8]); a
        public one by multiplying with its encoded reciprocal (1 round, 1 truncation pair,
        error < ``(1 + |self| / 2)`` ulp: the truncation and the encoding of ``1/other``)."""
        if isinstance(other, type(self)):
            return self.divide(other)
        if isinstance(other, SecureArray):
            return NotImplemented
        values = self._values(other)
        if any(float(v) == 0.0 for v in values):
            raise ZeroDivisionError("fixed-point division by a public zero")
        return self * [1.0 / float(v) for v in values]

    def __rtruediv__(self, other: Any) -> Self:
        """``public / self``: :meth:`reciprocal`, then a product with the encoded public
        value (one truncation round more)."""
        return self.reciprocal() * other
