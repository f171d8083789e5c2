"""Secure linear SVM training: the opened model equals the plaintext reference exactly (the
same exact steps on the same grid) and separates separable data; an org cannot input an
out-of-range row count or gradient part: bounded input refuses it at every org."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Field, Vec
from offchain.mining.linear_svm import (
    ROW_F,
    SvmLayout,
    local_gradient,
    plain_linear_svm,
    secure_linear_svm,
)
from offchain.mining.stats import MAX_ROWS, input_width
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties, sigma_sum

LAYOUT = SvmLayout(((-4 << ROW_F, 4 << ROW_F),) * 2, 8, Fraction(0.5), Fraction(0.01))


def points(seed: int, n: int) -> tuple[list[list[int]], list[int]]:
    """Two classes on either side of the line x0 + x1 = 0 (a gap of 0.2)."""
    rng = random.Random(seed)
    rows, labels = [], []
    while len(rows) < n:
        x = [rng.uniform(-3, 3), rng.uniform(-3, 3)]
        if abs(x[0] + x[1]) > 0.2:
            rows.append([round(v * (1 << ROW_F)) for v in x])
            labels.append(1 if x[0] + x[1] > 0 else -1)
    return rows, labels


PARTS = [points(1, 21), points(2, 9), points(3, 14)]


def run(field: Field, parts: list, engines=None):  # type: ignore[no-untyped-def]
    orgs = len(parts)
    needs = count_needs(lambda e: secure_linear_svm(e, LAYOUT, None, None, orgs), orgs, field)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            (out,) = secure_linear_svm(e, LAYOUT, *parts[e.index], orgs)
        except ProtocolAbort as exc:
            return str(exc)
        chain_checkpoint(e)
        return reveal(out)[0]

    return run_parties(Dealer(field, orgs).deal(1, needs), job, engines=engines)


def test_secure_model_equals_the_plaintext_and_separates_the_classes(field: Field) -> None:
    rows = [r for p in PARTS for r in p[0]]
    labels = [y for p in PARTS for y in p[1]]
    expected = plain_linear_svm(LAYOUT, rows, labels)
    assert run(field, PARTS) == [expected] * 3
    b, w, n = expected[0], expected[1:-1], expected[-1]
    assert n == len(rows)
    right = sum((sum(a * x for a, x in zip(w, r, strict=True)) + (b << ROW_F) > 0) == (y > 0)
                for r, y in zip(rows, labels, strict=True))  # fmt: skip
    assert right >= 0.95 * n


class Miscounting(Engine):
    """An org that bypasses its own range check in the first epoch: it sends ``delta`` in
    place of bit ``bit`` of its row count (or, were the aggregates input unchecked, adds
    ``delta << bit`` to the count itself): ``-1`` on a 0 bit, or 2 on the top bit (2^24 rows
    more than an org may hold)."""

    bit, delta = 1, -1  # org 1 has 9 rows: bit 1 is 0

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        size = len(LAYOUT.ranges(True))
        if values is not None and owner == self.index and not getattr(self, "done", False):
            self.done = True
            ints = [self.field.to_signed(v) for v in self.field.to_ints(values)]
            if count == size:  # the values themselves
                ints[0] += self.delta << self.bit
            else:  # their bits
                ints[self.bit] += self.delta
            values = self.field.from_ints(v % self.field.p for v in ints)
        return super().input(values, owner, count)


class Oversized(Miscounting):
    bit, delta = input_width(0, MAX_ROWS) - 1, 2


@pytest.mark.parametrize("cheat", [Miscounting, Oversized], ids=["negative", "oversized"])
def test_an_out_of_range_count_is_refused_by_every_org(cheat: type) -> None:
    outcomes = run(M127, PARTS, engines={1: cheat})
    assert outcomes == ["input of org 1: a value is outside its declared range"] * 3


def test_an_own_gradient_part_out_of_range_is_refused_at_the_owner() -> None:
    # features declared constant 0: a row with x0 = 1 gives a Σ y x0 outside [0, 0]
    rows, labels = [[1, 0]], [1]
    assert local_gradient(rows, labels, (0, [0, 0]))[1] == 1
    layout = SvmLayout(((0, 0), (0, 0)), 1, Fraction(1), Fraction(0))
    with pytest.raises(ValueError, match="local aggregate 2 is outside its declared range"):
        count_needs(lambda e: secure_linear_svm(e, layout, rows, labels, 2), 2, M127)


def test_the_outputs_are_shared_so_the_output_mac_check_is_not_vacuous() -> None:
    # the auditor refuses a checkpoint whose sigma shares are all 0, as a trivially shared
    # (constant) output would give: the model must open through a real sharing
    needs = count_needs(lambda e: secure_linear_svm(e, LAYOUT, None, None, 3), 3, M127)

    def job(e: Engine):  # type: ignore[no-untyped-def]
        assert e.sacrifice(needs.checked_triples, 7) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        (out,) = secure_linear_svm(e, LAYOUT, *PARTS[e.index], 3)
        chain_checkpoint(e)
        (opened,) = e.open(out.shared, label="output")
        return e.field.to_ints(opened), chain_checkpoint(e)

    results = run_parties(Dealer(M127, 3).deal(1, needs), job)
    rows = [r for p in PARTS for r in p[0]]
    labels = [y for p in PARTS for y in p[1]]
    expected = [v % M127.p for v in plain_linear_svm(LAYOUT, rows, labels)]
    assert [o for o, _ in results] == [expected] * 3
    shares = [cp for _, cp in results]
    assert sigma_sum(shares, M127) == 0 and any(s.sigma for s in shares)
