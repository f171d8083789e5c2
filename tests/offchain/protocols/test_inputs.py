"""Bounded input: a malicious owner cannot input a value outside its declared range.

Before bounded input, an org could share ``2^200`` as an "int32": the session finalised a
result no int32 inputs could give with the audit passing, and in a fixed-point product the
truncation's masked opening showed the honest factor in its high bits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.launcher import Roles, run_session
from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Vec
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.protocols.inputs import input_bounded
from offchain.sectypes.array import reveal, secret_input, secret_input_widths
from onchain.clients import AbortClaim, AbortReason
from onchain.connection import connect
from tests.helpers.harness import MASK_SEED, run_parties

EDGES = [-(2**31), -1, 0, 1, 2**31 - 1]


def program(e: Engine):
    x = secret_input(e, EDGES if e.index == 0 else None, 0, len(EDGES))
    y = secret_input(e, [7] if e.index == 1 else None, 1, 1)
    return x, y


def run(field, engines=None):  # type: ignore[no-untyped-def]
    needs = count_needs(program, 2, field)

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 99) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        try:
            x, y = program(e)
        except ProtocolAbort as exc:
            return str(exc)
        return reveal(x, y)

    return run_parties(Dealer(field, 2).deal(1, needs), job, engines=engines)


def test_values_at_the_edges_of_the_range_go_in_exactly(field) -> None:
    assert run(field) == [[EDGES, [7]]] * 2


class OutOfRange(Engine):
    """An owner that sends, in place of its first input's first bit, a huge value."""

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        if values is not None and owner == self.index:
            ints = self.field.to_ints(values)
            values = self.field.from_ints([2**200, *ints[1:]])
        return super().input(values, owner, count)


def test_an_out_of_range_input_is_refused_by_every_org(field) -> None:
    outcomes = run(field, engines={0: OutOfRange})
    assert all("input of org 0: a value is outside the int32 range" in o for o in outcomes)


class OutOfRangeAndHidden(OutOfRange):
    """The same owner, also cancelling the range test's opening with its own share (it knows
    every bit it sent, so it knows the test value): only the MAC check can catch it."""

    def input(self, values: Vec | None, owner: int, count: int):  # type: ignore[no-untyped-def]
        if values is not None and owner == self.index:
            self.sent = [2**200, *self.field.to_ints(values)[1:]]
        return super().input(values, owner, count)

    def open(self, *shared, label: str):  # type: ignore[no-untyped-def]
        if label == f"input-range/{self.index}":
            f = self.field
            seed = f"chainmpc/{label}".encode() + self.session_tag + self.transcript.digest()
            rho = f.to_ints(f.from_seed(seed, len(self.sent)))
            w = sum(r * (b * b - b) for r, b in zip(rho, self.sent, strict=True)) % f.p
            (s,) = shared
            shared = (type(s)(f.sub(s.x, f.from_ints([w])), s.m),)
        return super().open(*shared, label=label)


def test_a_hidden_out_of_range_input_fails_the_mac_check_before_it_is_used(field) -> None:
    outcomes = run(field, engines={0: OutOfRangeAndHidden})
    assert all("MAC check failed at peer check" in o for o in outcomes), outcomes


def test_the_owner_refuses_its_own_out_of_range_value(field) -> None:
    def job(e: Engine):
        with pytest.raises(ProtocolAbort, match="outside the int8 range"):
            input_bounded(e, field.from_ints([128]), 0, 1, 8)  # refused before anything is sent
        return e.rounds

    needs = count_needs(lambda e: None, 1, field)
    assert run_parties(Dealer(field, 1).deal(1, needs), job) == [0]


def test_a_session_with_an_out_of_range_input_finalises_nothing(tmp_path: Path) -> None:
    roles = Roles(engine=lambda org: OutOfRange if org == 1 else Engine)
    outcome = run_session(
        connect(None), SumProductJob.in_memory([1, 2, 3]), roles, workdir=tmp_path
    )
    assert outcome.result is None and outcome.abort is not None
    assert outcome.abort.reason == AbortReason.PARTICIPANT_ABORT
    assert outcome.abort.claim == AbortClaim.PROTOCOL_ERROR
    assert any("input of org 1: a value is outside the int32 range" in e for e in outcome.errors)


WIDTHS = [3, 24, 1, 3, 70, 24]  # several widths in one input, interleaved
MIXED = [-4, 2**23 - 1, 0, 3, -(2**69), -(2**23)]  # each at an edge of its own range


def mixed_program(e: Engine):
    return secret_input_widths(e, MIXED if e.index == 0 else None, 0, WIDTHS)


def test_values_of_several_widths_go_in_exactly_in_one_bounded_input(field) -> None:
    needs = count_needs(mixed_program, 2, field)
    assert needs.masks == (sum(WIDTHS), 0) and needs.triples == sum(WIDTHS)

    def job(e: Engine):
        prepare_session(e, needs)
        before = e.rounds
        x = mixed_program(e)
        rounds = e.rounds - before
        return reveal(x), rounds

    assert run_parties(Dealer(field, 2).deal(1, needs), job) == [([MIXED], 5)] * 2


def test_a_value_outside_its_own_width_is_refused_by_every_org(field) -> None:
    """The owner sends 2 for the top bit of its 3-bit value: in range for any wider value."""

    class Cheat(Engine):
        def input(self, values, owner, count):  # type: ignore[no-untyped-def]
            if values is not None:
                ints = self.field.to_ints(values)
                ints[WIDTHS[0] - 1] = 2
                values = self.field.from_ints(ints)
            return super().input(values, owner, count)

    needs = count_needs(mixed_program, 2, field)

    def job(e: Engine):
        prepare_session(e, needs)
        with pytest.raises(ProtocolAbort) as caught:
            mixed_program(e)
        return str(caught.value)

    outcomes = run_parties(Dealer(field, 2).deal(1, needs), job, engines={0: Cheat})
    assert outcomes == ["input of org 0: a value is outside its declared range"] * 2


def prepare_session(e: Engine, needs) -> None:  # type: ignore[no-untyped-def]
    assert e.sacrifice(needs.checked_triples, 99) == 0
    assert e.check_bits() == 0
    assert e.check_masks(MASK_SEED)
    e.check_between_peers()
