"""A linear SVM over rows split horizontally between orgs: full-batch subgradient descent on
the regularised hinge loss, the model public after every epoch.

Loss ``λ/2 |w|² + (1/n) Σ max(0, 1 - y (w·x + b))``, labels ``y = ±1``, from ``w = 0, b = 0``.
One epoch: ``w ← (1 - ηλ) w + (η/n) Σ_{y(w·x+b) < 1} y x`` and ``b ← b + (η/n) Σ_{...} y``.

Every org evaluates the margins of its own rows, in the clear, against the public ``(w, b)``
(:func:`local_gradient`) and inputs ``Σ y x`` and ``Σ y`` over its rows inside the margin, with
bounded input (:meth:`SvmLayout.ranges`); the MPC adds them and opens only the totals, after a
MAC check. The first epoch also adds the orgs' row counts, so the total ``n`` is opened once.
Every org then updates ``(w, b)`` in the clear, exactly: on the grid 2^-:data:`F`, rounded to
nearest from the exact rational (:func:`update`), so the MPC's model *is* the plaintext model
(:func:`plain_linear_svm`), bit for bit. Opening the totals reveals what the next ``(w, b)``
reveals (given ``w``, ``η``, ``λ`` and ``n``) up to the grid's rounding.

The session's outputs are the final ``b``, ``w`` (raw on the 2^-F grid) and ``n``: public values
every org derived from MAC-checked openings, output (:func:`_output`) so the contract records
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from offchain.engine.core import Engine
from offchain.mining.aggregates import bounded_input
from offchain.mining.stats import MAX_ROWS
from offchain.sectypes.array import SecretArray, reveal

ROW_F = 16  # fractional bits of a row's encoded values (chainmpc's FRACTION_BITS)
F = 20  # fractional bits of the weights and bias


@dataclass(frozen=True)
class SvmLayout:
    """What is public: the encoded ``(lo, hi)`` bounds of each feature (at 2^-16), ``epochs``,
    the learning rate ``eta`` and regularisation ``lam`` (exact binary fractions of the job's
    floats)."""

    bounds: tuple[tuple[int, int], ...]
    epochs: int
    eta: Fraction
    lam: Fraction

    @property
    def d(self) -> int:
        """Number of features."""
        return len(self.bounds)

    @property
    def output_length(self) -> int:
        """``b``, one weight per feature, ``n``."""
        return self.d + 2

    def ranges(self, first: bool) -> list[tuple[int, int]]:
        """One org's aggregates: (its row count, in the first epoch), ``Σ y``, then ``Σ y x``
        per feature, over at most :data:`MAX_ROWS` rows."""
        n = MAX_ROWS
        out = [(0, n)] if first else []
        return out + [(-n, n)] + [(-n * max(-lo, hi, 0), n * max(-lo, hi, 0))
                                  for lo, hi in self.bounds]  # fmt: skip


Model = tuple[int, list[int]]  # (b, w), raw on the 2^-F grid


def local_gradient(rows: Sequence[Sequence[int]], labels: Sequence[int], model: Model) -> list[int]:
    """``[Σ y, Σ y x_1, ...]`` over the rows inside the margin, ``y (w·x + b) < 1`` (exact, on
    the integers: ``w`` at 2^-20, ``x`` at 2^-16)."""
    b, w = model
    one = 1 << (F + ROW_F)
    out = [0] * (1 + len(w))
    for x, y in zip(rows, labels, strict=True):
        if y * (sum(wj * xj for wj, xj in zip(w, x, strict=True)) + (b << ROW_F)) < one:
            out[0] += y
            for j, xj in enumerate(x):
                out[1 + j] += y * xj
    return out


def update(layout: SvmLayout, model: Model, totals: Sequence[int], n: int) -> Model:
    """One step from the opened totals ``[Σ y, Σ y x...]`` of ``n`` rows, rounded to the grid
    (Python's ``round``: halves to even)."""
    b, w = model
    if n <= 0:  # no rows: no gradient of the loss term
        return b, [round((1 - layout.eta * layout.lam) * wj) for wj in w]
    step = layout.eta / n
    shrink = 1 - layout.eta * layout.lam
    new_w = [round(shrink * wj + step * g * (1 << (F - ROW_F))) for wj, g in
             zip(w, totals[1:], strict=True)]  # fmt: skip
    return round(b + step * totals[0] * (1 << F)), new_w


def plain_linear_svm(
    layout: SvmLayout, rows: Sequence[Sequence[int]], labels: Sequence[int]
) -> list[int]:
    """The outputs of :func:`secure_linear_svm` computed in the clear on the union of the rows:
    the plaintext reference (the same updates, the same rounding)."""
    model: Model = (0, [0] * layout.d)
    for _ in range(layout.epochs):
        model = update(layout, model, local_gradient(rows, labels, model), len(rows))
    return [model[0], *model[1], len(rows)]


def secure_linear_svm(
    engine: Engine,
    layout: SvmLayout,
    rows: Sequence[Sequence[int]] | None,
    labels: Sequence[int] | None,
    orgs: int,
) -> list[SecretArray]:
    """Train on every org's rows (``rows`` and ``labels`` at this org, ``None`` in a dry run);
    return ``[b, w..., n]`` (public values, shared as :func:`_output` says), not yet opened.

    Per epoch: one bounded input per org of ``d + 1`` aggregates (``d + 2`` in the first),
    a MAC check between the peers and a MAC-checked opening of the totals. No comparison, no
    truncation, no division: the margins and updates are computed in the clear.
    """
    if rows is not None and len(rows) > MAX_ROWS:
        raise ValueError(f"{len(rows)} rows; an org may hold at most {MAX_ROWS}")
    model: Model = (0, [0] * layout.d)
    n = 0
    last: tuple[SecretArray, list[int]] | None = None
    for epoch in range(layout.epochs):
        first = epoch == 0
        local = None
        if rows is not None and labels is not None:
            local = ([len(rows)] if first else []) + local_gradient(rows, labels, model)
        ranges = layout.ranges(first)
        parts = [
            bounded_input(engine, local if o == engine.index else None, o, ranges)
            for o in range(orgs)
        ]
        engine.check_between_peers()  # everything opened so far is checked before a reveal
        secret = sum(parts[1:], parts[0])
        (totals,) = reveal(secret, label="svm-gradient")
        last = (secret, totals)
        if first:
            n, totals = totals[0], totals[1:]
        model = update(layout, model, totals, n)
    return [_output(engine, [model[0], *model[1], n], last)]


def _output(
    engine: Engine, values: list[int], last: tuple[SecretArray, list[int]] | None
) -> SecretArray:
    """The public ``values`` as a sharing fit for the output's MAC check: ``values`` plus the
    last epoch's totals minus their opened values (a sharing of zero). A constant's trivial
    sharing would make every org's MAC-check share 0, which the auditor rightly refuses
    (honest shares are never all zero); this one opens to ``values`` exactly and reveals no
    share not already opened with those totals."""
    if last is None:
        raise ValueError("epochs must be at least 1")
    secret, opened = last
    zero = secret - opened
    index = np.arange(len(values)) % len(zero)
    return SecretArray(engine, zero.shared[index], zero.bits) + values
