"""Bounded input of one org's local aggregates, each in its own public range: what the
aggregate-then-add mining kinds (kmeans, linear-svm) share."""

from __future__ import annotations

from offchain.engine.core import Engine
from offchain.mining.stats import input_width
from offchain.sectypes import array as sectypes
from offchain.sectypes.array import SecretArray


def bounded_input(
    engine: Engine, values: list[int] | None, owner: int, ranges: list[tuple[int, int]]
) -> SecretArray:
    """``owner``'s values (``None`` at every other org), each provably in ``[lo, lo + 2^w)``
    for its ``(lo, hi)``, ``w = input_width(lo, hi)``, whatever the owner sends: it goes in as
    ``v - lo - 2^(w-1)``, a signed ``w``-bit value, and is shifted back (local). 5 rounds,
    ``sum(w)`` masks and checked triples. :class:`ValueError` at the owner if one of its own
    values is outside its declared range (naming the slot, never the value)."""
    widths = [input_width(lo, hi) for lo, hi in ranges]
    shift = [lo + (1 << (w - 1)) for (lo, _), w in zip(ranges, widths, strict=True)]
    if values is not None:
        bad = [i for i, (v, (lo, hi)) in enumerate(zip(values, ranges, strict=True))
               if not lo <= v <= hi]  # fmt: skip
        if bad:  # the slot, never the value: it is this org's secret
            raise ValueError(f"local aggregate {bad[0]} is outside its declared range")
        values = [v - s for v, s in zip(values, shift, strict=True)]
    return sectypes.secret_input_widths(engine, values, owner, widths) + shift
