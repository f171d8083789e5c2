"""The attacks of the soundness review, end to end on the embedded chain: each must be caught,
with nothing wrong recorded and the right party (or nobody) named.

Each of these got a wrong result finalised, read inputs, framed an honest org or left a
session live on the code before the fix (issue 10).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chainmpc.cheats import roles_for
from chainmpc.exceptions import SessionAborted
from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.launcher import Roles, run_session
from chainmpc.roles.peer import OrgPeer
from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import BN254_SCALAR
from onchain.audit import Auditor
from onchain.clients import AbortClaim, AbortReason, SessionClient, State
from onchain.commitments import job_hash, new_salt, sigma_commitment
from onchain.connection import connect
from onchain.transactions import TransactionError
from tests.helpers.lockstep import Lockstep

INPUTS = [12, -7, 30]
JOB = SumProductJob.in_memory(INPUTS)


@pytest.fixture
def run(tmp_path: Path) -> Lockstep:
    """A consortium deployed on a fresh embedded chain: admin, service, three orgs, auditor."""
    r = Lockstep(connect(None), JOB, INPUTS, Roles(), tmp_path, lambda _: None)
    r.setup()
    return r


def open_session(run: Lockstep, modulus: int = BN254_SCALAR, **overrides: object) -> int:
    now = run.w3.eth.get_block("latest")["timestamp"]
    args = {
        "job_hash": job_hash(JOB.description()),
        "participants": [o.account.address for o in run.orgs],
        "modulus": modulus,
        "preprocessor": run.service.address,
        "deadline": now + 3600,
        "output_length": JOB.output_length,
        **overrides,
    }
    run.session = run.sessions.open_session(run.admin, **args)  # type: ignore[arg-type]
    return run.session


def events(run: Lockstep, name: str) -> list:
    return getattr(run.sessions.contract.events, name)().get_logs(
        from_block=0, argument_filters={"sessionId": run.session}
    )


def test_a_shifted_input_mask_is_caught_before_any_input(tmp_path: Path) -> None:
    # The service hands org2 the clear mask r - 1000: without the mask check org2's input
    # becomes 30 + 1000 and the session finalises the wrong sum with every MAC check passing.
    chain = connect(None)
    outcome = run_session(chain, JOB, roles_for("mask", 1), workdir=tmp_path)
    assert outcome.result is None and outcome.abort is not None
    assert outcome.abort.claim == AbortClaim.MASK_CHECK_FAILED
    assert outcome.audit is not None and not outcome.audit.passed


def test_an_org_cannot_be_the_service(run: Lockstep) -> None:
    org = run.orgs[0].account.address
    with pytest.raises(TransactionError, match="ServiceIsParticipant"):
        open_session(run, preprocessor=org)
    outsider = run.orgs[1].account.address  # an org, not a participant of this session
    with pytest.raises(TransactionError, match="NotAService"):
        open_session(run, preprocessor=outsider, participants=[org, run.orgs[2].account.address])
    with pytest.raises(TransactionError, match="NotAService"):
        open_session(run, preprocessor=run.auditor.address)
    assert run.sessions.contract.functions.sessionCount().call() == 0


def test_a_composite_modulus_is_refused_by_every_peer_and_the_auditor(run: Lockstep) -> None:
    # A careless (or malicious) admin allow-lists 3r: odd, large, and accepted by the contract.
    composite = 3 * BN254_SCALAR
    run.consortium.allow_modulus(run.admin, composite)
    open_session(run, modulus=composite)
    with pytest.raises(SessionAborted):
        run.accept()
    assert not events(run, "SessionAccepted")  # nobody accepted a composite modulus
    abort = run.sessions.abort_info(run.session)
    assert abort.reason == AbortReason.PARTICIPANT_ABORT
    assert abort.claim == AbortClaim.PARAMETERS_REJECTED
    assert abort.by == run.orgs[0].account.address
    assert "modulus" in run.errors[0] and "not one of the known primes" in run.errors[0].lower()
    report = Auditor(run.w3, run.consortium.address).audit(run.session)
    modulus = report.check("modulus is a known prime")
    assert modulus is not None and not modulus.ok


def test_preprocessing_waits_for_every_acceptance(run: Lockstep) -> None:
    open_session(run)
    run.peers = []
    with pytest.raises(Exception, match="not every participant has accepted"):
        run.preprocessing()
    assert run.sessions.session(run.session).state == State.OPENED


class PeerCheckJob(SumProductJob):
    """The sum and product, with a MAC check between the peers after the inputs: a peer-only
    checkpoint between two on-chain ones."""

    def program(self, engine, own=None):  # type: ignore[no-untyped-def]
        from offchain.sectypes.array import secret_input

        inputs = [
            secret_input(engine, [own] if o == engine.index and own is not None else None, o, 1)
            for o in range(self.orgs)
        ]
        total = sum(inputs[1:], inputs[0])
        engine.check_between_peers()
        product = inputs[0]
        for x in inputs[1:]:
            product = product * x
            engine.check_between_peers()
        return [total, product]


def test_peer_checks_between_onchain_checkpoints_frame_nobody() -> None:
    job = PeerCheckJob.in_memory(INPUTS)
    outcome = run_session(connect(None), job)
    assert outcome.abort is None, outcome.message
    assert outcome.result == job.expected(INPUTS) and outcome.ok


class CrashingPeer(OrgPeer):
    """An org whose peer dies right after the inputs are committed (its channels close)."""

    def run_job(self, value: int) -> None:
        assert self.network is not None
        self.network.close()


def test_an_org_that_crashes_mid_session_is_reported_on_chain(tmp_path: Path) -> None:
    roles = Roles(peer=lambda org: CrashingPeer if org == 2 else OrgPeer)
    chain = connect(None)
    outcome = run_session(chain, JOB, roles, workdir=tmp_path)
    assert outcome.result is None and outcome.abort is not None
    # An honest org noticed and posted the abort with its claim; the session is not left live.
    assert outcome.abort.reason == AbortReason.PARTICIPANT_ABORT
    assert outcome.abort.claim == AbortClaim.TRANSPORT_ERROR
    # The others name the missing org (transport indices are 0-based: org 2 is org3).
    crashed = SessionClient(chain.w3, outcome.manager).session(outcome.session).participants[2]
    assert outcome.abort.by != crashed
    assert any("org 2" in e for e in outcome.errors), outcome.errors


def test_output_is_refused_until_everything_opened_is_mac_checked(run: Lockstep) -> None:
    open_session(run)
    run.accept()
    run.preprocessing()
    run.sacrifice()
    run.input()
    run.compute()
    # The launcher's checkpoint before the output is skipped: every peer refuses to commit.
    with pytest.raises(SessionAborted):
        run.output()
    assert not events(run, "OutputCommitted")
    abort = run.sessions.abort_info(run.session)
    assert abort.claim == AbortClaim.PROTOCOL_ERROR and "output" in run.errors[0]
    for p in run.peers:
        p.close()


def test_the_auditor_rejects_all_zero_sigmas(run: Lockstep) -> None:
    # Orgs that skip the MAC check and all reveal 0 pass the contract's sum; never honest.
    open_session(run)
    run.accept()
    run.preprocessing()
    for p in run.peers:
        p.close()
    chain_id = run.w3.eth.chain_id
    salts = [new_salt() for _ in run.orgs]
    for s, salt in zip(run.org_senders, salts, strict=True):
        c = sigma_commitment(0, salt, s.address, chain_id, run.sessions.address, run.session, 0)
        run.sessions.commit_checkpoint(s, run.session, b"\x01" * 32, c)
    for s, salt in zip(run.org_senders, salts, strict=True):
        run.sessions.reveal_sigma(s, run.session, 0, salt)
    assert events(run, "CheckpointPassed")
    report = Auditor(run.w3, run.consortium.address).audit(run.session)
    zero = report.check("checkpoint 0: MAC check sums to 0")
    assert zero is not None and not zero.ok and "every sigma share is 0" in zero.detail


def test_the_auditor_checks_the_job_file_and_the_material_counts() -> None:
    chain = connect(None)
    outcome = run_session(chain, JOB)
    assert outcome.ok
    auditor = Auditor(chain.w3, outcome.consortium)
    other = job_hash({**JOB.description(), "orgs": 4})
    report = auditor.audit(outcome.session, job_hash=other)
    assert not report.passed and report.failures()[0].name == "job hash matches the job file"
    report = auditor.audit(outcome.session, material_counts=[1, 2, 3])
    assert [c.name for c in report.failures()] == ["material counts are what the job needs"]
    # Without the job file the audit says what it could not check.
    assert report.unchecked and "job hash" in report.unchecked[0]
    report = auditor.audit(outcome.session, job_hash(JOB.description()), output_length=3)
    assert [c.name for c in report.failures()] == ["output length is the job's"]
    assert not report.unchecked


class LyingCounts:
    """The service's view of the session manager, committing counts other than it dealt."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def commit_preprocessing(self, service, session, hashes, counts) -> None:  # type: ignore[no-untyped-def]
        self._inner.commit_preprocessing(service, session, hashes, [c + 1 for c in counts])


def test_material_counts_unlike_the_job_are_refused(run: Lockstep) -> None:
    from chainmpc.roles.service import preprocess

    open_session(run)
    run.accept()
    preprocess(run.service, run.consortium, LyingCounts(run.sessions), run.session, JOB,
               run.deliver_to_cache)  # fmt: skip
    run._each(lambda p: p.connect())
    with pytest.raises(SessionAborted):
        run._each(lambda p: p.load_material())
    assert run.sessions.abort_info(run.session).claim == AbortClaim.MATERIAL_REJECTED
    assert "material counts" in run.errors[0]


def test_a_checkpoint_is_confirmed_only_once_it_passed_on_chain(run: Lockstep) -> None:
    open_session(run)
    run.accept()
    run.preprocessing()
    run._each(lambda p: p.check_material())
    run._in_turn(lambda p: p.commit_checkpoint())  # committed, not yet revealed: not passed
    with pytest.raises(SessionAborted):
        run._step(run.peers[0], lambda p: p.confirm_checkpoint())
    assert "has not passed on-chain" in run.errors[0]
    for p in run.peers:
        p.close()


def test_material_for_another_field_is_refused(run: Lockstep) -> None:
    from offchain.hazmat.field import Mersenne127
    from offchain.preprocessing.dealer import Dealer

    open_session(run)  # over BN254
    run.accept()
    run.roles = Roles(dealer=lambda field, n: Dealer(Mersenne127(), n))
    with pytest.raises(SessionAborted):
        run.preprocessing()
    assert run.sessions.abort_info(run.session).claim == AbortClaim.MATERIAL_REJECTED
    assert "another field" in run.errors[0]
    for p in run.peers:
        p.close()


class GarbageOpening(Engine):
    """Sends bytes that are not field elements in its first Beaver opening."""

    def open(self, *shared, label):  # type: ignore[no-untyped-def]
        if label == "mul":
            n = sum(len(s) for s in shared)
            self.network.exchange(b"\xff" * (self.field.byte_length * n))
            raise ProtocolAbort("sent garbage")
        return super().open(*shared, label=label)


def test_garbage_from_an_org_is_reported_by_the_others(tmp_path: Path) -> None:
    roles = Roles(engine=lambda org: GarbageOpening if org == 0 else Engine)
    chain = connect(None)
    outcome = run_session(chain, JOB, roles, workdir=tmp_path)
    assert outcome.result is None and outcome.abort is not None
    assert outcome.abort.claim in (AbortClaim.PROTOCOL_ERROR, AbortClaim.TRANSPORT_ERROR)
    assert any("FieldError" in e for e in outcome.errors), outcome.errors


def test_an_abort_after_the_deadline_closes_the_session_as_expired(run: Lockstep) -> None:
    now = run.w3.eth.get_block("latest")["timestamp"]
    open_session(run, deadline=now + 60)
    run.accept()
    run.w3.provider.ethereum_tester.time_travel(now + 120)
    run.peers[0].abort(AbortClaim.TIMEOUT)
    assert run.sessions.session(run.session).state == State.ABORTED
    assert run.sessions.abort_info(run.session).reason == AbortReason.EXPIRED
