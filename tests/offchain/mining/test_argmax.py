"""Equality, maximum and argmax (with a custom order) against plaintext."""

from __future__ import annotations

import random

import pytest

from offchain.engine.core import Engine
from offchain.mining.argmax import argmax, maximum
from offchain.sectypes.array import reveal, secret_input_unchecked
from tests.helpers.harness import chain_checkpoint, deal, prepare, run_parties, sigma_sum

T = 31337
LO, HI = -(2**31), 2**31 - 1


def test_equality_edge_and_random_values(field) -> None:
    rng = random.Random(3)
    a_vals = [0, 1, -1, HI, LO, 5, 5, LO, HI] + [rng.randint(LO, HI) for _ in range(20)]
    b_vals = [0, 1, 1, HI, HI, 5, -5, LO, LO] + [
        a if k % 2 else rng.randint(LO, HI) for k, a in enumerate(a_vals[9:])
    ]
    n = len(a_vals)

    def job(e: Engine):
        prepare(e, 2 * 31 * n)
        a = secret_input_unchecked(e, a_vals if e.index == 0 else None, 0, n)
        b = secret_input_unchecked(e, b_vals if e.index == 1 else None, 1, n)
        before = e.rounds
        eq = a == b
        rounds = e.rounds - before
        ne = a != b
        cp = chain_checkpoint(e)
        return reveal(eq, ne), rounds, cp

    results = run_parties(deal(2, 2 * 31 * n, masks_per_org=n, field=field, edabits=2 * n), job)
    (eq, ne), rounds, _ = results[0]
    assert eq == [int(x == y) for x, y in zip(a_vals, b_vals, strict=True)]
    assert ne == [int(x != y) for x, y in zip(a_vals, b_vals, strict=True)]
    assert rounds == 6
    assert sigma_sum([cp for _, _, cp in results], field) == 0


def run_argmax(field, values: list[int], dens: list[int] | None = None):
    n = len(values)

    def job(e: Engine):
        prepare(e, 400 * n)
        v = secret_input_unchecked(e, values if e.index == 0 else None, 0, n)
        if dens is None:
            (best,), idx = argmax(v)
            top = maximum(v)
            cp = chain_checkpoint(e)
            return reveal(best, idx, top), cp
        d = secret_input_unchecked(e, dens if e.index == 1 else None, 1, n)
        (num, den), idx = argmax((v, d), less=lambda a, b: a[0] * b[1] < b[0] * a[1])
        cp = chain_checkpoint(e)
        return reveal(num, den, idx), cp

    mats = deal(2, 400 * n, masks_per_org=n, field=field, edabits=2 * n)
    results = run_parties(mats, job)
    assert sigma_sum([cp for _, cp in results], field) == 0
    return results[0][0]


@pytest.mark.parametrize("values", [[7], [3, 9], [5, -2, 11, 11, 0], [-4, -9, -1, -30, -1, -8, -2]])
def test_argmax_matches_plaintext(field, values: list[int]) -> None:
    best, idx, top = run_argmax(field, values)
    assert best == top == [max(values)]
    assert idx == [values.index(max(values))]  # ties go to the lower index


def test_argmax_of_fractions_by_cross_multiplication(field) -> None:
    nums, dens = [1, 2, 3, 5, 7], [3, 5, 7, 11, 17]  # 1/3, 2/5, 3/7, 5/11, 7/17
    num, den, idx = run_argmax(field, nums, dens)
    k = max(range(5), key=lambda i: nums[i] / dens[i])
    assert (num, den, idx) == ([nums[k]], [dens[k]], [k])
