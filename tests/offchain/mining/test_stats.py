"""Secure statistics over horizontally split rows: the opened outputs equal the plaintext ones,
and an org cannot push its own aggregate outside the range bounded input enforces."""

from __future__ import annotations

import random

from offchain.engine.core import Engine, ProtocolAbort
from offchain.exceptions import TransportError
from offchain.hazmat.field import Field, Vec
from offchain.mining.stats import (
    MAX_ROWS,
    LocalAggregates,
    StatsLayout,
    input_width,
    local_aggregates,
    plain_stats,
    secure_stats,
)
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties, sigma_sum

# two numeric columns (one with negative values), two category columns and their table
LAYOUT = StatsLayout(numeric=((-50, 50), (0, 1000)), categories=(2, 3), tables=((0, 1),))


def rows(seed: int, n: int) -> tuple[list[list[int]], list[list[int]]]:
    rng = random.Random(seed)
    numeric = [[rng.randint(lo, hi) for _ in range(n)] for lo, hi in LAYOUT.numeric]
    cats = [[rng.randrange(size) for _ in range(n)] for size in LAYOUT.categories]
    return numeric, cats


def run(field: Field, local: list[LocalAggregates], engines=None):  # type: ignore[no-untyped-def]
    orgs = len(local)
    needs = count_needs(lambda e: secure_stats(e, LAYOUT, None, orgs), orgs, field)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            (out,) = secure_stats(e, LAYOUT, local[e.index], orgs)
        except ProtocolAbort as exc:
            return str(exc)
        cp = chain_checkpoint(e)
        return reveal(out)[0], cp

    return run_parties(Dealer(field, orgs).deal(1, needs), job, engines=engines)


def test_secure_statistics_equal_the_plaintext_ones(field) -> None:
    # uneven splits, one org without rows: its neutral min/max must not win
    local = [local_aggregates(LAYOUT, *rows(seed, n)) for seed, n in ((1, 40), (2, 7), (3, 0))]
    results = run(field, local)
    opened = [out for out, _ in results]
    assert opened == [plain_stats(LAYOUT, local)] * 3
    assert len(opened[0]) == LAYOUT.output_length == 1 + 4 * 2 + 5 + 6
    assert sigma_sum([cp for _, cp in results], field) == 0

    numeric = [a + b for a, b in zip(rows(1, 40)[0], rows(2, 7)[0], strict=True)]
    n, s0, q0, lo0, hi0 = opened[0][:5]
    assert (n, s0, q0, lo0, hi0) == (47, sum(numeric[0]), sum(v * v for v in numeric[0]),
                                     min(numeric[0]), max(numeric[0]))  # fmt: skip


def test_extreme_aggregates_at_the_declared_bounds_go_in_exactly() -> None:
    # every org at the top of every declared range: counts of MAX_ROWS, maximal sums
    top = LocalAggregates(tuple(hi for _, hi in LAYOUT.ranges()))
    bottom = LocalAggregates(tuple(lo for lo, _ in LAYOUT.ranges()))
    results = run(M127, [top, bottom])
    assert [out for out, _ in results] == [plain_stats(LAYOUT, [top, bottom])] * 2
    assert results[0][0][0] == MAX_ROWS


class Overclaiming(Engine):
    """An org that bypasses its own range check to claim ``n + 2^24`` rows: in its bounded
    input (its row count first, in 24 bits) it sends 2 in place of the row count's top bit;
    were its aggregates input unchecked, it would send the inflated count itself."""

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        if values is not None and owner == self.index:
            ints = self.field.to_ints(values)
            if count == len(LAYOUT.ranges()):  # the values themselves
                ints[0] += 1 << 24
            else:  # their bits
                ints[input_width(0, MAX_ROWS) - 1] += 2
            values = self.field.from_ints(ints)
        return super().input(values, owner, count)


def test_a_row_count_above_the_maximum_is_refused_by_every_org(field) -> None:
    local = [local_aggregates(LAYOUT, *rows(seed, 5)) for seed in (1, 2, 3)]
    outcomes = run(field, local, engines={1: Overclaiming})
    assert outcomes == ["input of org 1: a value is outside its declared range"] * 3


def test_an_own_aggregate_outside_its_range_is_refused_before_anything_is_sent() -> None:
    too_many = list(local_aggregates(LAYOUT, *rows(1, 5)).values)
    too_many[0] = MAX_ROWS + 1
    local = [LocalAggregates(tuple(too_many)), local_aggregates(LAYOUT, *rows(2, 5))]
    needs = count_needs(lambda e: secure_stats(e, LAYOUT, None, 2), 2, M127)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        before = e.rounds
        try:
            secure_stats(e, LAYOUT, local[e.index], 2)
        except (ValueError, TransportError) as exc:
            return str(exc), e.rounds - before
        return None

    owner, other = run_parties(Dealer(M127, 2).deal(1, needs), job)
    assert owner == ("local aggregate 0 is outside its declared range", 0)
    assert "closed the connection" in other[0]  # the other org learns only that it stopped
