"""Attacks on the randomness that tests something: it must be derived after what it tests.

An org that can predict the MAC check's coefficients ``rho`` adds two errors to its opened
shares that cancel in ``sum rho_j e_j``: every MAC check passes and the result is wrong. A
dealer that can predict the sacrifice challenge ``t`` corrupts a triple and its partner so that
``t * delta_c - delta_h = 0``. Each attack here predicts the randomness the way a weakened
implementation would derive it; the real one derives it from what it tests, so each is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chainmpc.exceptions import SessionAborted
from chainmpc.faults import corrupt_triple
from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.launcher import Roles
from offchain.engine.core import Engine
from offchain.engine.transcript import challenge
from offchain.hazmat.field import Vec
from offchain.hazmat.shares import Shared
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import secret_input_unchecked
from onchain.clients import AbortClaim
from onchain.connection import connect
from tests.helpers.harness import chain_checkpoint, deal, prepare, run_parties, sigma_sum
from tests.helpers.lockstep import Lockstep

Predict = Callable[[Engine], bytes]


def without_the_digest(e: Engine) -> bytes:
    """Coefficients as if they did not depend on the transcript digest."""
    return b"chainmpc/mac-check" + e.session_tag + e.next_checkpoint.to_bytes(4, "big")


def from_the_digest_before_the_opening(e: Engine) -> bytes:
    """Coefficients as if the attacker's own opening did not enter the transcript."""
    return without_the_digest(e) + e.transcript.digest()


def compensating(predict: Predict) -> Callable[..., Engine]:
    class Compensating(Engine):
        """Adds ``1`` and ``-rho_0 / rho_1`` to its shares of the first two values of its
        first Beaver opening, ``rho`` as ``predict`` says the next checkpoint draws it."""

        done = False

        def open(self, *shared: Shared, label: str) -> list[Vec]:
            if self.done or label != "mul":
                return super().open(*shared, label=label)
            self.done = True
            f = self.field
            whole = Shared.concat(shared)
            offset = self.pending
            rho = f.to_ints(f.from_seed(predict(self), offset + len(whole)))
            e1, e2 = 1, (-rho[offset] * pow(rho[offset + 1], -1, f.p)) % f.p
            errors = [e1, e2] + [0] * (len(whole) - 2)
            bumped = Shared(f.add(whole.x, f.from_ints(errors)), whole.m)
            parts, start = [], 0
            for s in shared:
                parts.append(bumped[start : start + len(s)])
                start += len(s)
            return super().open(*parts, label=label)

    return Compensating


def product_job(e: Engine):
    prepare(e, 2, 4242)
    x = secret_input_unchecked(e, [3, 5] if e.index == 0 else None, 0, 2)
    y = secret_input_unchecked(e, [7, 11] if e.index == 1 else None, 1, 2)
    _ = x * y  # one Beaver round: d (2 values) and e (2 values) opened together
    return chain_checkpoint(e)


@pytest.mark.parametrize("predict", [without_the_digest, from_the_digest_before_the_opening])
def test_compensating_errors_fail_the_mac_check(field, predict: Predict) -> None:
    materials = deal(3, 2, masks_per_org=2, field=field)
    shares = run_parties(materials, product_job, engines={1: compensating(predict)})
    assert sigma_sum(shares, field) != 0


class PredictingDealer(Dealer):
    """A service that predicts the sacrifice challenge from the public session tag alone and
    corrupts triple 0 and its partner so that ``t * delta_c - delta_h = 0``."""

    tag = b""

    def deal(self, session, needs):  # type: ignore[no-untyped-def]
        materials = super().deal(session, needs)
        (t,) = challenge(self.field.p, self.tag, b"sacrifice", count=1)
        corrupt_triple(materials, 0, 1)
        return corrupt_triple(materials, 1, t)


def test_a_dealer_cannot_predict_the_sacrifice_challenge(tmp_path: Path) -> None:
    run = Lockstep(
        connect(None),
        SumProductJob.in_memory([2, 3, 4]),
        [2, 3, 4],
        Roles(),
        tmp_path,
        lambda _: None,
    )
    run.setup()
    run.open_session()
    run.accept()
    PredictingDealer.tag = run.peers[0].tag
    run.roles = Roles(dealer=PredictingDealer)
    run.preprocessing()
    with pytest.raises(SessionAborted):
        run.sacrifice()
    assert run.sessions.abort_info(run.session).claim == AbortClaim.SACRIFICE_FAILED
    for p in run.peers:
        p.close()
