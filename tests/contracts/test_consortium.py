"""The consortium registry: roles, the allow-list of moduli and the link to the manager.

On the embedded chain, against the committed artifacts (fixtures in conftest.py).
"""

from __future__ import annotations

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.logs import EventLogErrorFlags

from tests.helpers.chain import (
    BN254_R,
    P127,
    ZERO32,
    ZERO_ADDRESS,
    Chain,
    assert_reverts_raw,
    deploy_contract,
    reverts,
)

# ============================================================================= Consortium


def test_admin_is_deployer(chain: Chain) -> None:
    assert chain.consortium.functions.admin().call() == chain.admin
    assert chain.manager.functions.consortium().call() == chain.consortium.address


def test_register_org(fresh_w3: Web3) -> None:
    w3 = fresh_w3
    admin, org = w3.eth.accounts[0], to_checksum_address(w3.eth.accounts[1])
    c = deploy_contract(w3, "Consortium", admin, 0)
    assert c.functions.orgCount().call() == 0
    key = keccak(text="k")
    receipt = w3.eth.wait_for_transaction_receipt(
        c.functions.registerOrg(org, "Hospital A", key, "10.0.0.1:7000").transact({"from": admin})
    )
    (ev,) = c.events.OrgRegistered().process_receipt(receipt, errors=EventLogErrorFlags.Discard)
    assert ev["args"] == {
        "org": org,
        "name": "Hospital A",
        "encryptionKey": key,
        "endpoint": "10.0.0.1:7000",
    }
    assert c.functions.isOrg(org).call()
    assert not c.functions.isAuditor(org).call()
    assert c.functions.orgInfo(org).call() == ["Hospital A", key, "10.0.0.1:7000"]
    assert c.functions.orgCount().call() == 1
    assert c.functions.orgAt(0).call() == org


def test_orgs_listed_in_registration_order(chain: Chain) -> None:
    c = chain.consortium
    assert c.functions.orgCount().call() == len(chain.orgs)
    assert [c.functions.orgAt(i).call() for i in range(len(chain.orgs))] == chain.orgs
    with reverts(c, "IndexOutOfRange", len(chain.orgs), len(chain.orgs)):
        c.functions.orgAt(len(chain.orgs)).call()


def test_register_org_errors(chain: Chain) -> None:
    c, admin, new = chain.consortium, chain.admin, chain.unregistered
    key = keccak(text="k")
    with reverts(c, "NotAdmin", chain.orgs[0]):
        c.functions.registerOrg(new, "x", key, "e").transact({"from": chain.orgs[0]})
    with reverts(c, "ZeroAddress"):
        c.functions.registerOrg(ZERO_ADDRESS, "x", key, "e").transact({"from": admin})
    with reverts(c, "AlreadyRegistered", chain.orgs[1]):
        c.functions.registerOrg(chain.orgs[1], "x", key, "e").transact({"from": admin})
    with reverts(c, "AlreadyRegistered", chain.auditor):
        c.functions.registerOrg(chain.auditor, "x", key, "e").transact({"from": admin})
    assert_reverts_raw(
        c.functions.registerOrg(new, "", key, "e"),
        admin,
        "EmptyField",
        "name",
    )
    assert_reverts_raw(
        c.functions.registerOrg(new, "x", ZERO32, "e"),
        admin,
        "EmptyField",
        "encryptionKey",
    )
    assert_reverts_raw(
        c.functions.registerOrg(new, "x", key, ""),
        admin,
        "EmptyField",
        "endpoint",
    )
    assert not c.functions.isOrg(new).call()


def test_register_auditor(chain: Chain) -> None:
    c = chain.consortium
    new = chain.unregistered
    receipt = chain.send(c.functions.registerAuditor(new), chain.admin)
    (ev,) = chain.events(receipt, "AuditorRegistered")
    assert ev["args"] == {"auditor": new}
    assert c.functions.isAuditor(new).call()
    assert not c.functions.isOrg(new).call()
    assert c.functions.orgCount().call() == len(chain.orgs)


def test_register_auditor_errors(chain: Chain) -> None:
    c = chain.consortium
    with reverts(c, "NotAdmin", chain.auditor):
        c.functions.registerAuditor(chain.unregistered).transact({"from": chain.auditor})
    with reverts(c, "ZeroAddress"):
        c.functions.registerAuditor(ZERO_ADDRESS).transact({"from": chain.admin})
    with reverts(c, "AlreadyRegistered", chain.auditor):
        c.functions.registerAuditor(chain.auditor).transact({"from": chain.admin})
    with reverts(c, "AlreadyRegistered", chain.orgs[0]):
        c.functions.registerAuditor(chain.orgs[0]).transact({"from": chain.admin})


def test_register_service(chain: Chain) -> None:
    c = chain.consortium
    assert c.functions.isService(chain.preprocessor).call()
    assert not c.functions.isOrg(chain.preprocessor).call()
    assert not c.functions.isService(chain.orgs[0]).call()
    new = chain.unregistered
    receipt = chain.send(c.functions.registerService(new, "dealer-2"), chain.admin)
    assert chain.log_names(receipt) == ["RoleGranted", "ServiceRegistered"]
    (ev,) = chain.events(receipt, "ServiceRegistered")
    assert ev["args"] == {"service": new, "name": "dealer-2"}
    assert c.functions.isService(new).call()
    assert not c.functions.isOrg(new).call()
    assert not c.functions.isAuditor(new).call()
    assert c.functions.orgCount().call() == len(chain.orgs)


def test_one_role_per_address(chain: Chain) -> None:
    """An address is an org, an auditor or a service: never two of them."""
    c, admin, key = chain.consortium, chain.admin, keccak(text="k")
    svc = chain.preprocessor
    with reverts(c, "NotAdmin", chain.orgs[0]):
        c.functions.registerService(chain.unregistered, "x").transact({"from": chain.orgs[0]})
    with reverts(c, "ZeroAddress"):
        c.functions.registerService(ZERO_ADDRESS, "x").transact({"from": admin})
    for taken in (chain.orgs[0], chain.auditor, svc):
        with reverts(c, "AlreadyRegistered", taken):
            c.functions.registerService(taken, "x").transact({"from": admin})
    with reverts(c, "AlreadyRegistered", svc):
        c.functions.registerOrg(svc, "x", key, "e").transact({"from": admin})
    with reverts(c, "AlreadyRegistered", svc):
        c.functions.registerAuditor(svc).transact({"from": admin})
    assert_reverts_raw(
        c.functions.registerService(chain.unregistered, ""), admin, "EmptyField", "name"
    )
    assert not c.functions.isService(chain.unregistered).call()


def test_allow_modulus(chain: Chain) -> None:
    c, admin = chain.consortium, chain.admin
    assert c.functions.isAllowedModulus(P127).call()
    assert c.functions.isAllowedModulus(BN254_R).call()
    assert not c.functions.isAllowedModulus(3 * BN254_R).call()
    assert c.functions.MIN_MODULUS().call() == 2**64
    with reverts(c, "NotAdmin", chain.orgs[0]):
        c.functions.allowModulus(2**61 - 1).transact({"from": chain.orgs[0]})
    for bad in (0, 1, 2, 3, 7, 2**61 - 1, 2**64 - 1, 2**64, 2**128, 3 * BN254_R + 1):
        with reverts(c, "InvalidModulus", bad):
            c.functions.allowModulus(bad).transact({"from": admin})
    with reverts(c, "ModulusAlreadyAllowed", P127):
        c.functions.allowModulus(P127).transact({"from": admin})
    # The contract trusts the admin on primality: 2^64 + 1 (composite) is odd and large enough.
    receipt = chain.send(c.functions.allowModulus(2**64 + 1), admin)
    assert chain.log_names(receipt) == ["ModulusAllowed"]
    (ev,) = chain.events(receipt, "ModulusAllowed")
    assert ev["args"] == {"modulus": 2**64 + 1}
    assert c.functions.isAllowedModulus(2**64 + 1).call()


def test_org_info_unknown(chain: Chain) -> None:
    with reverts(chain.consortium, "UnknownOrg", chain.auditor):
        chain.consortium.functions.orgInfo(chain.auditor).call()
    assert not chain.consortium.functions.isOrg(chain.outsider).call()
    assert not chain.consortium.functions.isAuditor(chain.outsider).call()


def test_set_session_manager_once_by_admin(chain: Chain) -> None:
    c = chain.consortium
    assert c.functions.sessionManager().call() == ZERO_ADDRESS
    with reverts(c, "NotAdmin", chain.outsider):
        c.functions.setSessionManager(chain.manager.address).transact({"from": chain.outsider})
    with reverts(c, "ZeroAddress"):
        c.functions.setSessionManager(ZERO_ADDRESS).transact({"from": chain.admin})
    tx = c.functions.setSessionManager(chain.manager.address).transact({"from": chain.admin})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx)
    (ev,) = c.events.SessionManagerSet().process_receipt(receipt)
    assert ev["args"]["manager"] == chain.manager.address
    with reverts(c, "SessionManagerAlreadySet", chain.manager.address):
        c.functions.setSessionManager(chain.outsider).transact({"from": chain.admin})
    assert c.functions.sessionManager().call() == chain.manager.address
