"""Secure k-means: the opened outputs equal the plaintext algorithm's, an empty cluster keeps
its centroid, and an org cannot input a negative or oversized cluster count (which would also
push the total out of the division's range): bounded input refuses it at every org."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Field, Vec
from offchain.mining.kmeans import (
    HI,
    ROW_F,
    F,
    KMeansLayout,
    _centroids,
    cluster_sums,
    decode_outputs,
    plain_kmeans,
    secure_kmeans,
)
from offchain.mining.stats import input_width
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import SecretArray, reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties

TEN = 10 << ROW_F
# the third centroid sits where no row is: its cluster stays empty
INIT = ((1 << F, 2 << F), (8 << F, 8 << F), (10 << F, 0))
LAYOUT = KMeansLayout(3, 3, ((0, TEN), (0, TEN)), 3, INIT)


def blob(seed: int, n: int, centre: float) -> list[list[int]]:
    rng = random.Random(seed)
    return [[round((centre + rng.uniform(-1, 1)) * (1 << ROW_F)) for _ in range(2)]
            for _ in range(n)]  # fmt: skip


PARTS = [blob(1, 12, 1.5) + blob(2, 9, 8.5), blob(3, 7, 8.0), blob(4, 5, 2.0) + blob(5, 4, 9.0)]


def run(layout: KMeansLayout, field: Field, parts: list, engines=None):  # type: ignore[no-untyped-def]
    orgs = len(parts)
    needs = count_needs(lambda e: secure_kmeans(e, layout, None, orgs), orgs, field)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            (out,) = secure_kmeans(e, layout, parts[e.index], orgs)
        except ProtocolAbort as exc:
            return str(exc)
        chain_checkpoint(e)
        return reveal(out)[0]

    return run_parties(Dealer(field, orgs).deal(1, needs), job, engines=engines)


def test_secure_outputs_equal_the_plaintext_and_an_empty_cluster_keeps_its_centroid(
    field: Field,
) -> None:
    union = [r for p in PARTS for r in p]
    expected = plain_kmeans(LAYOUT, union)
    assert run(LAYOUT, field, PARTS) == [expected] * 3
    centroids, sizes = decode_outputs(LAYOUT, expected)
    assert sizes == [17, 20, 0] and centroids[2] == [10.0, 0.0]
    assert abs(centroids[1][0] - 8.5) < 0.5


def test_first_k_opens_the_first_orgs_first_rows_and_runs_from_them() -> None:
    layout = KMeansLayout(2, 2, LAYOUT.bounds, 3, None)
    union = [r for p in PARTS for r in p]
    assert run(layout, M127, PARTS) == [plain_kmeans(layout, union)] * 3


class Miscounting(Engine):
    """An org that bypasses its own range check: in its bounded input it sends ``delta`` in
    place of bit ``bit`` of its first cluster count (or, were the aggregates input unchecked,
    adds ``delta << bit`` to the count itself). ``delta = -1`` on a zero count claims -1 rows;
    ``delta = 2`` on the top bit claims 2^w more rows than an org may hold."""

    bit, delta = 0, -1

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        size = len(LAYOUT.ranges())
        if values is not None and owner == self.index:
            ints = [self.field.to_signed(v) for v in self.field.to_ints(values)]
            if count == size:  # the values themselves
                ints[0] += self.delta << self.bit
            else:  # their bits
                ints[self.bit] += self.delta
            values = self.field.from_ints(v % self.field.p for v in ints)
        return super().input(values, owner, count)


class Oversized(Miscounting):
    bit, delta = input_width(0, LAYOUT.cap) - 1, 2


@pytest.mark.parametrize("cheat", [Miscounting, Oversized], ids=["negative", "oversized"])
def test_a_negative_or_oversized_count_is_refused_by_every_org(cheat: type) -> None:
    # org 1's rows all lie near the second centroid: its first count is 0
    assert cluster_sums(LAYOUT, PARTS[1], [list(c) for c in INIT])[0] == 0
    outcomes = run(LAYOUT, M127, PARTS, engines={1: cheat})
    assert outcomes == ["input of org 1: a value is outside its declared range"] * 3


def test_an_org_with_too_many_rows_or_an_own_aggregate_out_of_range_is_refused() -> None:
    too_many = [[0, 0]] * (LAYOUT.cap + 1)
    with pytest.raises(ValueError, match=f"an org may hold at most {LAYOUT.cap}"):
        count_needs(lambda e: secure_kmeans(e, LAYOUT, too_many, 3), 3, M127)
    outside = [[TEN + 1, 0]]  # beyond the declared bound: its sum leaves the sum's range
    layout = KMeansLayout(1, 1, ((0, 1), (0, 1)), 3, ((0, 0),))
    with pytest.raises(ValueError, match="local aggregate 1 is outside its declared range"):
        count_needs(lambda e: secure_kmeans(e, layout, outside, 3), 3, M127)


def test_the_division_is_within_its_bound_over_the_whole_count_range() -> None:
    # counts from 0 (keeps the previous centroid) to the largest total (2^19 - 1), means of
    # both signs and sizes; error bound of _centroids: 4 + 7 |mean| ulp of 2^-F
    counts = [0, 1, 2, 3, 1000, 65537, (1 << HI) - 1]
    means = [5.0, -7.25, 1234.5, 0.001, -3.3, 1e4, 2.5]
    layout = KMeansLayout(len(counts), 2, ((-(1 << 30), 1 << 30),), 3, None)
    sums = [round(m * n * (1 << ROW_F)) for m, n in zip(means, counts, strict=True)]
    prev = [[123 << F] for _ in counts]

    def job(e: Engine) -> list:
        fld = e.field
        n = SecretArray(e, e.arith.constant(fld.from_ints(counts)), HI + 2)
        s = SecretArray(e, e.arith.constant(fld.from_ints(sums)), 64)
        return _centroids(e, layout, n, s, prev)

    needs = count_needs(job, 3, M127)

    def org(e: Engine) -> list:
        prepared(e, needs)
        return job(e)

    results = run_parties(Dealer(M127, 3).deal(1, needs), org)
    got = results[0]
    assert results == [got] * 3
    for (c,), n, total in zip(got, counts, sums, strict=True):
        if n == 0:
            assert c == 123 << F
            continue
        exact = Fraction(total, n << ROW_F) * (1 << F)
        assert abs(c - exact) <= 4 + 7 * abs(exact) / (1 << F), (n, c, float(exact))


def prepared(e: Engine, needs) -> None:  # type: ignore[no-untyped-def]
    assert e.sacrifice(needs.checked_triples, 7) == 0
    assert e.check_bits() == 0
    assert e.check_masks(MASK_SEED)
    e.check_between_peers()
