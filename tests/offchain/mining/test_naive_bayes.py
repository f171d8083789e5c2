"""Secure Naive Bayes counting: the opened totals equal the plaintext ones, also at the edges
of every range (so packing never carries), and an org cannot input a negative or oversized
count: bounded input refuses it at every org."""

from __future__ import annotations

import random

import pytest

from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Field, Vec
from offchain.mining.naive_bayes import (
    NaiveBayesLayout,
    local_counts,
    plain_naive_bayes,
    secure_naive_bayes,
)
from offchain.mining.stats import MAX_ROWS, input_width
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties, sigma_sum

CATEGORICAL = NaiveBayesLayout("categorical", 3, categories=(2, 4))
GAUSSIAN = NaiveBayesLayout("gaussian", 2, numeric=((-50, 50), (0, 1 << 20)))


def rows(layout: NaiveBayesLayout, seed: int, n: int, classes: range | None = None):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    target = [rng.choice(classes or range(layout.classes)) for _ in range(n)]
    cats = [[rng.randrange(size) for _ in range(n)] for size in layout.categories]
    nums = [[rng.randint(lo, hi) for _ in range(n)] for lo, hi in layout.numeric]
    return target, cats + nums


def run(layout: NaiveBayesLayout, field: Field, local: list, engines=None):  # type: ignore[no-untyped-def]
    orgs = len(local)
    needs = count_needs(lambda e: secure_naive_bayes(e, layout, None, orgs), orgs, field)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            (out,) = secure_naive_bayes(e, layout, local[e.index], orgs)
        except ProtocolAbort as exc:
            return str(exc)
        cp = chain_checkpoint(e)
        return layout.unpack(reveal(out)[0], orgs), cp

    return run_parties(Dealer(field, orgs).deal(1, needs), job, engines=engines)


@pytest.mark.parametrize("layout", [CATEGORICAL, GAUSSIAN], ids=["categorical", "gaussian"])
def test_secure_totals_equal_the_plaintext_ones(field: Field, layout: NaiveBayesLayout) -> None:
    parts = [rows(layout, seed, n) for seed, n in ((1, 30), (2, 9), (3, 0))]
    local = [local_counts(layout, *p) for p in parts]
    results = run(layout, field, local)
    union_target = [c for t, _ in parts for c in t]
    union_cols = [[v for _, cols in parts for v in cols[j]] for j in range(len(parts[0][1]))]
    assert [t for t, _ in results] == [plain_naive_bayes(layout, union_target, union_cols)] * 3
    assert sigma_sum([cp for _, cp in results], field) == 0


def test_aggregates_at_both_ends_of_their_ranges_go_in_and_come_out_exactly() -> None:
    # every org at the top (or bottom) of every range: the widest totals packing must hold
    for layout in (CATEGORICAL, GAUSSIAN):
        top = tuple(hi for _, hi in layout.ranges())
        bottom = tuple(lo for lo, _ in layout.ranges())
        results = run(layout, M127, [top, top, bottom])
        expected = [2 * h + lo for h, lo in zip(top, bottom, strict=True)]
        assert [t for t, _ in results] == [expected] * 3


class Miscounting(Engine):
    """An org that bypasses its own range check: in its bounded input it sends ``delta`` in
    place of bit ``bit`` of its first class count (or, were the counts input unchecked, adds
    ``delta << bit`` to the count itself). ``delta = -1`` on a zero count claims -1 rows;
    ``delta = 2`` on the top bit claims 2^24 rows more than it has."""

    layout = CATEGORICAL
    bit, delta = 0, -1

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        if values is not None and owner == self.index:
            ints = [self.field.to_signed(v) for v in self.field.to_ints(values)]
            if count == self.layout.size:  # the values themselves
                ints[0] += self.delta << self.bit
            else:  # their bits
                ints[self.bit] += self.delta
            values = self.field.from_ints(v % self.field.p for v in ints)
        return super().input(values, owner, count)


class Oversized(Miscounting):
    bit, delta = input_width(0, MAX_ROWS) - 1, 2


@pytest.mark.parametrize("cheat", [Miscounting, Oversized], ids=["negative", "oversized"])
def test_a_negative_or_oversized_count_is_refused_by_every_org(field: Field, cheat: type) -> None:
    # org 1 has no row of class 0, so its first count is 0 and its lowest bit 0
    parts = [rows(CATEGORICAL, 1, 8), rows(CATEGORICAL, 2, 8, range(1, 3)), rows(CATEGORICAL, 3, 8)]
    local = [local_counts(CATEGORICAL, *p) for p in parts]
    assert local[1][0] == 0
    outcomes = run(CATEGORICAL, field, local, engines={1: cheat})
    assert outcomes == ["input of org 1: a value is outside its declared range"] * 3


def test_an_own_count_outside_its_range_is_refused_at_the_owner() -> None:
    layout = CATEGORICAL
    bad = (MAX_ROWS + 1,) + local_counts(layout, *rows(layout, 1, 4))[1:]
    with pytest.raises(ValueError, match="local aggregate 0 is outside its declared range"):
        count_needs(lambda e: secure_naive_bayes(e, layout, bad, 2), 2, M127)
