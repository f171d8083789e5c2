"""Membership over time: offboarding (an org removed mid-session cannot act in it), key and
endpoint rotation, member roles only through the registry's own functions, and the two-step
admin handover (OpenZeppelin's AccessControlDefaultAdminRules).

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

from eth_utils import keccak
from web3 import Web3

from onchain.clients import AbortClaim, AbortReason, State
from tests.helpers.chain import (
    ZERO32,
    ZERO_ADDRESS,
    Chain,
    assert_aborted,
    assert_reverts_raw,
    deploy_contract,
    rand32,
    reverts,
    run3,
)

ORG_ROLE = keccak(text="ORG_ROLE")
SERVICE_ROLE = keccak(text="SERVICE_ROLE")
AUDITOR_ROLE = keccak(text="AUDITOR_ROLE")


def test_role_ids_are_the_access_control_roles(chain: Chain) -> None:
    c = chain.consortium
    assert c.functions.ORG_ROLE().call() == ORG_ROLE
    assert c.functions.AUDITOR_ROLE().call() == AUDITOR_ROLE
    assert c.functions.SERVICE_ROLE().call() == SERVICE_ROLE
    assert c.functions.hasRole(ORG_ROLE, chain.orgs[0]).call()
    assert c.functions.hasRole(SERVICE_ROLE, chain.preprocessor).call()
    assert c.functions.hasRole(AUDITOR_ROLE, chain.auditor).call()
    assert c.functions.hasRole(ZERO32, chain.admin).call()  # DEFAULT_ADMIN_ROLE


def test_offboarding_an_org_revokes_and_retires_it(chain: Chain) -> None:
    c, org = chain.consortium, chain.orgs[3]
    info = c.functions.orgInfo(org).call()
    receipt = chain.send(c.functions.offboard(org), chain.admin)
    assert chain.log_names(receipt) == ["RoleRevoked", "MemberOffboarded"]
    (ev,) = chain.events(receipt, "MemberOffboarded")
    assert ev["args"] == {"account": org, "role": ORG_ROLE}
    assert not c.functions.isOrg(org).call()
    assert c.functions.isRetired(org).call()
    # Its registration stays readable for the audit of past sessions, and it stays listed.
    assert c.functions.orgInfo(org).call() == info
    assert c.functions.orgAt(3).call() == org
    with reverts(c, "NotAMember", org):
        c.functions.offboard(org).transact({"from": chain.admin})
    # Retired for good: the account cannot come back under any role.
    with reverts(c, "AlreadyRegistered", org):
        c.functions.registerOrg(org, "again", keccak(text="k2"), "e").transact(
            {"from": chain.admin}
        )
    with reverts(c, "AlreadyRegistered", org):
        c.functions.registerAuditor(org).transact({"from": chain.admin})


def test_offboard_errors(chain: Chain) -> None:
    c = chain.consortium
    with reverts(c, "NotAdmin", chain.orgs[0]):
        c.functions.offboard(chain.orgs[1]).transact({"from": chain.orgs[0]})
    with reverts(c, "NotAMember", chain.unregistered):
        c.functions.offboard(chain.unregistered).transact({"from": chain.admin})
    with reverts(c, "NotAMember", chain.admin):
        c.functions.offboard(chain.admin).transact({"from": chain.admin})


def test_an_org_offboarded_mid_session_cannot_act_and_the_others_abort(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    gone, stays = run.parts[2], run.parts[0]
    chain.send(chain.consortium.functions.offboard(gone), chain.admin)
    for fn in (
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()),
        run.sm.functions.abort(run.sid, AbortClaim.TIMEOUT),
    ):
        with reverts(run.sm, "UnknownOrg", gone):
            fn.transact({"from": gone})
    assert run.state() == State.PREPROCESSED
    receipt = chain.send(run.sm.functions.abort(run.sid, AbortClaim.TIMEOUT), stays)
    assert_aborted(
        run, AbortReason.PARTICIPANT_ABORT, ZERO_ADDRESS, 0, AbortClaim.TIMEOUT, receipt, stays
    )


def test_an_org_offboarded_before_accepting_cannot_accept(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    chain.send(run.sm.functions.acceptSession(run.sid, run.params_hash), run.parts[0])
    chain.send(chain.consortium.functions.offboard(run.parts[1]), chain.admin)
    with reverts(run.sm, "UnknownOrg", run.parts[1]):
        run.sm.functions.acceptSession(run.sid, run.params_hash).transact({"from": run.parts[1]})
    assert run.state() == State.OPENED


def test_an_offboarded_service_cannot_commit_preprocessing(chain: Chain) -> None:
    run = run3(chain).to_accepted()
    chain.send(chain.consortium.functions.offboard(chain.preprocessor), chain.admin)
    assert not chain.consortium.functions.isService(chain.preprocessor).call()
    hashes = [keccak(text=f"batch-{org}") for org in run.parts]
    with reverts(run.sm, "NotAService", chain.preprocessor):
        run.sm.functions.commitPreprocessing(run.sid, hashes, [1]).transact(
            {"from": chain.preprocessor}
        )
    assert run.state() == State.ACCEPTED


def test_an_org_rotates_its_key_and_moves_its_endpoint(chain: Chain) -> None:
    c, org = chain.consortium, chain.orgs[0]
    name, _, _ = c.functions.orgInfo(org).call()
    key = keccak(text="rotated")
    receipt = chain.send(c.functions.rotateEncryptionKey(key), org)
    (ev,) = chain.events(receipt, "OrgKeyRotated")
    assert ev["args"] == {"org": org, "encryptionKey": key}
    receipt = chain.send(c.functions.setEndpoint("10.1.2.3:7100"), org)
    (ev,) = chain.events(receipt, "OrgEndpointChanged")
    assert ev["args"] == {"org": org, "endpoint": "10.1.2.3:7100"}
    assert c.functions.orgInfo(org).call() == [name, key, "10.1.2.3:7100"]
    # Nobody else's entry moved.
    assert c.functions.orgInfo(chain.orgs[1]).call()[1] == keccak(text="key-1")


def test_rotation_errors(chain: Chain) -> None:
    c = chain.consortium
    for who in (chain.admin, chain.auditor, chain.preprocessor, chain.unregistered):
        with reverts(c, "UnknownOrg", who):
            c.functions.rotateEncryptionKey(keccak(text="x")).transact({"from": who})
        with reverts(c, "UnknownOrg", who):
            c.functions.setEndpoint("h:1").transact({"from": who})
    assert_reverts_raw(
        c.functions.rotateEncryptionKey(ZERO32), chain.orgs[0], "EmptyField", "encryptionKey"
    )
    assert_reverts_raw(c.functions.setEndpoint(""), chain.orgs[0], "EmptyField", "endpoint")
    gone = chain.orgs[3]
    chain.send(c.functions.offboard(gone), chain.admin)
    with reverts(c, "UnknownOrg", gone):
        c.functions.rotateEncryptionKey(keccak(text="x")).transact({"from": gone})


def test_member_roles_change_only_through_the_registry(chain: Chain) -> None:
    c, admin = chain.consortium, chain.admin
    for role in (ORG_ROLE, AUDITOR_ROLE, SERVICE_ROLE):
        with reverts(c, "MembershipRole", role):
            c.functions.grantRole(role, chain.unregistered).transact({"from": admin})
        with reverts(c, "MembershipRole", role):
            c.functions.revokeRole(role, chain.orgs[0]).transact({"from": admin})
    with reverts(c, "MembershipRole", ORG_ROLE):
        c.functions.renounceRole(ORG_ROLE, chain.orgs[0]).transact({"from": chain.orgs[0]})
    assert not c.functions.isOrg(chain.unregistered).call()
    assert c.functions.isOrg(chain.orgs[0]).call()
    # The admin role is handed over only in two steps.
    with reverts(c, "AccessControlEnforcedDefaultAdminRules"):
        c.functions.grantRole(ZERO32, chain.unregistered).transact({"from": admin})


def test_the_admin_is_handed_over_in_two_steps_after_the_delay(fresh_w3: Web3) -> None:
    w3 = fresh_w3
    old, new, other = w3.eth.accounts[0], w3.eth.accounts[1], w3.eth.accounts[2]
    c = deploy_contract(w3, "Consortium", old, 3600)
    assert c.functions.admin().call() == old
    assert c.functions.defaultAdminDelay().call() == 3600
    with reverts(c, "AccessControlUnauthorizedAccount", new, ZERO32):
        c.functions.beginDefaultAdminTransfer(new).transact({"from": new})
    w3.eth.wait_for_transaction_receipt(
        c.functions.beginDefaultAdminTransfer(new).transact({"from": old})
    )
    pending, schedule = c.functions.pendingDefaultAdmin().call()
    assert pending == new
    # Named but not yet admin: the old admin still acts, the new one cannot.
    assert c.functions.admin().call() == old
    with reverts(c, "NotAdmin", new):
        c.functions.registerAuditor(other).transact({"from": new})
    with reverts(c, "AccessControlEnforcedDefaultAdminDelay", schedule):
        c.functions.acceptDefaultAdminTransfer().transact({"from": new})
    with reverts(c, "AccessControlInvalidDefaultAdmin", other):
        c.functions.acceptDefaultAdminTransfer().transact({"from": other})
    w3.provider.ethereum_tester.time_travel(schedule + 1)
    w3.eth.wait_for_transaction_receipt(
        c.functions.acceptDefaultAdminTransfer().transact({"from": new})
    )
    assert c.functions.admin().call() == new
    with reverts(c, "NotAdmin", old):
        c.functions.registerAuditor(other).transact({"from": old})
    w3.eth.wait_for_transaction_receipt(c.functions.registerAuditor(other).transact({"from": new}))
    assert c.functions.isAuditor(other).call()
