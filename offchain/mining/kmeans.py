"""k-means (Lloyd's algorithm) over rows split horizontally between orgs, with the centroids
revealed after every iteration and each cluster's size only at the end.

Per iteration every org assigns its own rows, in the clear, to the nearest public centroid
(:func:`assign`) and inputs, with bounded input, each cluster's row count and feature sums
(:func:`cluster_sums`; public ranges, :meth:`KMeansLayout.ranges`). The orgs add them (local)
and divide securely (:func:`_centroids`): each new centroid is opened, but no org's sums, nor
any cluster's total count or sums, are. A cluster without rows keeps its previous centroid.

The last iteration opens its exact totals instead: each cluster's size and feature sums (the
sums ``size × centroid``, which the model reveals anyway), so the final centroids are exact
rationals. An empty cluster's sum slot holds its previous centroid instead (a secure
selection), so the outputs alone give the model.

Encodings: rows come in as integers ``round(v 2^16)`` (:data:`ROW_F`); centroids live on the
grid ``2^-20`` (:data:`F`) as :class:`~offchain.sectypes.fixed.SecretFixed` values of
:data:`BITS` bits. Distances are computed exactly on those integers, so ties go to the lowest
cluster index in the MPC and in :func:`plain_kmeans` alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.shares import Shared
from offchain.mining.aggregates import bounded_input
from offchain.mining.stats import input_width
from offchain.protocols.compare import less_than
from offchain.sectypes.array import SecretArray, reveal
from offchain.sectypes.fixed import SecretFixed
from offchain.sectypes.fixed_division import RECIPROCAL_ITERATIONS

ROW_F = 16  # fractional bits of a row's encoded values (chainmpc's FRACTION_BITS)
F = 20  # fractional bits of a centroid
BITS = 64  # width of the secret fixed-point values (BITS + F <= 84 fits 2^127 - 1's masks)
HI = F - 1  # the total count of a cluster is below 2^HI: the division's divisor range
COUNT_BITS = HI + 2  # signed width the counts are compared at
_Y0 = 1.5 + 2**0.5  # 1/w ~ 2.9142 - 2w on [1/2, 1), as fixed_division's


def max_rows(orgs: int) -> int:
    """Rows per org: ``2^w - 1`` for the largest ``w`` with ``orgs (2^w - 1) < 2^HI``, so the
    total count stays in the division's range whatever any org inputs (bounded input enforces
    exactly ``[0, 2^w)``)."""
    return (1 << (HI - (orgs - 1).bit_length())) - 1


Rows = Sequence[Sequence[int]]
Centroids = list[list[int]]  # raw integers on the 2^-F grid


@dataclass(frozen=True)
class KMeansLayout:
    """What is public: ``k`` clusters, ``iterations`` updates, the encoded ``(lo, hi)`` bounds
    of each feature (at 2^-16), ``orgs`` and the initial centroids ``init`` (raw, 2^-20), or
    ``None`` for the first ``k`` rows of org 0."""

    k: int
    iterations: int
    bounds: tuple[tuple[int, int], ...]
    orgs: int
    init: tuple[tuple[int, ...], ...] | None = None

    @property
    def d(self) -> int:
        """Number of features."""
        return len(self.bounds)

    @property
    def cap(self) -> int:
        """The most rows one org may hold (:func:`max_rows`)."""
        return max_rows(self.orgs)

    @property
    def output_length(self) -> int:
        """``k d`` sums (or kept centroids), then ``k`` sizes."""
        return self.k * (self.d + 1)

    def ranges(self) -> list[tuple[int, int]]:
        """The ``(lo, hi)`` of each org's aggregates: ``k`` counts, then ``k d`` sums
        (cluster-major)."""
        n = self.cap
        sums = [(n * min(lo, 0), n * max(hi, 0)) for lo, hi in self.bounds]
        return [(0, n)] * self.k + sums * self.k

    def sum_bits(self) -> int:
        """Bits of the largest total sum any org's enforced inputs give, at 2^-F."""
        worst = max(abs(lo) + (1 << input_width(lo, hi)) for lo, hi in self.ranges())
        return (self.orgs * worst << (F - ROW_F)).bit_length() + 1


def to_grid(value: Fraction | int) -> int:
    """A rational centroid coordinate (row units) as the nearest raw 2^-F integer."""
    return round(Fraction(value) * (1 << F))


def assign(rows: Rows, centroids: Centroids) -> list[int]:
    """Each row's nearest centroid (squared Euclidean, exact on the integers; ties to the
    lowest index)."""
    c = np.array(centroids, dtype=object)
    out = []
    for row in rows:
        x = np.array([v << (F - ROW_F) for v in row], dtype=object)
        dist = [int(((x - ci) ** 2).sum()) for ci in c]
        out.append(dist.index(min(dist)))
    return out


def cluster_sums(layout: KMeansLayout, rows: Rows, centroids: Centroids) -> list[int]:
    """One org's aggregates for one iteration, in :meth:`KMeansLayout.ranges` order."""
    k, d = layout.k, layout.d
    counts, sums = [0] * k, [0] * (k * d)
    for row, j in zip(rows, assign(rows, centroids), strict=True):
        counts[j] += 1
        for a, v in enumerate(row):
            sums[j * d + a] += v
    return counts + sums


def plain_kmeans(layout: KMeansLayout, rows: Rows) -> list[int]:
    """The outputs :func:`secure_kmeans` opens, computed in the clear on the union of the
    rows (org 0's first, for ``first-k``): the same updates, intermediate centroids rounded
    to the 2^-F grid (the MPC's are within its division error of those)."""
    centroids = _initial(layout, rows)
    for t in range(layout.iterations):
        totals = cluster_sums(layout, rows, centroids)
        if t < layout.iterations - 1:
            centroids = _plain_update(layout, totals, centroids)
        else:
            return _final(layout, totals, centroids)
    raise ValueError("iterations must be at least 1")


def _initial(layout: KMeansLayout, rows: Rows) -> Centroids:
    if layout.init is not None:
        return [list(c) for c in layout.init]
    if len(rows) < layout.k:
        raise ValueError(f"first-k needs at least {layout.k} rows at the first org")
    return [[v << (F - ROW_F) for v in row] for row in rows[: layout.k]]


def _plain_update(layout: KMeansLayout, totals: list[int], prev: Centroids) -> Centroids:
    k, d = layout.k, layout.d
    out = []
    for j in range(k):
        n = totals[j]
        sums = totals[k + j * d : k + (j + 1) * d]
        out.append(prev[j] if n == 0 else [to_grid(Fraction(s, n << ROW_F)) for s in sums])
    return out


def _final(layout: KMeansLayout, totals: list[int], prev: Centroids) -> list[int]:
    k, d = layout.k, layout.d
    sums = list(totals[k:])
    for j in range(k):
        if totals[j] == 0:
            sums[j * d : (j + 1) * d] = prev[j]
    return sums + totals[:k]


def decode_outputs(layout: KMeansLayout, opened: Sequence[int]) -> tuple[list, list[int]]:
    """``(centroids as floats in row units, sizes)`` from the opened outputs."""
    k, d = layout.k, layout.d
    if len(opened) != layout.output_length:
        raise ValueError(f"{len(opened)} outputs; kmeans opens {layout.output_length}")
    sizes = [int(v) for v in opened[k * d :]]
    if any(n < 0 for n in sizes):
        raise ValueError("a negative cluster size")
    cents = []
    for j, n in enumerate(sizes):
        slot = opened[j * d : (j + 1) * d]
        scale = (1 << F) if n == 0 else n << ROW_F
        cents.append([float(Fraction(int(v), scale)) for v in slot])
    return cents, sizes


def secure_kmeans(
    engine: Engine, layout: KMeansLayout, rows: Rows | None, orgs: int
) -> list[SecretArray]:
    """Run ``layout.iterations`` Lloyd updates over every org's rows (``rows`` at this org,
    ``None`` in a dry run); return the last iteration's totals (sums or kept centroids, then
    sizes: :func:`decode_outputs`), not yet opened.

    Per iteration: one bounded input per org of ``k (d + 1)`` aggregates; then, except in the
    last, one vectorised comparison of the ``k`` counts with ``HI + 1`` powers of two, the
    division (:func:`_centroids`) and a MAC-checked opening of the ``k d`` centroids. The
    last iteration: one comparison ``[count = 0]`` and one selection. ``first-k``: org 0's
    first ``k`` rows are input (bounded) and opened first.
    """
    if rows is not None and len(rows) > layout.cap:
        raise ValueError(f"{len(rows)} rows; an org may hold at most {layout.cap}")
    centroids = _secure_initial(engine, layout, rows)
    for t in range(layout.iterations):
        local = None if rows is None else cluster_sums(layout, rows, centroids)
        counts, sums = _input_totals(engine, layout, local, orgs)
        if t < layout.iterations - 1:
            centroids = _centroids(engine, layout, counts, sums, centroids)
        else:
            return [_final_outputs(layout, counts, sums, centroids)]
    raise ValueError("iterations must be at least 1")


def _secure_initial(engine: Engine, layout: KMeansLayout, rows: Rows | None) -> Centroids:
    if layout.init is not None:
        return [list(c) for c in layout.init]
    values = None
    if engine.index == 0 and rows is not None:
        if len(rows) < layout.k:
            raise ValueError(f"first-k needs at least {layout.k} rows at the first org")
        values = [v for row in rows[: layout.k] for v in row]
    ranges = list(layout.bounds) * layout.k
    first = bounded_input(engine, values, 0, ranges)
    engine.check_between_peers()  # everything opened so far is checked before a reveal
    (opened,) = reveal(first, label="kmeans-init")
    d = layout.d
    return [[v << (F - ROW_F) for v in opened[j * d : (j + 1) * d]] for j in range(layout.k)]


def _input_totals(
    engine: Engine, layout: KMeansLayout, local: list[int] | None, orgs: int
) -> tuple[SecretArray, SecretArray]:
    ranges = layout.ranges()
    parts = [
        bounded_input(engine, local if o == engine.index else None, o, ranges) for o in range(orgs)
    ]
    totals = sum(parts[1:], parts[0])
    k = layout.k
    counts = SecretArray(engine, totals.shared[:k], COUNT_BITS)
    return counts, SecretArray(engine, totals.shared[k:], BITS)


def _repeat(a: SecretArray, times: int) -> Shared:
    """Each element of ``a`` ``times`` times in a row (local)."""
    return a.shared[np.repeat(np.arange(len(a)), times)]


def _centroids(
    engine: Engine, layout: KMeansLayout, counts: SecretArray, sums: SecretArray, prev: Centroids
) -> Centroids:
    """``sums / counts`` per cluster (``prev`` where a count is 0), opened and MAC-checked.

    The division is :meth:`~offchain.sectypes.fixed.SecretFixed.divide`'s method with the
    divisor's part done once per cluster, not once per coordinate: ``lt_j = [n < 2^j]`` for
    ``j = 0 .. HI`` (one comparison of ``k (HI + 1)`` elements at :data:`COUNT_BITS` bits;
    ``lt_0`` is ``[n = 0]``); ``D = n + lt_0``; ``s = 2^-(e+1)`` for ``2^e <= D < 2^(e+1)``, a
    public combination of the ``lt_j``; ``w = D s`` in ``[1/2, 1)`` exactly (an integer
    times a fixed-point value: no truncation); Newton for ``1/w``; then ``(a s) / w``. Error
    per coordinate, in ulp = 2^-F: at most ``4 + 7 |mean|``, as ``divide``'s."""
    k, d, ar, fld = layout.k, layout.d, engine.arith, engine.field
    t = HI + 1
    thresholds = fld.from_ints(1 << j for j in range(t) for _ in range(k))
    n_rep = Shared.concat([counts.shared] * t)
    lt = less_than(engine, n_rep, ar.constant(thresholds), COUNT_BITS)
    empty = lt[:k]
    s = ar.constant(fld.from_ints([1 << (F - HI - 1)] * k))
    for j in range(1, t):
        s = ar.add(s, ar.scale(lt[j * k : (j + 1) * k], 1 << (F - j - 1)))
    divisor = ar.add(counts.shared, empty)
    w = SecretFixed(engine, engine.mul(divisor, s), F, BITS)
    a = SecretFixed(engine, ar.scale(sums.shared, 1 << (F - ROW_F)), F, BITS)
    s_rep = SecretFixed(engine, s[np.repeat(np.arange(k), d)], F, BITS)
    y = w * -2 + _Y0
    for _ in range(RECIPROCAL_ITERATIONS):
        y = y * (2 - w * y)
    y_rep = SecretFixed(engine, y.shared[np.repeat(np.arange(k), d)], F, BITS)
    quotient = (a * s_rep) * y_rep
    keep = SecretArray(engine, empty[np.repeat(np.arange(k), d)], 1)
    # the previous centroids as raw constants: never re-encoded from floats (in a dry run
    # the opened values are meaningless and may be any size)
    previous = ar.constant(fld.from_ints(v for c in prev for v in c))
    chosen = keep * SecretArray(engine, ar.sub(previous, quotient.shared), BITS)
    chosen = chosen + SecretArray(engine, quotient.shared, BITS)
    engine.check_between_peers()  # everything opened so far is checked before a reveal
    (flat,) = reveal(chosen, label="kmeans-centroids")
    return [flat[j * d : (j + 1) * d] for j in range(k)]


def _final_outputs(
    layout: KMeansLayout, counts: SecretArray, sums: SecretArray, prev: Centroids
) -> SecretArray:
    """Sums (an empty cluster's slots: its previous centroid, raw) then counts."""
    engine, k, d = counts.engine, layout.k, layout.d
    one = counts.constant([1] * k)
    empty = SecretArray(engine, less_than(engine, counts.shared, one.shared, COUNT_BITS), 1)
    keep = SecretArray(engine, _repeat(empty, d), 1)
    chosen = keep.if_else([v for c in prev for v in c], sums)
    return SecretArray.concat([chosen, counts])
