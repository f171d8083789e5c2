"""Counting what a job consumes matches what a real run takes, to the item."""

from __future__ import annotations

from dataclasses import replace

from offchain.engine.core import Engine
from offchain.mining.argmax import argmax
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import edabit_key
from offchain.preprocessing.material import MaterialError
from offchain.protocols.compare import triples_for
from offchain.sectypes.array import SecretArray, reveal, secret_input
from tests.helpers.harness import FIELDS, MASK_SEED, chain_checkpoint, run_parties, sigma_sum

FIELD = FIELDS["m127"]
EDA32 = edabit_key(32, FIELD.bits)


def program(e: Engine) -> list[SecretArray]:
    a = secret_input(e, [3, -1, 7, 7] if e.index == 0 else None, 0, 4)
    b = secret_input(e, [2, 5, -4, 9] if e.index == 1 else None, 1, 4)
    c = secret_input(e, [1] if e.index == 2 else None, 2, 1)
    smaller = a < b
    prod = a * b
    (best,), idx = argmax(prod)
    return [smaller, prod, best, idx, c * c]


def test_counted_needs_are_exactly_what_a_real_run_consumes() -> None:
    needs = count_needs(program, 3, FIELD)
    # 4 comparisons and 3 tournament comparisons; 4 + 1 + 3 (selection, 2 fields) multiplications;
    # bounded inputs: 32 bit inputs and 32 bit-test triples per value (9 values)
    assert needs.masks == (4 * 32, 4 * 32, 32)  # the job's; the check masks are the dealer's
    assert needs.dealt_masks == (4 * 32 + 1, 4 * 32 + 1, 33)
    assert needs.items == ((EDA32, 4 + 3),)  # one width, no truncation pairs
    assert needs.triples == triples_for(32) * 7 + 4 + 1 + 2 * 3 + 9 * 32

    def real(e: Engine):
        assert e.sacrifice(needs.checked_triples, 12345) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        outputs = program(e)
        cp = chain_checkpoint(e)
        out = reveal(*outputs)
        with_nothing_left = [
            e.material.remaining_triples,
            e.checked_left,  # checked triples not used by the job
            *(len(e.material.masks[o]) - e.material._cursor(f"masks/{o}").used for o in range(3)),
            e.material.remaining(EDA32),
        ]
        return out, with_nothing_left, cp

    materials = Dealer(FIELD, 3).deal(1, needs)
    results = run_parties(materials, real)
    out, left, _ = results[0]
    assert out == [[0, 1, 0, 1], [6, -5, -28, 63], [63], [3], [1]]
    assert left == [0, 0, 0, 0, 0, 0]  # dealt exactly what was consumed
    assert sigma_sum([cp for *_, cp in results], FIELD) == 0


def test_one_item_short_is_refused() -> None:
    needs = count_needs(program, 3, FIELD)
    short_needs = replace(needs, items={EDA32: needs.count(EDA32) - 1})
    short = Dealer(FIELD, 3).deal(1, short_needs)

    def real(e: Engine):
        e.sacrifice(short_needs.checked_triples, 1)
        e.check_bits()
        e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            program(e)
        except MaterialError as exc:
            return str(exc)
        return "ran"

    assert all("edaBits" in r for r in run_parties(short, real))


def test_an_empty_comparison_does_not_change_the_counted_width() -> None:
    def prog(e: Engine) -> None:
        a = secret_input(e, None, 0, 3)
        _ = a < a  # 32-bit
        empty = SecretArray(e, a.shared[0:0], bits=16)
        _ = empty < empty  # nothing compared, at another width
        flag = a < a
        _ = flag < a  # a 1-bit result against 32-bit values compares at 32 bits

    needs = count_needs(prog, 2, FIELD)
    assert needs.items == ((EDA32, 9),)


def test_counting_follows_the_reveal_rule() -> None:
    """A program that reveals mid-way (to steer) MAC-checks first; the dry run passes it."""

    def prog(e: Engine) -> None:
        a = secret_input(e, None, 0, 2)
        flag = a < a
        e.check_between_peers()
        reveal(flag)
        _ = a * a

    needs = count_needs(prog, 2, FIELD)
    bounded = 2 * 32  # two bounded 32-bit inputs: their bits, and one bit-test triple per bit
    assert (needs.masks, needs.items) == ((bounded, 0), ((EDA32, 2),))
    assert needs.triples == 2 * triples_for(32) + 2 + bounded
