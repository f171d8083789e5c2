"""Output commitments and reveals, and full sessions to Finalised.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

import secrets

import pytest
from eth_utils import keccak

from onchain.clients import AbortClaim, AbortReason, State
from tests.helpers.chain import (
    BN254_R,
    P127,
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

# ============================================================================= outputs


def test_commit_output_errors(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    with reverts(sm, "WrongState", State.COMPUTING, State.PREPROCESSED):
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    run.commit_inputs()
    with reverts(sm, "MacCheckRequired"):
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    with reverts(sm, "MacCheckRequired"):  # not passed yet
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    run.reveal_checkpoint(sigmas, salts)

    # another checkpoint in progress blocks output commitments
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    with reverts(sm, "WrongPhase"):
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    run.reveal_checkpoint(sigmas, salts)
    assert run.checkpoint_count() == 3

    with reverts(sm, "NotParticipant", chain.auditor):
        sm.functions.commitOutput(sid, rand32()).transact({"from": chain.auditor})
    assert_reverts_raw(
        sm.functions.commitOutput(sid, ZERO32),
        a,
        "EmptyField",
        "commitment",
    )
    receipt = chain.send(sm.functions.commitOutput(sid, keccak(text="o")), a)
    (ev,) = chain.events(receipt, "OutputCommitted")
    assert ev["args"] == {"sessionId": sid, "org": a, "commitment": keccak(text="o")}
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.commitOutput(sid, keccak(text="o")).transact({"from": a})
    # the first output commitment closes checkpoints in Computing
    with reverts(sm, "WrongPhase"):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": b})
    # and reveals wait for all commitments
    with reverts(sm, "WrongPhase"):
        sm.functions.revealOutput(sid, [1], rand32()).transact({"from": a})
    chain.send(sm.functions.commitOutput(sid, keccak(text="o")), b)
    with reverts(sm, "WrongPhase"):
        sm.functions.revealOutput(sid, [1], rand32()).transact({"from": a})
    chain.send(sm.functions.commitOutput(sid, keccak(text="o")), c)
    assert run.state() == State.COMPUTING


def test_reveal_output_errors(chain: Chain) -> None:
    run = run3(chain).to_output_allowed()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    run.commit_outputs([5, 6])
    with reverts(sm, "NotParticipant", chain.outsider):
        sm.functions.revealOutput(sid, [1, 2], rand32()).transact({"from": chain.outsider})
    for bad_len in (0, 1, 3, 64, 65):
        with reverts(sm, "LengthMismatch", 2, bad_len):
            sm.functions.revealOutput(sid, [0] * bad_len, run.salts[a]).transact({"from": a})
    with reverts(sm, "ValueOutOfField", run.modulus):
        sm.functions.revealOutput(sid, [1, run.modulus], run.salts[a]).transact({"from": a})
    receipt = run.reveal_output(a)
    (ev,) = chain.events(receipt, "OutputRevealed")
    assert ev["args"] == {
        "sessionId": sid,
        "org": a,
        "shares": run.shares[a],
        "salt": run.salts[a],
    }
    assert chain.log_names(receipt) == ["OutputRevealed"]
    with reverts(sm, "AlreadySubmitted", a):
        run.reveal_output(a)
    # the session's output length is 2 for everyone
    with reverts(sm, "LengthMismatch", 2, 1):
        sm.functions.revealOutput(sid, [1], run.salts[b]).transact({"from": b})
    with reverts(sm, "LengthMismatch", 2, 3):
        sm.functions.revealOutput(sid, [1, 2, 3], run.salts[b]).transact({"from": b})
    run.reveal_output(b)
    receipt = run.reveal_output(c)
    assert chain.log_names(receipt) == ["OutputRevealed", "StateChanged"]
    assert run.state() == State.OUTPUT_REVEALED
    assert sm.functions.getResult(sid).call() == []  # not final yet
    with reverts(sm, "WrongState", State.COMPUTING, State.OUTPUT_REVEALED):
        run.reveal_output(c)
    with reverts(sm, "WrongState", State.COMPUTING, State.OUTPUT_REVEALED):
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    with reverts(sm, "WrongState", State.PREPROCESSED, State.OUTPUT_REVEALED):
        sm.functions.commitInput(sid, rand32()).transact({"from": a})


def test_output_mismatch_aborts(chain: Chain) -> None:
    run = run3(chain, output_length=3).to_output_allowed()
    a, b, _c = run.parts
    run.commit_outputs([11, 12, 13])
    run.reveal_output(a)
    bad = list(run.shares[b])
    bad[1] = (bad[1] + 1) % run.modulus
    receipt = chain.send(run.sm.functions.revealOutput(run.sid, bad, run.salts[b]), b)
    assert chain.log_names(receipt) == ["OutputRejected", "SessionAborted", "StateChanged"]
    (ev,) = chain.events(receipt, "OutputRejected")
    assert ev["args"] == {"sessionId": run.sid, "org": b, "shares": bad, "salt": run.salts[b]}
    assert_aborted(run, AbortReason.OUTPUT_MISMATCH, b, 2, AbortClaim.NONE, receipt, b)


def test_wrong_length_reveal_cannot_grief(chain: Chain) -> None:
    """The output length is a session parameter: a malicious org revealing first with another
    length is refused and fixes nothing, the honest reveals go through and the session
    finalises (before, the first reveal fixed the length and locked every honest reveal out)."""
    run = run3(chain, output_length=2).to_output_allowed()
    sm, sid = run.sm, run.sid
    mal, b, c = run.parts
    run.commit_outputs([4, 5])
    for wrong in (run.shares[mal] + [0], run.shares[mal][:1], []):
        with reverts(sm, "LengthMismatch", 2, len(wrong)):
            sm.functions.revealOutput(sid, wrong, run.salts[mal]).transact({"from": mal})
    run.reveal_output(b)
    run.reveal_output(c)
    run.reveal_output(mal)
    assert run.state() == State.OUTPUT_REVEALED
    run.checkpoint()
    assert run.state() == State.FINALISED
    assert sm.functions.getResult(sid).call() == [4, 5]


@pytest.mark.parametrize("mal_shares", [[1, 2, 3], [1]], ids=["longer", "shorter"])
def test_wrong_length_commitment_stalls_only_its_author(
    chain: Chain, mal_shares: list[int]
) -> None:
    """An org that committed to a vector of another length can never reveal it, even first:
    the honest orgs reveal normally and the session expires with only that org's reveal missing.
    (Were its reveal accepted, a longer vector would add values only it chose to the result and
    a shorter one would make every honest reveal fail on the missing sums.)"""
    run = run3(chain, output_length=2).to_output_allowed()
    sm, sid = run.sm, run.sid
    mal, b, c = run.parts
    mal_salt = rand32()
    chain.send(
        sm.functions.commitOutput(sid, chain.output_com(mal_shares, mal_salt, mal, sid)), mal
    )
    for org, shares in ((b, [4, 0]), (c, [0, 5])):
        run.shares[org], run.salts[org] = shares, rand32()
        chain.send(
            sm.functions.commitOutput(sid, chain.output_com(shares, run.salts[org], org, sid)), org
        )
    with reverts(sm, "LengthMismatch", 2, len(mal_shares)):
        sm.functions.revealOutput(sid, mal_shares, mal_salt).transact({"from": mal})
    run.reveal_output(b)
    run.reveal_output(c)
    assert run.state() == State.COMPUTING
    revealed = {e["args"]["org"] for e in sm.events.OutputRevealed().get_logs(from_block=0)}
    assert revealed == {b, c}
    chain.time_travel(run.deadline + 1)
    receipt = chain.send(sm.functions.abortExpired(sid), chain.outsider)
    assert_aborted(
        run, AbortReason.EXPIRED, ZERO_ADDRESS, 2, AbortClaim.NONE, receipt, chain.outsider
    )


def test_output_mismatch_wrong_sender_binding(chain: Chain) -> None:
    """A commitment binds the committing org: an org that copies another org's commitment
    cannot open it with the copied opening (it would otherwise add those shares a second time
    without knowing any of its own), while the honest orgs' openings verify."""
    run = run3(chain, output_length=1).to_output_allowed()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    for org in (a, c):
        run.shares[org], run.salts[org] = [secrets.randbelow(run.modulus)], rand32()
        com = chain.output_com(run.shares[org], run.salts[org], org, sid)
        chain.send(sm.functions.commitOutput(sid, com), org)
    copied = chain.output_com(run.shares[a], run.salts[a], a, sid)
    chain.send(sm.functions.commitOutput(sid, copied), b)  # b copies a's commitment
    run.reveal_output(a)
    run.reveal_output(c)
    assert run.state() == State.COMPUTING
    receipt = chain.send(sm.functions.revealOutput(sid, run.shares[a], run.salts[a]), b)
    (ev,) = chain.events(receipt, "OutputRejected")
    assert ev["args"]["org"] == b
    assert_aborted(run, AbortReason.OUTPUT_MISMATCH, b, 2, AbortClaim.NONE, receipt, b)


# ============================================================================= full session


@pytest.mark.parametrize(
    ("n_orgs", "modulus", "result"),
    [
        (3, P127, [42, 0, P127 - 1, 123456789]),
        (2, BN254_R, [7]),
        (4, P127, list(range(64))),
    ],
)
def test_honest_session_finalises(
    chain: Chain, n_orgs: int, modulus: int, result: list[int]
) -> None:
    run = Run(chain, chain.orgs[:n_orgs], modulus, output_length=len(result))
    run.to_output_revealed(result)
    assert run.state() == State.OUTPUT_REVEALED
    assert run.checkpoint_count() == 2
    receipts = run.checkpoint()
    last = receipts[-1]
    assert chain.log_names(last) == [
        "SigmaRevealed",
        "CheckpointPassed",
        "SessionFinalised",
        "StateChanged",
    ]
    (fin,) = chain.events(last, "SessionFinalised")
    assert fin["args"] == {"sessionId": run.sid, "result": result}
    (sc,) = chain.events(last, "StateChanged")
    assert sc["args"] == {"sessionId": run.sid, "state": State.FINALISED}
    assert run.state() == State.FINALISED
    assert run.checkpoint_count() == 3
    assert run.sm.functions.getResult(run.sid).call() == result
    assert run.sm.functions.getAbort(run.sid).call() == [
        AbortReason.NONE,
        ZERO_ADDRESS,
        ZERO_ADDRESS,
        0,
        0,
    ]

    # a finalised session is closed for everything
    org = run.parts[0]
    for fn in (
        run.sm.functions.acceptSession(run.sid, run.params_hash),
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()),
        run.sm.functions.revealSigma(run.sid, 0, rand32()),
        run.sm.functions.abort(run.sid, AbortClaim.PROTOCOL_ERROR),
        run.sm.functions.abortExpired(run.sid),
    ):
        with reverts(run.sm, "SessionClosed", run.sid, State.FINALISED):
            fn.transact({"from": org})
    chain.time_travel(run.deadline + 10)
    with reverts(run.sm, "SessionClosed", run.sid, State.FINALISED):
        run.sm.functions.abortExpired(run.sid).transact({"from": chain.outsider})


def test_checkpoint_after_output_reveal_can_fail(chain: Chain) -> None:
    run = run3(chain).to_output_revealed([9, 9])
    sigmas = zero_sum(3, run.modulus)
    sigmas[0] = (sigmas[0] + 5) % run.modulus
    salts, _ = run.commit_checkpoint(sigmas)
    receipts = run.reveal_checkpoint(sigmas, salts)
    assert_aborted(
        run,
        AbortReason.MAC_CHECK_FAILED,
        ZERO_ADDRESS,
        2,
        AbortClaim.NONE,
        receipts[-1],
        run.parts[2],
    )


def test_sessions_are_independent(chain: Chain) -> None:
    one = run3(chain).to_sacrifice_checked()
    two = Run(chain, chain.orgs[1:4]).to_preprocessed()
    assert (one.sid, two.sid) == (1, 2)
    assert one.checkpoint_count() == 1
    assert two.checkpoint_count() == 0
    # an org of session 2 only is not a participant of session 1
    with reverts(chain.manager, "NotParticipant", chain.orgs[3]):
        chain.manager.functions.commitInput(one.sid, rand32()).transact({"from": chain.orgs[3]})
    # the same commitment for a different session does not verify (the id is bound)
    sigmas = zero_sum(3, two.modulus)
    salts, _ = two.commit_checkpoint(sigmas)
    org = two.parts[0]
    sm = chain.manager
    com_one = chain.sigma_com(sigmas[0], salts[0], org, one.sid, 0)
    assert com_one != chain.sigma_com(sigmas[0], salts[0], org, two.sid, 0)
    two.reveal_checkpoint(sigmas, salts)
    assert two.checkpoint_count() == 1
    assert sm.functions.getSession(one.sid).call()[5] == State.PREPROCESSED
