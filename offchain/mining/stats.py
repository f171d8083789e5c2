"""Descriptive statistics over rows split horizontally between orgs: counts, sums, sums of
squares, minima and maxima, category counts and contingency tables.

Each org aggregates its own rows in the clear (:func:`local_aggregates`); the orgs input those
aggregates with bounded input, add them (local) and find the global minima and maxima with a
tournament of secure comparisons over the orgs' local ones (:func:`secure_stats`). Only the
totals, minima and maxima are outputs; no org's own aggregate is ever opened.

Every aggregate has a public range derived from the declared column bounds and
:data:`MAX_ROWS` (:meth:`StatsLayout.ranges`). Bounded input enforces it (rounded up to a power
of two above its lower end, ``[lo, lo + 2^w)``), so a lying org stays within it whatever it
sends; the comparisons are sized for that enforced range, not the declared one, so that a
maximal lie still cannot wrap a comparison's masked opening.

Outputs, in order (:meth:`StatsLayout.output_length` field elements): ``n``; per numeric column
``sum, squares, min, max``; per category column its counts; per table its cells, row-major.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from offchain.engine.core import Engine
from offchain.sectypes import array as sectypes
from offchain.sectypes.array import SecretArray

MAX_ROWS = (1 << 24) - 1  # rows per org: a count, category count or cell fits 24 bits


@dataclass(frozen=True)
class StatsLayout:
    """What is aggregated, all public: ``numeric`` the encoded ``(lo, hi)`` bounds of each
    numeric column; ``categories`` the number of values of each category column; ``tables``
    pairs of indices into ``categories``."""

    numeric: tuple[tuple[int, int], ...]
    categories: tuple[int, ...]
    tables: tuple[tuple[int, int], ...] = ()

    @property
    def output_length(self) -> int:
        """Field elements revealed: ``1 + 4 C + sum(categories) + sum(table cells)``."""
        cells = sum(self.categories[a] * self.categories[b] for a, b in self.tables)
        return 1 + 4 * len(self.numeric) + sum(self.categories) + cells

    def ranges(self) -> list[tuple[int, int]]:
        """The declared ``(lo, hi)`` of each local aggregate, in output order."""
        count = (0, MAX_ROWS)
        out = [count]
        for lo, hi in self.numeric:
            peak = max(lo * lo, hi * hi)
            out += [
                (MAX_ROWS * min(lo, 0), MAX_ROWS * max(hi, 0)),
                (0, MAX_ROWS * peak),
                (lo, hi),
                (lo, hi),
            ]
        out += [count] * (self.output_length - len(out))
        return out

    def compare_bits(self) -> int:
        """The signed width the minima and maxima are compared at: their enforced ranges (and
        negations) fit it. 0 without numeric columns (no comparison)."""
        widths = [
            max(abs(lo), abs(lo + (1 << input_width(lo, hi)) - 1)).bit_length() + 1
            for lo, hi in self.numeric
        ]
        return max(widths, default=0)

    def total_bits(self, orgs: int) -> int:
        """Bits of the largest magnitude any output can take (every org at its enforced bound):
        the field's signed range must hold it."""
        worst = max(
            abs(lo) + (1 << input_width(lo, hi)) for lo, hi in self.ranges()
        )  # fmt: skip
        return (orgs * worst).bit_length() + 1


def input_width(lo: int, hi: int) -> int:
    """Bits of bounded input for a value in ``[lo, hi]``: ``v - lo`` in ``[0, 2^w)``."""
    return max(1, (hi - lo).bit_length())


@dataclass(frozen=True)
class LocalAggregates:
    """One org's aggregates in the clear, as :meth:`StatsLayout.ranges` orders them."""

    values: tuple[int, ...]


def local_aggregates(
    layout: StatsLayout, numeric: Sequence[Sequence[int]], categories: Sequence[Sequence[int]]
) -> LocalAggregates:
    """Aggregate one org's rows: ``numeric[c]`` the encoded values of numeric column ``c``,
    ``categories[c]`` the value indices of category column ``c``. An org with no rows gives
    the neutral minimum (the column's ``hi``) and maximum (its ``lo``)."""
    columns = [*numeric, *categories]
    rows = len(columns[0]) if columns else 0
    if any(len(c) != rows for c in columns) or rows > MAX_ROWS:
        raise ValueError(f"columns of unequal length or more than {MAX_ROWS} rows")
    out = [rows]
    for (lo, hi), col in zip(layout.numeric, numeric, strict=True):
        out += [sum(col), sum(v * v for v in col), min(col, default=hi), max(col, default=lo)]
    for size, col in zip(layout.categories, categories, strict=True):
        out += _histogram(col, size)
    for a, b in layout.tables:
        width = layout.categories[b]
        cells = [x * width + y for x, y in zip(categories[a], categories[b], strict=True)]
        out += _histogram(cells, layout.categories[a] * width)
    return LocalAggregates(tuple(out))


def _histogram(values: Sequence[int], size: int) -> list[int]:
    counts = [0] * size
    for v in values:
        counts[v] += 1
    return counts


def _extreme_slots(layout: StatsLayout) -> tuple[list[int], list[int]]:
    mins = [1 + 4 * c + 2 for c in range(len(layout.numeric))]
    return mins, [m + 1 for m in mins]


def plain_stats(layout: StatsLayout, orgs: Sequence[LocalAggregates]) -> list[int]:
    """What :func:`secure_stats` outputs, computed in the clear from every org's aggregates."""
    mins, maxs = _extreme_slots(layout)
    out = [sum(col) for col in zip(*(a.values for a in orgs), strict=True)]
    for i in mins:
        out[i] = min(a.values[i] for a in orgs)
    for i in maxs:
        out[i] = max(a.values[i] for a in orgs)
    return out


def secure_stats(
    engine: Engine, layout: StatsLayout, own: LocalAggregates | None, orgs: int
) -> list[SecretArray]:
    """The global statistics of ``orgs`` orgs' aggregates (``own`` at this org, ``None`` in a
    dry run), as one secret array in output order, not yet opened.

    Rounds: 5 per org (bounded input), then ``ceil(log2 orgs)``
    levels of one comparison at :meth:`StatsLayout.compare_bits` (``log2 k + 2`` rounds) and
    one selection round. Openings: those of the bounded inputs and comparisons only.
    Preprocessing: per org, ``w`` masks and checked triples per aggregate of input width
    ``w``; per level, one edaBit and the comparison's triples per pair and per min or max,
    and as many triples again for the selection.
    """
    ranges = layout.ranges()
    if layout.total_bits(orgs) > engine.field.bits - 2:
        raise ValueError(f"the totals need {layout.total_bits(orgs)} bits; the field is too small")
    if own is not None:
        bad = [i for i, (v, (lo, hi)) in enumerate(zip(own.values, ranges, strict=True))
               if not lo <= v <= hi]  # fmt: skip
        if bad:  # the slot, never the value: it is this org's secret
            raise ValueError(f"local aggregate {bad[0]} is outside its declared range")
    shares = [
        _input_org(engine, ranges, own if o == engine.index else None, o) for o in range(orgs)
    ]
    mins, maxs = _extreme_slots(layout)
    extremes = set(mins) | set(maxs)
    additive = [i for i in range(len(ranges)) if i not in extremes]
    totals = sum((_pick(s, additive) for s in shares[1:]), _pick(shares[0], additive))
    if not layout.numeric:
        return [totals]
    k = layout.compare_bits()
    # max of -x is -min x: minima and maxima share every comparison of the tournament
    cands = [_bits(SecretArray.concat([_pick(s, maxs), -_pick(s, mins)]), k) for s in shares]
    top = _tournament(cands)
    c = len(layout.numeric)
    best_max, best_min = top[:c], -top[c:]
    # reassemble in output order: n, then (sum, squares, min, max) per column, then counts
    order = [*additive, *mins, *maxs]
    merged = SecretArray.concat([totals, best_min, best_max])
    return [_unpermute(merged, order)]


def _input_org(
    engine: Engine, ranges: list[tuple[int, int]], own: LocalAggregates | None, owner: int
) -> SecretArray:
    """Org ``owner``'s aggregates, in one bounded input: each ``v`` in ``[lo, hi]`` goes in as
    ``v - lo - 2^(w-1)``, a signed ``w``-bit value, and is shifted back (local)."""
    widths = [input_width(lo, hi) for lo, hi in ranges]
    shift = [lo + (1 << (w - 1)) for (lo, _), w in zip(ranges, widths, strict=True)]
    values = None if own is None else [v - s for v, s in zip(own.values, shift, strict=True)]
    return sectypes.secret_input_widths(engine, values, owner, widths) + shift


def _pick(a: SecretArray, index: Sequence[int]) -> SecretArray:
    return SecretArray(a.engine, a.shared[np.asarray(index, dtype=np.intp)], a.bits)


def _bits(a: SecretArray, bits: int) -> SecretArray:
    return SecretArray(a.engine, a.shared, bits)


def _unpermute(a: SecretArray, slots: Sequence[int]) -> SecretArray:
    """``a`` holds slot ``slots[j]`` at position ``j``: put every slot at its own index."""
    return _pick(a, np.argsort(np.asarray(slots)))


def _tournament(cands: list[SecretArray]) -> SecretArray:
    """Elementwise maximum of equal-length arrays, pairwise: every pair of a level in one
    comparison and one selection round."""
    while len(cands) > 1:
        pairs = len(cands) // 2
        lo = SecretArray.concat(cands[0 : 2 * pairs : 2])
        hi = SecretArray.concat(cands[1 : 2 * pairs : 2])
        chosen = lo + (lo < hi) * (hi - lo)
        size = len(cands[0])
        winners = [chosen[j * size : (j + 1) * size] for j in range(pairs)]
        cands = winners + cands[2 * pairs :]
    return cands[0]
