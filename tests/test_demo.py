"""End to end: deploy, three orgs compute with SPDZ, MAC check on-chain, audit.

Runs on the embedded chain and on a real ganache node. Every ``--cheat`` kind must end with
the session aborted on-chain, no result recorded, a message naming what failed, and the audit
failing with the reason.
"""

from __future__ import annotations

import pytest

from chainmpc.job import SumProductJob
from chainmpc.launcher import run_session
from offchain.field import BN254_SCALAR
from onchain.audit import Auditor
from onchain.clients import AbortReason, SessionClient, State
from onchain.connection import connect

INPUTS = [12, -7, 30]
EXPECTED = [35, 12 * -7 * 30]


@pytest.fixture(params=["embedded", "ganache"])
def chain(request):
    if request.param == "embedded":
        return connect(None)
    return connect(request.getfixturevalue("ganache_url"))


def on_chain_state(chain, outcome):
    sessions = SessionClient(chain.w3, outcome.manager)
    return sessions.session(outcome.session).state, sessions.result(outcome.session)


def test_honest_session_is_finalised_with_the_right_result_and_audits(chain) -> None:
    outcome = run_session(chain, SumProductJob(3), INPUTS)
    assert outcome.abort is None
    assert outcome.result == EXPECTED
    state, result = on_chain_state(chain, outcome)
    assert state == State.FINALISED
    assert result == [v % BN254_SCALAR for v in EXPECTED]  # recorded as field elements
    assert outcome.audit is not None and outcome.audit.passed, outcome.audit.failures()
    # An auditor with nothing but the chain and the consortium address reaches the same verdict.
    report = Auditor(chain.w3, outcome.consortium).audit(outcome.session)
    assert report.passed and report.result == outcome.audit.result
    # Gas per session does not grow with data: every phase is a bounded number of transactions.
    assert {p.name for p in outcome.phases} >= {"preprocess", "sacrifice check", "MAC check"}


CHEATS = {
    # kind: (abort reason, culprit is the cheating org, words the message must contain)
    "share": (AbortReason.MAC_CHECK_FAILED, False, "MAC check failed"),
    "mac": (AbortReason.MAC_CHECK_FAILED, False, "MAC check failed"),
    "triple": (AbortReason.PARTICIPANT_ABORT, False, "sacrifice check failed"),
    "sigma": (AbortReason.SIGMA_MISMATCH, True, "org2 revealed a MAC-check share"),
    "digest": (AbortReason.DIGEST_MISMATCH, False, "digests disagree"),
}


@pytest.mark.parametrize("kind", sorted(CHEATS))
def test_every_cheat_aborts_on_chain_with_no_result(chain, kind: str) -> None:
    reason, attributable, words = CHEATS[kind]
    outcome = run_session(chain, SumProductJob(3), INPUTS, cheat=kind, cheater=1)
    assert outcome.result is None and not outcome.ok
    assert outcome.abort is not None and outcome.abort.reason == reason
    assert words in outcome.message
    state, result = on_chain_state(chain, outcome)
    assert state == State.ABORTED and result == []
    if attributable:
        cheater = outcome_address(chain, outcome, 1)
        assert outcome.abort.culprit == cheater
    report = Auditor(chain.w3, outcome.consortium).audit(outcome.session)
    assert not report.passed
    assert any(
        c.name == "session not aborted" and reason.name in c.detail for c in report.failures()
    )


def outcome_address(chain, outcome, index: int) -> str:
    return SessionClient(chain.w3, outcome.manager).session(outcome.session).participants[index]


def test_two_and_five_orgs() -> None:
    chain = connect(None)
    for inputs in ([-3, 9], [1, 2, 3, 4, -5]):
        outcome = run_session(chain, SumProductJob(len(inputs)), inputs)
        assert outcome.ok and outcome.result == SumProductJob(len(inputs)).expected(inputs)
