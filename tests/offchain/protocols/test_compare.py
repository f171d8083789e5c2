"""Secure comparison against plaintext: edge cases, random values, rounds, tampering."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainmpc.faults import CheatingDealer
from offchain.engine.core import Engine, ProtocolAbort
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import edabit_key
from offchain.preprocessing.material import MaterialError, Needs
from offchain.protocols.bitdecomp import triples_for as bit_triples
from offchain.protocols.compare import triples_for
from offchain.sectypes.array import reveal, secret_input_unchecked
from tests.helpers.harness import (
    FIELDS,
    MASK_SEED,
    chain_checkpoint,
    deal,
    prepare,
    run_parties,
    sigma_sum,
    tampering,
)

T = 987654321
LO, HI = -(2**31), 2**31 - 1
EDGE = [0, 1, -1, HI, LO, HI - 1, LO + 1, 12345, -12345]


def compare(field, a_vals: list[int], b_vals: list[int], engines=None):
    """``<, >, <=, >=`` at three orgs; the MAC check before the reveal is an on-chain checkpoint
    (simulated). Returns per org: the opened results (or why the reveal was refused), the
    rounds of ``<`` and the checkpoint share."""
    n = len(a_vals)
    per_lt = triples_for(32)

    def job(e: Engine):
        prepare(e, 4 * per_lt * n)
        a = secret_input_unchecked(e, a_vals if e.index == 0 else None, 0, n)
        b = secret_input_unchecked(e, b_vals if e.index == 1 else None, 1, n)
        before = e.rounds
        lt = a < b
        rounds = e.rounds - before
        gt, le, ge = a > b, a <= b, a >= b
        cp = chain_checkpoint(e)
        try:
            return reveal(lt, gt, le, ge), rounds, cp
        except ProtocolAbort as exc:
            return str(exc), rounds, cp

    mats = deal(3, 4 * per_lt * n, masks_per_org=n, field=field, edabits=4 * n, k=32)
    return run_parties(mats, job, engines=engines)


def test_comparisons_on_edge_cases(field) -> None:
    pairs = [(a, b) for a in EDGE for b in EDGE]
    a_vals, b_vals = [p[0] for p in pairs], [p[1] for p in pairs]
    results = compare(field, a_vals, b_vals)
    (lt, gt, le, ge), rounds, _ = results[0]
    assert lt == [int(a < b) for a, b in pairs]
    assert gt == [int(a > b) for a, b in pairs]
    assert le == [int(a <= b) for a, b in pairs]
    assert ge == [int(a >= b) for a, b in pairs]
    assert rounds == 6  # one masked opening + log2(32) carry levels, all elements together
    assert sigma_sum([cp for _, _, cp in results], field) == 0


def test_comparisons_on_random_values(field) -> None:
    rng = random.Random(7)
    a_vals = [rng.randint(LO, HI) for _ in range(200)]
    b_vals = [rng.choice([a, a + 1, a - 1, rng.randint(LO, HI)]) for a in a_vals]
    b_vals = [min(max(b, LO), HI) for b in b_vals]
    (lt, gt, _, _), _, _ = compare(field, a_vals, b_vals)[0]
    assert lt == [int(a < b) for a, b in zip(a_vals, b_vals, strict=True)]
    assert gt == [int(a > b) for a, b in zip(a_vals, b_vals, strict=True)]


def test_tampering_inside_a_comparison_fails_the_mac_check(field) -> None:
    results = compare(field, [1, 2, 3], [3, 2, 1], engines={2: tampering("share")})
    assert sigma_sum([cp for _, _, cp in results], field) != 0
    assert all("checkpoint 0 has not been confirmed" in out for out, _, _ in results)


def test_if_else_and_public_operands(field) -> None:
    def job(e: Engine):
        prepare(e, 400)
        a = secret_input_unchecked(e, [5, -9, 0] if e.index == 0 else None, 0, 3)
        b = secret_input_unchecked(e, [2, 4, 0] if e.index == 1 else None, 1, 3)
        c = a < b
        chosen = c.if_else(a, b)  # elementwise min
        public = c.if_else(100, -100)
        below = a < 1
        e.check_between_peers()
        return reveal(chosen, public, below)

    mats = deal(2, 400, masks_per_org=3, field=field, edabits=6)
    opened = run_parties(mats, job)[0]
    assert opened == [[2, -9, 0], [-100, 100, -100], [0, 1, 1]]


def test_edabits_must_match_the_width(field) -> None:
    def job(e: Engine):
        prepare(e, 100)
        x = secret_input_unchecked(e, [1] if e.index == 0 else None, 0, 1, bits=16)
        with pytest.raises(MaterialError, match="no edaBits for 16 bits were dealt"):
            _ = x < x
        return True

    assert run_parties(deal(2, 100, field=field, edabits=1), job) == [True, True]


def test_narrow_field_refuses_wide_comparisons() -> None:
    from offchain.preprocessing.widths import mask_bits_for

    with pytest.raises(ProtocolAbort, match="too small"):
        mask_bits_for(64, 100)
    assert mask_bits_for(32, 127) >= 33 + 40


def test_bit_decomposition_gives_twos_complement(field) -> None:
    values = [0, 1, -1, 5, -6, HI, LO, 123456789, -987654321]
    n = len(values)

    def job(e: Engine):
        prepare(e, bit_triples(32) * n)
        x = secret_input_unchecked(e, values if e.index == 0 else None, 0, n)
        before = e.rounds
        bits = x.to_bits()
        rounds = e.rounds - before
        cp = chain_checkpoint(e)
        return reveal(bits), bits.shape, rounds, cp

    results = run_parties(
        deal(2, bit_triples(32) * n, masks_per_org=n, field=field, edabits=n), job
    )
    (bits,), shape, rounds, _ = results[0]
    assert shape == (n, 32)
    for j, v in enumerate(values):
        assert bits[32 * j : 32 * (j + 1)] == [(v >> i) & 1 for i in range(32)]
    assert rounds == 7  # open + log2(32) prefix levels + final XOR
    assert sigma_sum([cp for *_, cp in results], field) == 0


@settings(max_examples=4, deadline=None)
@given(st.lists(st.tuples(st.integers(LO, HI), st.integers(LO, HI)), min_size=1, max_size=12))
def test_comparison_property(pairs: list[tuple[int, int]]) -> None:
    field = FIELDS["m127"]
    a_vals, b_vals = [p[0] for p in pairs], [p[1] for p in pairs]
    (lt, gt, le, ge), _, _ = compare(field, a_vals, b_vals)[0]
    assert lt == [int(a < b) for a, b in pairs] and ge == [int(a >= b) for a, b in pairs]
    assert gt == [int(a > b) for a, b in pairs] and le == [int(a <= b) for a, b in pairs]


def test_inputs_outside_the_declared_width_are_refused(field) -> None:
    def job(e: Engine):
        with pytest.raises(ValueError, match="outside the int32 range"):
            secret_input_unchecked(e, [HI + 1] if e.index == 0 else None, 0, 1)
        return True

    # Refused at the owner before anything is sent; the other org never starts the round.
    mats = deal(1, 0, field=field)
    assert run_parties(mats, job) == [True]


def test_a_dealt_non_bit_is_caught_before_use(field) -> None:
    """A dealer that deals a mask "bit" of 2 (which would skew comparisons) fails the bit
    check; the MAC check passes, so the evidence is against the dealer, not an org."""
    needs = Needs(0, (1, 1), {edabit_key(32, field.bits): 3})

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, T) == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        x = secret_input_unchecked(e, [1] if e.index == 0 else None, 0, 1)
        with pytest.raises(ProtocolAbort, match="only after check_bits"):
            _ = x < 2
        return e.check_bits(), e.checkpoint(0)

    honest = run_parties(Dealer(field, 2).deal(1, needs), job)
    assert [failed for failed, _ in honest] == [0, 0]
    cheat = run_parties(CheatingDealer(field, 2, corrupt_bit=40).deal(1, needs), job)
    assert [failed for failed, _ in cheat] == [1, 1]
    assert sigma_sum([cp for _, cp in cheat], field) == 0


def test_mask_bits_wait_for_the_mac_check_that_covers_their_check(field) -> None:
    needs = Needs(triples_for(32), (1, 1), {edabit_key(32, field.bits): 1})

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, T) == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()  # covers the sacrifice and the mask check, not the bit check
        assert e.check_bits() == 0
        x = secret_input_unchecked(e, [1] if e.index == 0 else None, 0, 1)
        with pytest.raises(ProtocolAbort, match="MAC check covering check_bits"):
            _ = x < 2
        e.check_between_peers()
        smaller = x < 2
        e.check_between_peers()
        return reveal(smaller)

    assert run_parties(Dealer(field, 2).deal(1, needs), job) == [[[1]], [[1]]]
