"""Opening a session, accepting its parameters and committing its preprocessing.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from web3 import Web3

from onchain.clients import AbortClaim, AbortReason, State
from onchain.commitments import session_params_hash
from onchain.compile import load_artifact
from tests.helpers.chain import (
    BN254_R,
    COUNTS,
    JOB,
    MAX_SESSION_DURATION,
    P127,
    ZERO32,
    ZERO_ADDRESS,
    Chain,
    Run,
    assert_reverts_raw,
    rand32,
    reverts,
    run3,
)

# ============================================================================= openSession


def test_session_manager_rejects_zero_consortium(fresh_w3: Web3) -> None:
    artifact = load_artifact("SessionManager")
    factory = fresh_w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    with reverts(factory, "ZeroAddress"):
        factory.constructor(ZERO_ADDRESS).transact({"from": fresh_w3.eth.accounts[0]})


def test_open_session(chain: Chain) -> None:
    sm = chain.manager
    assert sm.functions.sessionCount().call() == 0
    run = run3(chain)
    receipt = run.open()
    assert run.sid == 1
    assert sm.functions.sessionCount().call() == 1
    assert chain.log_names(receipt) == ["SessionOpened", "StateChanged"]
    # The stored hash is the package's session_params_hash of the same parameters.
    params_hash = session_params_hash(
        chain.chain_id, sm.address, 1, JOB, run.parts, P127, chain.preprocessor, run.deadline, 2
    )
    assert params_hash == run.params_hash
    (ev,) = chain.events(receipt, "SessionOpened")
    assert ev["args"] == {
        "sessionId": 1,
        "jobHash": JOB,
        "participants": run.parts,
        "modulus": P127,
        "preprocessor": chain.preprocessor,
        "deadline": run.deadline,
        "outputLength": 2,
        "paramsHash": params_hash,
    }
    (sc,) = chain.events(receipt, "StateChanged")
    assert sc["args"] == {"sessionId": 1, "state": State.OPENED}
    assert sm.functions.getSession(1).call() == [
        JOB,
        chain.preprocessor,
        P127,
        run.deadline,
        2,
        State.OPENED,
        0,
        run.parts,
        params_hash,
    ]
    assert sm.functions.getResult(1).call() == []
    assert sm.functions.getAbort(1).call() == [AbortReason.NONE, ZERO_ADDRESS, ZERO_ADDRESS, 0, 0]
    assert sm.functions.batchHash(1, run.parts[0]).call() == ZERO32
    assert not any(sm.functions.isAccepted(1, org).call() for org in run.parts)
    assert sm.functions.MAX_SESSION_DURATION().call() == MAX_SESSION_DURATION
    assert sm.functions.MAX_PARTICIPANTS().call() == 32
    assert sm.functions.MAX_OUTPUTS().call() == 64

    # an org may open a session too; ids count up
    run2 = Run(chain, chain.orgs[2:4], BN254_R, output_length=1)
    run2.open(sender=chain.orgs[3])
    assert run2.sid == 2
    assert sm.functions.sessionCount().call() == 2
    assert sm.functions.getSession(2).call()[8] == run2.params_hash != params_hash


def test_open_session_errors(chain: Chain) -> None:
    sm, admin = chain.manager, chain.admin
    a, b = chain.orgs[:2]
    deadline = chain.now() + 3600
    pre = chain.preprocessor

    def open_(
        parts: list[str],
        modulus: int = P127,
        pp: str = pre,
        dl: int = deadline,
        out: int = 2,
    ) -> Any:
        return sm.functions.openSession(JOB, parts, modulus, pp, dl, out)

    with reverts(sm, "NotAuthorized", chain.auditor):
        open_([a, b]).transact({"from": chain.auditor})
    with reverts(sm, "NotAuthorized", chain.outsider):
        open_([a, b]).transact({"from": chain.outsider})
    with reverts(sm, "NotAuthorized", pre):  # a service cannot open sessions either
        open_([a, b]).transact({"from": pre})
    with reverts(sm, "TooFewParticipants"):
        open_([]).transact({"from": admin})
    with reverts(sm, "TooFewParticipants"):
        open_([a]).transact({"from": admin})
    with reverts(sm, "TooManyParticipants"):
        open_([a, b] * 16 + [a]).transact({"from": admin})
    with reverts(sm, "UnknownOrg", chain.auditor):
        open_([a, chain.auditor]).transact({"from": admin})
    with reverts(sm, "UnknownOrg", pre):
        open_([a, pre]).transact({"from": admin})
    with reverts(sm, "DuplicateParticipant", a):
        open_([a, b, a]).transact({"from": admin})
    for bad in (0, 1, 2, 4, 2**128):
        with reverts(sm, "InvalidModulus", bad):
            open_([a, b], modulus=bad).transact({"from": admin})
    with reverts(sm, "ZeroAddress"):
        open_([a, b], pp=ZERO_ADDRESS).transact({"from": admin})
    with reverts(sm, "InvalidDeadline", 0):
        open_([a, b], dl=0).transact({"from": admin})
    past = chain.now() - 1
    with reverts(sm, "InvalidDeadline", past):
        open_([a, b], dl=past).transact({"from": admin})
    for bad_len in (0, 65, 2**32 - 1):
        with reverts(sm, "InvalidOutputLength", bad_len):
            open_([a, b], out=bad_len).transact({"from": admin})
    assert sm.functions.sessionCount().call() == 0
    # the bounds themselves are fine
    chain.send(open_([a, b], out=1), admin)
    chain.send(open_([a, b], out=64), admin)
    assert sm.functions.sessionCount().call() == 2


def test_open_session_refuses_unlisted_modulus(chain: Chain) -> None:
    """Odd is not enough: only the admin's allow-list of primes (3 * r is odd and composite)."""
    sm, admin, parts = chain.manager, chain.admin, chain.orgs[:2]
    deadline = chain.now() + 3600
    for bad in (3, 7, 3 * BN254_R, P127 - 2, 2**64 + 1, 2**255 + 1):
        with reverts(sm, "ModulusNotAllowed", bad):
            sm.functions.openSession(JOB, parts, bad, chain.preprocessor, deadline, 1).transact(
                {"from": admin}
            )
    assert sm.functions.sessionCount().call() == 0
    chain.send(chain.consortium.functions.allowModulus(2**64 + 1), admin)
    chain.send(
        sm.functions.openSession(JOB, parts, 2**64 + 1, chain.preprocessor, deadline, 1), admin
    )
    assert sm.functions.sessionCount().call() == 1


def test_open_session_refuses_non_service(chain: Chain) -> None:
    """An org that could name itself the service would deal the masks and read every input."""
    sm, admin = chain.manager, chain.admin
    a, b, c = chain.orgs[:3]
    deadline = chain.now() + 3600

    def open_(pp: str, sender: str = admin) -> None:
        sm.functions.openSession(JOB, [a, b], P127, pp, deadline, 1).transact({"from": sender})

    for participant in (a, b):
        with reverts(sm, "ServiceIsParticipant", participant):
            open_(participant)
    with reverts(sm, "ServiceIsParticipant", a):
        open_(a, sender=a)  # an org opening a session for itself as the dealer
    for other in (c, chain.auditor, chain.unregistered, chain.outsider, admin):
        with reverts(sm, "NotAService", other):
            open_(other)
    assert sm.functions.sessionCount().call() == 0


def test_open_session_deadline_bounded(chain: Chain) -> None:
    sm, admin, parts = chain.manager, chain.admin, chain.orgs[:2]
    t = chain.now() + 100
    for too_far in (t + MAX_SESSION_DURATION + 1, 2**64 - 1):
        chain.time_travel(t)
        with reverts(sm, "InvalidDeadline", too_far):
            sm.functions.openSession(JOB, parts, P127, chain.preprocessor, too_far, 1).transact(
                {"from": admin}
            )
    chain.time_travel(t)
    with reverts(sm, "InvalidDeadline", t):  # the deadline must lie after the opening block
        sm.functions.openSession(JOB, parts, P127, chain.preprocessor, t, 1).transact(
            {"from": admin}
        )
    chain.time_travel(t)
    fn = sm.functions.openSession(JOB, parts, P127, chain.preprocessor, t + MAX_SESSION_DURATION, 1)
    receipt = chain.send(fn, admin)
    assert chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == t
    assert sm.functions.getSession(1).call()[3] == t + MAX_SESSION_DURATION


def test_unknown_session(chain: Chain) -> None:
    sm, org = chain.manager, chain.orgs[0]
    run3(chain).open()
    for sid in (0, 2, 2**256 - 1):
        with reverts(sm, "UnknownSession", sid):
            sm.functions.getSession(sid).call()
        with reverts(sm, "UnknownSession", sid):
            sm.functions.getResult(sid).call()
        with reverts(sm, "UnknownSession", sid):
            sm.functions.getAbort(sid).call()
        with reverts(sm, "UnknownSession", sid):
            sm.functions.batchHash(sid, org).call()
        with reverts(sm, "UnknownSession", sid):
            sm.functions.isAccepted(sid, org).call()
        calls = [
            sm.functions.acceptSession(sid, rand32()),
            sm.functions.commitPreprocessing(sid, [rand32()] * 3, COUNTS),
            sm.functions.commitCheckpoint(sid, rand32(), rand32()),
            sm.functions.revealSigma(sid, 1, rand32()),
            sm.functions.commitInput(sid, rand32()),
            sm.functions.commitOutput(sid, rand32()),
            sm.functions.revealOutput(sid, [1], rand32()),
            sm.functions.abort(sid, AbortClaim.PROTOCOL_ERROR),
            sm.functions.abortExpired(sid),
        ]
        for fn in calls:
            with reverts(sm, "UnknownSession", sid):
                fn.transact({"from": org})


# ============================================================================= acceptance


def test_accept_session(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid = run.sm, run.sid
    receipts = run.accept()
    for org, receipt in zip(run.parts, receipts, strict=True):
        (ev,) = chain.events(receipt, "SessionAccepted")
        assert ev["args"] == {"sessionId": sid, "org": org, "paramsHash": run.params_hash}
        assert sm.functions.isAccepted(sid, org).call()
    assert [chain.log_names(r) for r in receipts[:-1]] == [["SessionAccepted"]] * 2
    assert chain.log_names(receipts[-1]) == ["SessionAccepted", "StateChanged"]
    (sc,) = chain.events(receipts[-1], "StateChanged")
    assert sc["args"] == {"sessionId": sid, "state": State.ACCEPTED}
    assert run.state() == State.ACCEPTED
    assert not sm.functions.isAccepted(sid, chain.orgs[3]).call()
    with reverts(sm, "WrongState", State.OPENED, State.ACCEPTED):
        sm.functions.acceptSession(sid, run.params_hash).transact({"from": run.parts[0]})


def test_accept_session_errors(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    for outsider in (chain.orgs[3], chain.preprocessor, chain.admin, chain.outsider):
        with reverts(sm, "NotParticipant", outsider):
            sm.functions.acceptSession(sid, run.params_hash).transact({"from": outsider})
    chain.send(sm.functions.acceptSession(sid, run.params_hash), a)
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.acceptSession(sid, run.params_hash).transact({"from": a})
    assert run.state() == State.OPENED


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": 1},
        {"manager": "0x" + "11" * 20},
        {"session": 2},
        {"modulus": BN254_R},
        {"job_hash": keccak(text="another job")},
        {"output_length": 3},
        {"deadline_delta": 1},
        {"swap_participants": True},
    ],
    ids=lambda c: next(iter(c)),
)
def test_accept_refuses_other_params_hash(chain: Chain, change: dict[str, Any]) -> None:
    """A hash an org computed for other parameters (another chain id, another deployment,
    another modulus...) is refused; the org's own hash of the real parameters is accepted."""
    run = run3(chain)
    run.open()
    a = run.parts[0]
    if "deadline_delta" in change:
        change = {"deadline": run.deadline + change["deadline_delta"]}
    elif "swap_participants" in change:
        change = {"participants": [run.parts[1], run.parts[0], run.parts[2]]}
    wrong = run.expected_params_hash(**change)
    assert wrong != run.params_hash
    with reverts(run.sm, "ParamsMismatch", run.params_hash, wrong):
        run.sm.functions.acceptSession(run.sid, wrong).transact({"from": a})
    assert not run.sm.functions.isAccepted(run.sid, a).call()
    chain.send(run.sm.functions.acceptSession(run.sid, run.params_hash), a)
    assert run.sm.functions.isAccepted(run.sid, a).call()


# ============================================================================= preprocessing


def test_commit_preprocessing(chain: Chain) -> None:
    run = run3(chain).to_accepted()
    receipt = run.preprocess()
    assert chain.log_names(receipt) == ["PreprocessingCommitted"] * 3 + [
        "MaterialCounted",
        "StateChanged",
    ]
    evs = chain.events(receipt, "PreprocessingCommitted")
    assert [e["args"]["org"] for e in evs] == run.parts
    for ev, org in zip(evs, run.parts, strict=True):
        assert ev["args"]["sessionId"] == run.sid
        assert ev["args"]["batchHash"] == keccak(text=f"batch-{org}")
        assert run.sm.functions.batchHash(run.sid, org).call() == keccak(text=f"batch-{org}")
    (counted,) = chain.events(receipt, "MaterialCounted")
    assert counted["args"] == {"sessionId": run.sid, "counts": COUNTS}
    assert run.sm.functions.batchHash(run.sid, chain.orgs[3]).call() == ZERO32
    (sc,) = chain.events(receipt, "StateChanged")
    assert sc["args"] == {"sessionId": run.sid, "state": State.PREPROCESSED}
    assert run.state() == State.PREPROCESSED


def test_preprocessing_needs_every_acceptance(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid, pre = run.sm, run.sid, chain.preprocessor
    hashes = [rand32() for _ in range(3)]
    with reverts(sm, "WrongState", State.ACCEPTED, State.OPENED):
        sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})
    for org in run.parts[:2]:
        chain.send(sm.functions.acceptSession(sid, run.params_hash), org)
        with reverts(sm, "WrongState", State.ACCEPTED, State.OPENED):
            sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})
    chain.send(sm.functions.acceptSession(sid, run.params_hash), run.parts[2])
    chain.send(sm.functions.commitPreprocessing(sid, hashes, COUNTS), pre)
    assert run.state() == State.PREPROCESSED


def test_commit_preprocessing_errors(chain: Chain) -> None:
    run = run3(chain).to_accepted()
    sm, sid, pre = run.sm, run.sid, chain.preprocessor
    hashes = [rand32() for _ in range(3)]
    with reverts(sm, "NotPreprocessor", run.parts[0]):
        sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": run.parts[0]})
    with reverts(sm, "LengthMismatch", 3, 2):
        sm.functions.commitPreprocessing(sid, hashes[:2], COUNTS).transact({"from": pre})
    with reverts(sm, "LengthMismatch", 3, 4):
        sm.functions.commitPreprocessing(sid, hashes + [rand32()], COUNTS).transact({"from": pre})
    assert_reverts_raw(
        sm.functions.commitPreprocessing(sid, [hashes[0], ZERO32, hashes[2]], COUNTS),
        pre,
        "EmptyField",
        "batchHash",
    )
    with reverts(sm, "LengthMismatch", 1, 0):
        sm.functions.commitPreprocessing(sid, hashes, []).transact({"from": pre})
    with reverts(sm, "LengthMismatch", 64, 65):
        sm.functions.commitPreprocessing(sid, hashes, [1] * 65).transact({"from": pre})
    receipt = chain.send(sm.functions.commitPreprocessing(sid, hashes, [7] * 64), pre)
    (counted,) = chain.events(receipt, "MaterialCounted")
    assert counted["args"]["counts"] == [7] * 64
    with reverts(sm, "WrongState", State.ACCEPTED, State.PREPROCESSED):
        sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})


@pytest.mark.parametrize("stage", ["opened", "accepted"])
def test_nothing_but_acceptance_and_preprocessing_before(chain: Chain, stage: str) -> None:
    run = run3(chain)
    run.open()
    state = State.OPENED
    if stage == "accepted":
        run.accept()
        state = State.ACCEPTED
    sm, sid, org = run.sm, run.sid, run.parts[0]
    with reverts(sm, "WrongState", State.PREPROCESSED, state):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": org})
    with reverts(sm, "WrongState", State.PREPROCESSED, state):
        sm.functions.revealSigma(sid, 1, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", State.PREPROCESSED, state):
        sm.functions.commitInput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", State.COMPUTING, state):
        sm.functions.commitOutput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", State.COMPUTING, state):
        sm.functions.revealOutput(sid, [1, 2], rand32()).transact({"from": org})
