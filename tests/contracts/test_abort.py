"""Participant aborts, deadline expiry and what an abort discards.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

import pytest
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError

from onchain.clients import AbortClaim, AbortReason, State
from tests.helpers.chain import (
    COUNTS,
    ZERO_ADDRESS,
    Chain,
    assert_aborted,
    assert_reverts_raw,
    rand32,
    reverts,
    run3,
    zero_sum,
)

# ============================================================================= aborts


@pytest.mark.parametrize(
    ("stage", "claim"),
    [
        ("opened", AbortClaim.PARAMETERS_REJECTED),
        ("accepted", AbortClaim.TIMEOUT),
        ("preprocessed", AbortClaim.MATERIAL_REJECTED),
        ("checkpoint", AbortClaim.SACRIFICE_FAILED),
        ("computing", AbortClaim.MASK_CHECK_FAILED),
        ("output", AbortClaim.BIT_CHECK_FAILED),
    ],
)
def test_participant_abort(chain: Chain, stage: str, claim: AbortClaim) -> None:
    run = run3(chain)
    expected_cp = 0
    if stage == "opened":
        run.open()
    elif stage == "accepted":
        run.to_accepted()
    elif stage == "preprocessed":
        run.to_preprocessed()
    elif stage == "checkpoint":
        run.to_preprocessed()
        run.commit_checkpoint(zero_sum(3, run.modulus))
    elif stage == "computing":
        run.to_computing()
        expected_cp = 1
    else:
        run.to_output_revealed([1, 2])
        expected_cp = 2
    org = run.parts[1]
    for outsider in (chain.outsider, chain.preprocessor):
        with reverts(run.sm, "NotParticipant", outsider):
            run.sm.functions.abort(run.sid, claim).transact({"from": outsider})
    receipt = chain.send(run.sm.functions.abort(run.sid, claim), org)
    assert chain.log_names(receipt) == ["SessionAborted", "StateChanged"]
    assert_aborted(
        run, AbortReason.PARTICIPANT_ABORT, ZERO_ADDRESS, expected_cp, claim, receipt, org
    )


def test_participant_abort_needs_a_claim(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    org = run.parts[0]
    assert_reverts_raw(run.sm.functions.abort(run.sid, AbortClaim.NONE), org, "EmptyField", "claim")
    # a value outside the enum fails ABI decoding (no custom error, nothing recorded)
    data = run.sm.encode_abi("abort", [run.sid, 0])[:-2] + f"{len(AbortClaim):02x}"
    with pytest.raises((TransactionFailed, ContractLogicError)):
        chain.w3.eth.send_transaction({"from": org, "to": run.sm.address, "data": data})
    assert run.state() == State.PREPROCESSED
    # every real claim is in the contract's enum, in the same order
    (abi_enum,) = [
        item for item in run.sm.abi if item.get("name") == "abort" and item["type"] == "function"
    ]
    assert abi_enum["inputs"][1]["internalType"] == "enum ISessionManager.AbortClaim"
    receipt = chain.send(run.sm.functions.abort(run.sid, AbortClaim.MASK_CHECK_FAILED), org)
    (ev,) = chain.events(receipt, "SessionAborted")
    assert ev["args"]["claim"] == AbortClaim.MASK_CHECK_FAILED == len(AbortClaim) - 1


def test_deadline_expiry(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sm, sid, org = run.sm, run.sid, run.parts[0]
    with reverts(sm, "DeadlineNotPassed"):
        sm.functions.abortExpired(sid).transact({"from": chain.outsider})

    chain.time_travel(run.deadline + 1)
    calls = [
        sm.functions.acceptSession(sid, run.params_hash),
        sm.functions.commitPreprocessing(sid, [rand32()] * 3, COUNTS),
        sm.functions.commitCheckpoint(sid, rand32(), rand32()),
        sm.functions.revealSigma(sid, 1, rand32()),
        sm.functions.commitInput(sid, rand32()),
        sm.functions.commitOutput(sid, rand32()),
        sm.functions.revealOutput(sid, [1, 2], rand32()),
        sm.functions.abort(sid, AbortClaim.TIMEOUT),
    ]
    for fn in calls:
        with reverts(sm, "DeadlinePassed", sid, run.deadline):
            fn.transact({"from": org})
    with reverts(sm, "DeadlinePassed", sid, run.deadline):
        sm.functions.commitPreprocessing(sid, [rand32()] * 3, COUNTS).transact(
            {"from": chain.preprocessor}
        )
    # anyone may record the expiry
    receipt = chain.send(sm.functions.abortExpired(sid), chain.outsider)
    assert_aborted(
        run, AbortReason.EXPIRED, ZERO_ADDRESS, 1, AbortClaim.NONE, receipt, chain.outsider
    )


def test_deadline_is_inclusive(chain: Chain) -> None:
    run = run3(chain)
    run.open(ttl=100)
    run.accept()
    chain.time_travel(run.deadline)
    # at exactly the deadline the session is still live
    chain.send(
        run.sm.functions.commitPreprocessing(run.sid, [rand32()] * 3, COUNTS), chain.preprocessor
    )
    assert int(chain.w3.eth.get_block("latest")["timestamp"]) == run.deadline
    assert run.state() == State.PREPROCESSED


def test_abort_discards_pending_output(chain: Chain) -> None:
    run = run3(chain).to_output_revealed([100, 200])
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    chain.time_travel(run.deadline + 1)
    receipt = chain.send(run.sm.functions.abortExpired(run.sid), chain.auditor)
    assert_aborted(
        run, AbortReason.EXPIRED, ZERO_ADDRESS, 2, AbortClaim.NONE, receipt, chain.auditor
    )
    assert run.sm.functions.getResult(run.sid).call() == []
