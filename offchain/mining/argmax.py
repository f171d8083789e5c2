"""Secure maximum and argmax over a secret vector, with an optional custom order.

A tournament: at each level the candidates are paired, one vectorised comparison decides all
pairs at once, and one multiplication round selects the winners' values and indices together.
For ``n`` candidates: ``ceil(log2 n)`` levels, each a comparison (6 rounds for 32-bit keys) plus
one selection round; ``n - 1`` comparisons in all. Ties go to the lower index.

The order is any secure predicate on two records: ``less(a, b)`` receives two tuples of
:class:`~offchain.sectypes.array.SecretArray` (the fields of each candidate, one element per pair)
and returns a 0/1 :class:`SecretArray`. E.g. comparing fractions ``num/den`` with positive
denominators by cross-multiplication, without division::

    best, index = argmax((nums, dens), less=lambda a, b: a[0] * b[1] < b[0] * a[1])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from offchain.sectypes.array import SecretArray

Record = tuple[SecretArray, ...]
Less = Callable[[Record, Record], SecretArray]


def _default_less(a: Record, b: Record) -> SecretArray:
    return a[0] < b[0]


def argmax(
    fields: SecretArray | Sequence[SecretArray], less: Less | None = None
) -> tuple[Record, SecretArray]:
    """The largest record under ``less`` and its (secret) index, as one-element arrays.

    ``fields`` is one array (the values) or several arrays of equal length (the fields of
    each record). Nothing is opened except inside the comparisons' masked openings: the
    winner and its index stay secret until the caller reveals them (after a MAC check).
    """
    record: Record = (fields,) if isinstance(fields, SecretArray) else tuple(fields)
    if not record or len(record[0]) == 0:
        raise ValueError("argmax of an empty vector")
    if any(len(f) != len(record[0]) for f in record):
        raise ValueError("argmax: fields differ in length")
    order = less or _default_less
    n = len(record[0])
    index = record[0].constant(list(range(n)))  # public indices as secret constants (local)
    cand = (*record, index)
    while len(cand[0]) > 1:
        size = len(cand[0])
        pairs = size // 2
        lo = tuple(f[0 : 2 * pairs : 2] for f in cand)
        hi = tuple(f[1 : 2 * pairs : 2] for f in cand)
        take_hi = order(lo[:-1], hi[:-1])  # lo < hi: the higher-indexed wins only if larger
        width = len(cand)
        bits = SecretArray.concat([take_hi] * width)
        diffs = SecretArray.concat([h - lo_ for h, lo_ in zip(hi, lo, strict=True)])
        chosen = SecretArray.concat(list(lo)) + bits * diffs  # one round for every field
        winners = tuple(chosen[k * pairs : (k + 1) * pairs] for k in range(width))
        if size % 2:  # the odd one out advances unopposed
            winners = tuple(
                SecretArray.concat([w, f[size - 1 : size]])
                for w, f in zip(winners, cand, strict=True)
            )
        cand = winners
    return cand[:-1], cand[-1]


def maximum(values: SecretArray, less: Less | None = None) -> SecretArray:
    """The largest element (one-element array)."""
    (best, *_), _ = argmax(values, less)
    return best
