"""Gas bounds, and the typed Python clients driving a session.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from onchain.clients import FINALISE_GAS, AbortClaim, AbortReason, State
from onchain.commitments import session_params_hash
from onchain.transactions import gas_limit
from tests.helpers.chain import JOB, P127, ZERO_ADDRESS, Chain, Run, run3, zero_sum

# ============================================================================= gas


def test_gas_does_not_grow_with_sessions_or_checkpoints(chain: Chain) -> None:
    """Checkpoint rounds cost the same however many came before (no loops over history)."""

    def round_gas(run: Run) -> list[int]:
        return [r["gasUsed"] for r in run.checkpoint()]

    run = run3(chain).to_preprocessed()
    round_gas(run)  # the first round also initialises storage slots
    second = round_gas(run)
    for _ in range(3):
        round_gas(run)
    later = round_gas(run)
    # Same work, same gas (up to calldata cost of random 32-byte values, 16 gas per nonzero byte)
    for g2, g6 in zip(second, later, strict=True):
        assert abs(g2 - g6) <= 1_000
    assert max(later) < 120_000


@pytest.mark.parametrize("n_orgs", [2, 3, 4])
def test_gas_of_session_setup(chain: Chain, n_orgs: int) -> None:
    """Opening, accepting and committing preprocessing cost gas linear in the participants and
    nothing per material item (counts go to an event). Measured on the embedded chain, for the
    first session of a deployment (run with ``-s`` to see the figures): n=3 opens for ~344k,
    accepts for ~69k each (~71k for the last, which changes the state; ~6k of each is the
    registry call that checks the caller is still an org), commits preprocessing for ~121k."""
    run = Run(chain, chain.orgs[:n_orgs])
    opened = run.open()["gasUsed"]
    accepts = [r["gasUsed"] for r in run.accept()]
    pre = run.preprocess()["gasUsed"]
    print(
        f"gas n={n_orgs}: openSession {opened}, acceptSession {accepts}, commitPreprocessing {pre}"
    )
    assert opened < 210_000 + 50_000 * n_orgs
    assert max(accepts) < 76_000
    assert pre < 40_000 + 30_000 * n_orgs
    # more material counts cost calldata and log data only
    run2 = Run(chain, chain.orgs[:n_orgs]).to_accepted()
    hashes = [keccak(text=f"batch-{org}") for org in run2.parts]
    big = chain.send(
        chain.manager.functions.commitPreprocessing(run2.sid, hashes, [2**40] * 64),
        chain.preprocessor,
    )["gasUsed"]
    assert big - pre < 64 * 1_000


# ============================================================================= Python clients


def test_clients_drive_a_session() -> None:
    """The typed clients (the API the application layer uses) on a fresh embedded chain: roles,
    allow-list, open, accept with the package's params hash, preprocessing counts, views, and a
    participant abort with a claim."""
    from eth_account import Account

    from onchain.clients import (
        AbortInfo,
        ConsortiumClient,
        SessionClient,
        SessionInfo,
        deploy_contract,
    )
    from onchain.connection import connect
    from onchain.transactions import Sender, TransactionError, TxLog

    chain = connect(None)
    w3, log = chain.w3, TxLog()
    admin = Sender(w3, chain.funder, log, "admin")

    def fresh(name: str) -> Sender:
        sender = Sender(w3, Account.create(), log, name)
        admin.pay(sender.address, 10**18)
        return sender

    orgs = [fresh(f"org{i}") for i in range(3)]
    service = fresh("service")
    reg = ConsortiumClient(w3, deploy_contract(admin, "Consortium", 0))
    sessions = SessionClient(w3, deploy_contract(admin, "SessionManager", reg.address))
    for i, org in enumerate(orgs):
        reg.register_org(admin, org.address, f"org{i}", keccak(text=str(i)), f"h:{i}")
    reg.register_service(admin, service.address, "dealer")
    assert reg.is_service(service.address) and not reg.is_service(orgs[0].address)
    assert not reg.is_allowed_modulus(P127)
    reg.allow_modulus(admin, P127)
    assert reg.is_allowed_modulus(P127)
    with pytest.raises(TransactionError, match="ModulusAlreadyAllowed"):
        reg.allow_modulus(admin, P127)

    parts = [o.address for o in orgs]
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + 3600
    with pytest.raises(TransactionError, match="ServiceIsParticipant"):
        sessions.open_session(admin, JOB, parts, P127, parts[0], deadline, 3)
    sid = sessions.open_session(admin, JOB, parts, P127, service.address, deadline, 3)
    info = sessions.session(sid)
    assert sessions.chain_id == w3.eth.chain_id
    expected = session_params_hash(
        sessions.chain_id, sessions.address, sid, JOB, parts, P127, service.address, deadline, 3
    )
    assert info == SessionInfo(
        JOB, service.address, P127, deadline, 3, State.OPENED, 0, parts, expected
    )
    assert sessions.material_counts(sid) == []
    for org in orgs:
        assert not sessions.is_accepted(sid, org.address)
        sessions.accept_session(org, sid, expected)
        assert sessions.is_accepted(sid, org.address)
    assert sessions.session(sid).state == State.ACCEPTED
    sessions.commit_preprocessing(service, sid, [keccak(text=p) for p in parts], [5, 0, 9])
    assert sessions.material_counts(sid) == [5, 0, 9]
    assert sessions.session(sid).state == State.PREPROCESSED
    assert sessions.batch_hash(sid, parts[1]) == keccak(text=parts[1])
    assert sessions.revealed_output(sid) == []
    # EmptyField("claim"); eth-tester shows a string-only custom error as a plain reason
    with pytest.raises(TransactionError, match="claim"):
        sessions.abort(orgs[1], sid, AbortClaim.NONE)
    sessions.abort(orgs[1], sid, AbortClaim.MATERIAL_REJECTED)
    assert sessions.abort_info(sid) == AbortInfo(
        AbortReason.PARTICIPANT_ABORT, parts[1], ZERO_ADDRESS, 0, AbortClaim.MATERIAL_REJECTED
    )
    assert sessions.session(sid).state == State.ABORTED


def test_a_final_reveal_estimated_before_the_others_were_mined_still_finalises(
    chain: Chain,
) -> None:
    """The last org's ``revealSigma`` of the final checkpoint emits every output. Its gas is
    estimated before the other orgs' reveals are mined, when it is not yet the last and costs
    little: the limit the client gives it (``FINALISE_GAS`` on top) must still finalise a
    session of the most outputs, whatever the order the reveals are mined in."""
    run = Run(chain, chain.orgs[:3], output_length=64)
    run.to_output_revealed(list(range(64)))
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    last = run.parts[2]
    final = run.sm.functions.revealSigma(run.sid, sigmas[2], salts[2])
    early = final.estimate_gas({"from": last})  # the others' reveals not yet mined
    for org, sigma, salt in zip(run.parts[:2], sigmas[:2], salts[:2], strict=True):
        chain.send(run.sm.functions.revealSigma(run.sid, sigma, salt), org)
    tx = final.transact({"from": last, "gas": gas_limit(early, FINALISE_GAS)})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1 and run.state() == State.FINALISED
    assert run.sm.functions.getResult(run.sid).call() == list(range(64))
