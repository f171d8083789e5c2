"""End to end: deploy, three orgs compute with SPDZ, MAC check on-chain, audit.

Runs on the embedded chain and on a real ganache node. Every ``--cheat`` kind must end with
the session aborted on-chain, no result recorded, a message naming what failed, and the audit
failing with the reason.
"""

from __future__ import annotations

import pytest

from chainmpc.cheats import roles_for
from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.launcher import run_session
from offchain.hazmat.field import BN254_SCALAR
from onchain.audit import Auditor
from onchain.clients import AbortClaim, AbortReason, SessionClient, State
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


def test_honest_session_is_finalised_with_the_right_result_and_audits(chain, tmp_path) -> None:
    outcome = run_session(chain, SumProductJob.in_memory(INPUTS), workdir=tmp_path)
    assert not list(tmp_path.rglob("*.key"))  # the service's key is not left behind
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
    # kind: (abort reason, claim, the org named (culprit or claimant), words in the message)
    "share": (AbortReason.MAC_CHECK_FAILED, AbortClaim.NONE, None, "MAC check failed"),
    "mac": (AbortReason.MAC_CHECK_FAILED, AbortClaim.NONE, None, "MAC check failed"),
    # Every org sees the failed sacrifice and posts it; whichever is mined first is recorded.
    "triple": (
        AbortReason.PARTICIPANT_ABORT,
        AbortClaim.SACRIFICE_FAILED,
        None,
        "aborted the session, claiming: the sacrifice check",
    ),
    # Only the victim can tell its clear masks are wrong: org2 aborts, before any input.
    "mask": (
        AbortReason.PARTICIPANT_ABORT,
        AbortClaim.MASK_CHECK_FAILED,
        1,
        "org2 aborted the session, claiming: its clear input masks do not match",
    ),
    "sigma": (
        AbortReason.SIGMA_MISMATCH,
        AbortClaim.NONE,
        1,
        "org2 revealed a MAC-check share that does not match its commitment (proof against org2)",
    ),
    "digest": (AbortReason.DIGEST_MISMATCH, AbortClaim.NONE, None, "digests disagree"),
    "output": (AbortReason.MAC_CHECK_FAILED, AbortClaim.NONE, None, "checkpoint 2: MAC check"),
}


#: The cheats also run on ganache: the service's (there it is its own `preprocess deal`
#: process) and one org's.
ON_GANACHE = ("triple", "mask", "sigma")


@pytest.mark.parametrize("kind", sorted(CHEATS))
def test_every_cheat_aborts_on_chain_with_no_result(chain, kind: str, request) -> None:
    if request.node.callspec.params["chain"] == "ganache" and kind not in ON_GANACHE:
        pytest.skip("an org's cheat runs the same code on every chain: checked on the embedded one")
    reason, claim, named, words = CHEATS[kind]
    outcome = run_session(chain, SumProductJob.in_memory(INPUTS), roles_for(kind, 1))
    assert outcome.result is None and not outcome.ok
    assert outcome.abort is not None and outcome.abort.reason == reason
    assert outcome.abort.claim == claim
    assert words in outcome.message, outcome.message
    state, result = on_chain_state(chain, outcome)
    assert state == State.ABORTED and result == []
    if named is not None:
        who = outcome.abort.by if reason == AbortReason.PARTICIPANT_ABORT else outcome.abort.culprit
        assert who == outcome_address(chain, outcome, named)
    if claim in (AbortClaim.SACRIFICE_FAILED, AbortClaim.MASK_CHECK_FAILED):
        # Caught before any input was committed: no input was ever exposed to the bad material.
        sessions = SessionClient(chain.w3, outcome.manager)
        assert not sessions.contract.events.InputCommitted().get_logs(
            from_block=0, argument_filters={"sessionId": outcome.session}
        )
    report = Auditor(chain.w3, outcome.consortium).audit(outcome.session)
    assert not report.passed
    failed = report.check("session not aborted")
    assert failed is not None and not failed.ok and reason.name in failed.detail
    if reason == AbortReason.PARTICIPANT_ABORT:
        assert f"a claim by {outcome.abort.by} ({claim.name}), not proof" in failed.detail
    if reason == AbortReason.SIGMA_MISMATCH:
        assert f"proven against ['{outcome.abort.culprit}']" in failed.detail


def outcome_address(chain, outcome, index: int) -> str:
    return SessionClient(chain.w3, outcome.manager).session(outcome.session).participants[index]


def test_two_and_five_orgs() -> None:
    chain = connect(None)
    for inputs in ([-3, 9], [1, 2, 3, 4, -5]):
        outcome = run_session(chain, SumProductJob.in_memory(inputs))
        assert outcome.ok and outcome.result == SumProductJob.in_memory(inputs).expected(inputs)
