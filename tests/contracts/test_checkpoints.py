"""Checkpoints (digests, sigma commitments and reveals, the MAC check) and inputs.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from onchain.clients import AbortClaim, AbortReason, State
from onchain.commitments import sigma_commitment
from tests.helpers.chain import (
    BN254_R,
    ZERO32,
    ZERO_ADDRESS,
    Chain,
    Run,
    assert_aborted,
    assert_reverts_raw,
    rand32,
    reverts,
    run3,
    zero_sum,
)

# ============================================================================= checkpoints


def test_checkpoint_passes(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    digest = keccak(text="transcript-0")
    salts, commits = run.commit_checkpoint(sigmas)
    for org, sigma, salt, receipt in zip(run.parts, sigmas, salts, commits, strict=True):
        (ev,) = chain.events(receipt, "CheckpointCommitted")
        assert ev["args"] == {
            "sessionId": run.sid,
            "checkpoint": 0,
            "org": org,
            "digest": digest,
            "sigmaCommitment": chain.sigma_com(sigma, salt, org, run.sid, 0),
        }
    assert chain.log_names(commits[0]) == ["CheckpointCommitted"]
    assert chain.log_names(commits[-1]) == ["CheckpointCommitted", "DigestsAgreed"]
    (agreed,) = chain.events(commits[-1], "DigestsAgreed")
    assert agreed["args"] == {"sessionId": run.sid, "checkpoint": 0, "digest": digest}

    reveals = run.reveal_checkpoint(sigmas, salts)
    for org, sigma, salt, receipt in zip(run.parts, sigmas, salts, reveals, strict=True):
        (ev,) = chain.events(receipt, "SigmaRevealed")
        assert ev["args"] == {
            "sessionId": run.sid,
            "checkpoint": 0,
            "org": org,
            "sigma": sigma,
            "salt": salt,
        }
    assert chain.log_names(reveals[-1]) == ["SigmaRevealed", "CheckpointPassed"]
    (passed,) = chain.events(reveals[-1], "CheckpointPassed")
    assert passed["args"] == {"sessionId": run.sid, "checkpoint": 0, "digest": digest}
    assert run.checkpoint_count() == 1
    assert run.state() == State.PREPROCESSED

    # further checkpoints before any input are allowed; numbering continues
    run.checkpoint()
    assert run.checkpoint_count() == 2


def test_checkpoint_errors(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    with reverts(sm, "NotParticipant", chain.orgs[3]):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": chain.orgs[3]})
    with reverts(sm, "NotParticipant", chain.preprocessor):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact(
            {"from": chain.preprocessor}
        )
    assert_reverts_raw(
        sm.functions.commitCheckpoint(sid, ZERO32, rand32()),
        a,
        "EmptyField",
        "digest",
    )
    assert_reverts_raw(
        sm.functions.commitCheckpoint(sid, rand32(), ZERO32),
        a,
        "EmptyField",
        "sigmaCommitment",
    )
    # reveal round not open yet
    with reverts(sm, "WrongPhase"):
        sm.functions.revealSigma(sid, 1, rand32()).transact({"from": a})
    with reverts(sm, "NotParticipant", chain.outsider):
        sm.functions.revealSigma(sid, 1, rand32()).transact({"from": chain.outsider})

    sigmas = zero_sum(3, run.modulus)
    digest = rand32()
    salts = [rand32() for _ in range(3)]
    coms = [
        chain.sigma_com(s, t, o, sid, 0) for s, t, o in zip(sigmas, salts, run.parts, strict=True)
    ]
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[0]), a)
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.commitCheckpoint(sid, digest, coms[0]).transact({"from": a})
    with reverts(sm, "WrongPhase"):  # not all committed yet
        sm.functions.revealSigma(sid, sigmas[0], salts[0]).transact({"from": a})
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[1]), b)
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[2]), c)
    # an outsider's reveal (it has no commitment) must not abort the session
    for outsider in (chain.orgs[3], chain.preprocessor):
        with reverts(sm, "NotParticipant", outsider):
            sm.functions.revealSigma(sid, 1, rand32()).transact({"from": outsider})
    assert run.state() == State.PREPROCESSED
    # the reveal round is open: no more commits
    with reverts(sm, "WrongPhase"):
        sm.functions.commitCheckpoint(sid, digest, coms[0]).transact({"from": a})
    with reverts(sm, "ValueOutOfField", run.modulus):
        sm.functions.revealSigma(sid, run.modulus, salts[0]).transact({"from": a})
    with reverts(sm, "ValueOutOfField", 2**256 - 1):
        sm.functions.revealSigma(sid, 2**256 - 1, salts[0]).transact({"from": a})
    chain.send(sm.functions.revealSigma(sid, sigmas[0], salts[0]), a)
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.revealSigma(sid, sigmas[0], salts[0]).transact({"from": a})
    chain.send(sm.functions.revealSigma(sid, sigmas[1], salts[1]), b)
    chain.send(sm.functions.revealSigma(sid, sigmas[2], salts[2]), c)
    assert run.checkpoint_count() == 1
    # the round is closed again
    with reverts(sm, "WrongPhase"):
        sm.functions.revealSigma(sid, sigmas[0], salts[0]).transact({"from": a})


def test_digest_mismatch_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    d, other = rand32(), rand32()
    _, receipts = run.commit_checkpoint(sigmas, digests=[d, other, d])
    assert chain.log_names(receipts[-1])[0] == "CheckpointCommitted"
    assert "DigestsAgreed" not in chain.log_names(receipts[-1])
    assert_aborted(
        run,
        AbortReason.DIGEST_MISMATCH,
        ZERO_ADDRESS,
        0,
        AbortClaim.NONE,
        receipts[-1],
        run.parts[2],
    )


def test_sigma_mismatch_aborts(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    a, b, _c = run.parts
    chain.send(run.sm.functions.revealSigma(run.sid, sigmas[0], salts[0]), a)
    # b reveals a different sigma than it committed to
    wrong = (sigmas[1] + 1) % run.modulus
    receipt = chain.send(run.sm.functions.revealSigma(run.sid, wrong, salts[1]), b)
    assert chain.log_names(receipt) == ["SigmaRejected", "SessionAborted", "StateChanged"]
    (ev,) = chain.events(receipt, "SigmaRejected")
    assert ev["args"] == {
        "sessionId": run.sid,
        "checkpoint": 1,
        "org": b,
        "sigma": wrong,
        "salt": salts[1],
    }
    assert_aborted(run, AbortReason.SIGMA_MISMATCH, b, 1, AbortClaim.NONE, receipt, b)


def test_sigma_mismatch_wrong_salt_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    a = run.parts[0]
    receipt = chain.send(run.sm.functions.revealSigma(run.sid, sigmas[0], rand32()), a)
    assert_aborted(run, AbortReason.SIGMA_MISMATCH, a, 0, AbortClaim.NONE, receipt, a)


@pytest.mark.parametrize("where", ["chain_id", "manager"])
def test_sigma_commitment_for_another_deployment_rejected(chain: Chain, where: str) -> None:
    """A commitment computed for another chain id or another manager does not verify here, and
    the evidence on-chain lets anyone recompute the mismatch."""
    run = run3(chain).to_preprocessed()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    sigmas = zero_sum(3, run.modulus)
    salts = [rand32() for _ in range(3)]
    digest = rand32()
    chain_id, manager = chain.chain_id, sm.address
    if where == "chain_id":
        chain_id += 1
    else:
        manager = "0x" + "22" * 20
    foreign = sigma_commitment(sigmas[1], salts[1], b, chain_id, manager, sid, 0)
    assert foreign != chain.sigma_com(sigmas[1], salts[1], b, sid, 0)
    chain.send(
        sm.functions.commitCheckpoint(sid, digest, chain.sigma_com(sigmas[0], salts[0], a, sid, 0)),
        a,
    )
    chain.send(sm.functions.commitCheckpoint(sid, digest, foreign), b)
    chain.send(
        sm.functions.commitCheckpoint(sid, digest, chain.sigma_com(sigmas[2], salts[2], c, sid, 0)),
        c,
    )
    chain.send(sm.functions.revealSigma(sid, sigmas[0], salts[0]), a)
    receipt = chain.send(sm.functions.revealSigma(sid, sigmas[1], salts[1]), b)
    (ev,) = chain.events(receipt, "SigmaRejected")
    assert ev["args"] == {
        "sessionId": sid,
        "checkpoint": 0,
        "org": b,
        "sigma": sigmas[1],
        "salt": salts[1],
    }
    # the auditor's re-derivation from the events: the reveal does not open b's commitment
    (committed,) = [
        e
        for e in sm.events.CheckpointCommitted().get_logs(
            from_block=0, argument_filters={"sessionId": sid}
        )
        if e["args"]["org"] == b
    ]
    assert committed["args"]["sigmaCommitment"] == foreign
    assert chain.sigma_com(ev["args"]["sigma"], ev["args"]["salt"], b, sid, 0) != foreign
    assert_aborted(run, AbortReason.SIGMA_MISMATCH, b, 0, AbortClaim.NONE, receipt, b)


def test_mac_check_failure_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    sigmas[2] = (sigmas[2] + 1) % run.modulus  # sum is 1, not 0
    salts, _ = run.commit_checkpoint(sigmas)
    receipts = run.reveal_checkpoint(sigmas, salts)
    assert chain.log_names(receipts[-1])[0] == "SigmaRevealed"
    assert "CheckpointPassed" not in chain.log_names(receipts[-1])
    assert_aborted(
        run,
        AbortReason.MAC_CHECK_FAILED,
        ZERO_ADDRESS,
        0,
        AbortClaim.NONE,
        receipts[-1],
        run.parts[2],
    )
    assert run.checkpoint_count() == 0


def test_mac_check_sum_is_modular(chain: Chain) -> None:
    """Sigmas near the modulus wrap around (addmod)."""
    run = Run(chain, chain.orgs[:2], modulus=BN254_R)
    run.to_preprocessed()
    sigmas = [BN254_R - 1, 1]
    salts, _ = run.commit_checkpoint(sigmas)
    run.reveal_checkpoint(sigmas, salts)
    assert run.checkpoint_count() == 1
    assert run.state() == State.PREPROCESSED


# ============================================================================= inputs


def test_commit_input(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    receipts = run.commit_inputs()
    for org, receipt in zip(run.parts, receipts, strict=True):
        (ev,) = chain.events(receipt, "InputCommitted")
        assert ev["args"] == {
            "sessionId": run.sid,
            "org": org,
            "commitment": keccak(text=f"in-{org}"),
        }
    assert chain.log_names(receipts[0]) == ["InputCommitted"]
    assert chain.log_names(receipts[-1]) == ["InputCommitted", "StateChanged"]
    (sc,) = chain.events(receipts[-1], "StateChanged")
    assert sc["args"] == {"sessionId": run.sid, "state": State.COMPUTING}
    assert run.state() == State.COMPUTING


def test_commit_input_errors(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    with reverts(sm, "SacrificeNotChecked"):
        sm.functions.commitInput(sid, rand32()).transact({"from": a})
    # still unchecked while the first checkpoint is in progress
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    with reverts(sm, "SacrificeNotChecked"):
        sm.functions.commitInput(sid, rand32()).transact({"from": a})
    run.reveal_checkpoint(sigmas, salts)

    with reverts(sm, "NotParticipant", chain.orgs[3]):
        sm.functions.commitInput(sid, rand32()).transact({"from": chain.orgs[3]})
    assert_reverts_raw(
        sm.functions.commitInput(sid, ZERO32),
        a,
        "EmptyField",
        "commitment",
    )

    # a second checkpoint in progress (commit round) blocks inputs
    com = chain.sigma_com(0, ZERO32, a, sid, 1)
    chain.send(sm.functions.commitCheckpoint(sid, rand32(), com), a)
    with reverts(sm, "WrongPhase"):
        sm.functions.commitInput(sid, rand32()).transact({"from": b})

    run = run3(chain).to_sacrifice_checked()
    sm, sid = run.sm, run.sid
    chain.send(sm.functions.commitInput(sid, keccak(text="x")), a)
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.commitInput(sid, keccak(text="y")).transact({"from": a})
    # once an input is in, the Preprocessed state allows no more checkpoints
    with reverts(sm, "WrongPhase"):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": b})
    chain.send(sm.functions.commitInput(sid, keccak(text="x")), b)
    chain.send(sm.functions.commitInput(sid, keccak(text="x")), c)
    with reverts(sm, "WrongState", State.PREPROCESSED, State.COMPUTING):
        sm.functions.commitInput(sid, keccak(text="y")).transact({"from": a})


def test_input_blocked_during_second_checkpoint(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sm, sid = run.sm, run.sid
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)  # reveal round of checkpoint 1 open
    with reverts(sm, "WrongPhase"):
        sm.functions.commitInput(sid, rand32()).transact({"from": run.parts[0]})
    run.reveal_checkpoint(sigmas, salts)
    assert run.checkpoint_count() == 2
    run.commit_inputs()
    assert run.state() == State.COMPUTING
