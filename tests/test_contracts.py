"""Consortium and SessionManager against their committed artifacts, on the embedded chain.

Every rule of the contracts' interface is exercised here: each custom error (decoded from the
revert data by name and arguments), the abort paths (which must not revert), deadline expiry
and a full honest session that reaches Finalised with the right result. The attacks found in
review are tests too: a participant or unregistered address named as the service, a modulus not
on the allow-list, an unbounded deadline, a params hash for another chain, contract or modulus,
commitments replayed from another chain or contract, and an output reveal of the wrong length
that tries to grief the honest reveals.
"""

from __future__ import annotations

import ast
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import EventLogErrorFlags

from onchain.clients import AbortClaim
from onchain.commitments import output_commitment, session_params_hash, sigma_commitment
from onchain.compile import load_artifact
from onchain.transactions import revert_data

P127 = 2**127 - 1
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20

MAX_SESSION_DURATION = 7 * 24 * 3600
JOB = keccak(text="job")
COUNTS = [10, 0, 3]  # an opaque material-count vector

# enum State / enum AbortReason of SessionManager
NONE, OPENED, ACCEPTED, PREPROCESSED, COMPUTING, OUTPUT_REVEALED, FINALISED, ABORTED = range(8)
(
    R_NONE,
    R_DIGEST_MISMATCH,
    R_SIGMA_MISMATCH,
    R_MAC_CHECK_FAILED,
    R_OUTPUT_MISMATCH,
    R_PARTICIPANT_ABORT,
    R_EXPIRED,
) = range(7)
C_NONE = AbortClaim.NONE


# ----------------------------------------------------------------------------- revert decoding


def _revert_data(exc: BaseException) -> bytes:
    data = revert_data(exc)
    if data is None:
        raise AssertionError(f"cannot extract revert data from {exc!r}")
    return data


def _error_table(abi: Sequence[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [inp["type"] for inp in item["inputs"]]
        selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
        table[selector] = (item["name"], types)
    return table


def decode_error(abi: Sequence[dict[str, Any]], data: bytes) -> tuple[str, tuple[Any, ...]]:
    """Decode a custom-error revert against ``abi``: ``(name, args)``."""
    table = _error_table(abi)
    selector = data[:4]
    assert selector in table, f"unknown revert data 0x{data.hex()}"
    name, types = table[selector]
    return name, tuple(abi_decode(types, data[4:]))


def _assert_error(contract: Contract, data: bytes, name: str, args: tuple[Any, ...]) -> None:
    got_name, got_args = decode_error(contract.abi, data)
    assert got_name == name, f"expected {name}{args}, got {got_name}{got_args}"
    if args:
        normalised = tuple(
            to_checksum_address(a) if isinstance(a, str) and a.startswith("0x") else a
            for a in got_args
        )
        assert normalised == args, f"expected {name}{args}, got {got_name}{normalised}"


@contextmanager
def reverts(contract: Contract, name: str, *args: Any) -> Iterator[None]:
    """Assert the block reverts with custom error ``name`` (and ``args`` if given).

    Not for errors whose only argument is a string (``EmptyField``): web3's eth-tester provider
    decodes such revert data as if it were ``Error(string)`` and drops the selector. Use
    ``assert_reverts_raw`` for those.
    """
    with pytest.raises((TransactionFailed, ContractCustomError, ContractLogicError)) as info:
        yield
    _assert_error(contract, _revert_data(info.value), name, args)


def assert_reverts_raw(fn: Any, sender: str, name: str, *args: Any) -> None:
    """Assert ``fn`` reverts as a transaction, then decode its revert data straight from the
    eth-tester backend (which keeps the raw bytes, selector included)."""
    with pytest.raises((TransactionFailed, ContractCustomError, ContractLogicError)):
        fn.transact({"from": sender})
    tester = fn.w3.provider.ethereum_tester
    with pytest.raises(TransactionFailed) as info:
        tester.call({"from": sender, "to": fn.address, "data": fn._encode_transaction_data()})
    raw = info.value.args[0]
    if isinstance(raw, Exception):
        raw = raw.args[0]
    data = raw if isinstance(raw, bytes) else ast.literal_eval(raw)
    _assert_error(fn.w3.eth.contract(abi=fn.contract_abi), data, name, args)


# ----------------------------------------------------------------------------- helpers


def zero_sum(n: int, modulus: int) -> list[int]:
    """``n`` random values in the field that sum to zero mod ``modulus``."""
    values = [secrets.randbelow(modulus) for _ in range(n - 1)]
    values.append((-sum(values)) % modulus)
    return values


def rand32() -> bytes:
    return secrets.token_bytes(32)


# ----------------------------------------------------------------------------- fixtures


@dataclass
class Chain:
    w3: Web3
    consortium: Contract
    manager: Contract
    admin: str
    orgs: list[str]
    auditor: str
    preprocessor: str
    outsider: str
    unregistered: str

    @property
    def tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[union-attr]

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def sigma_com(self, sigma: int, salt: bytes, org: str, sid: int, cp: int) -> bytes:
        """The package's sigma commitment, bound to this chain and this manager."""
        return sigma_commitment(sigma, salt, org, self.chain_id, self.manager.address, sid, cp)

    def output_com(self, shares: Sequence[int], salt: bytes, org: str, sid: int) -> bytes:
        """The package's output commitment, bound to this chain and this manager."""
        return output_commitment(shares, salt, org, self.chain_id, self.manager.address, sid)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def time_travel(self, timestamp: int) -> None:
        """The next transaction runs at ``timestamp``."""
        self.tester.time_travel(timestamp)

    def send(self, fn: Any, sender: str) -> Any:
        tx = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1
        return receipt

    def events(self, receipt: Any, name: str) -> list[Any]:
        contract = self.manager if name in _MANAGER_EVENTS else self.consortium
        return list(
            contract.events[name]().process_receipt(receipt, errors=EventLogErrorFlags.Discard)
        )

    def log_names(self, receipt: Any) -> list[str]:
        """Event names of a receipt's logs, in order."""
        topics = {}
        for contract in (self.manager, self.consortium):
            for item in contract.abi:
                if item["type"] == "event":
                    sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                    topics[keccak(text=sig)] = item["name"]
        return [topics[bytes(log["topics"][0])] for log in receipt["logs"]]


_MANAGER_EVENTS = {
    item["name"] for item in load_artifact("SessionManager")["abi"] if item["type"] == "event"
}


def _deploy(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": sender})
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


@pytest.fixture(scope="module")
def _module_chain() -> Chain:
    w3 = Web3(EthereumTesterProvider())
    accounts = [to_checksum_address(a) for a in w3.eth.accounts]
    admin, org_a, org_b, org_c, org_d, auditor, preprocessor, outsider, unregistered = accounts[:9]
    consortium = _deploy(w3, "Consortium", admin)
    manager = _deploy(w3, "SessionManager", admin, consortium.address)
    orgs = [org_a, org_b, org_c, org_d]
    for i, org in enumerate(orgs):
        tx = consortium.functions.registerOrg(
            org, f"org-{i}", keccak(text=f"key-{i}"), f"127.0.0.1:{9000 + i}"
        ).transact({"from": admin})
        w3.eth.wait_for_transaction_receipt(tx)
    for fn in (
        consortium.functions.registerAuditor(auditor),
        consortium.functions.registerService(preprocessor, "dealer"),
        consortium.functions.allowModulus(P127),
        consortium.functions.allowModulus(BN254_R),
    ):
        w3.eth.wait_for_transaction_receipt(fn.transact({"from": admin}))
    return Chain(
        w3, consortium, manager, admin, orgs, auditor, preprocessor, outsider, unregistered
    )


@pytest.fixture
def chain(_module_chain: Chain) -> Iterator[Chain]:
    """The module's chain, rolled back after each test."""
    snapshot = _module_chain.tester.take_snapshot()
    yield _module_chain
    _module_chain.tester.revert_to_snapshot(snapshot)


@pytest.fixture
def fresh_w3() -> Web3:
    return Web3(EthereumTesterProvider())


# ----------------------------------------------------------------------------- a session driver


@dataclass
class Run:
    """Drives one session through the protocol, honestly unless told otherwise."""

    chain: Chain
    parts: list[str]
    modulus: int = P127
    output_length: int = 2
    sid: int = 0
    deadline: int = 0
    params_hash: bytes = ZERO32
    salts: dict[str, bytes] = field(default_factory=dict)
    shares: dict[str, list[int]] = field(default_factory=dict)

    @property
    def sm(self) -> Contract:
        return self.chain.manager

    def open(self, sender: str | None = None, ttl: int = 3600) -> Any:
        self.deadline = self.chain.now() + ttl
        fn = self.sm.functions.openSession(
            JOB,
            self.parts,
            self.modulus,
            self.chain.preprocessor,
            self.deadline,
            self.output_length,
        )
        sender = sender or self.chain.admin
        self.sid = fn.call({"from": sender})
        receipt = self.chain.send(fn, sender)
        self.params_hash = self.expected_params_hash()
        return receipt

    def expected_params_hash(self, **changes: Any) -> bytes:
        """The package's params hash of this session's parameters (some of them changed)."""
        params: dict[str, Any] = {
            "chain_id": self.chain.chain_id,
            "manager": self.sm.address,
            "session": self.sid,
            "job_hash": JOB,
            "participants": self.parts,
            "modulus": self.modulus,
            "preprocessor": self.chain.preprocessor,
            "deadline": self.deadline,
            "output_length": self.output_length,
        }
        params.update(changes)
        return session_params_hash(**params)

    def accept(self) -> list[Any]:
        return [
            self.chain.send(self.sm.functions.acceptSession(self.sid, self.params_hash), org)
            for org in self.parts
        ]

    def preprocess(self) -> Any:
        hashes = [keccak(text=f"batch-{org}") for org in self.parts]
        return self.chain.send(
            self.sm.functions.commitPreprocessing(self.sid, hashes, COUNTS),
            self.chain.preprocessor,
        )

    def state(self) -> int:
        return int(self.sm.functions.getSession(self.sid).call()[5])

    def checkpoint_count(self) -> int:
        return int(self.sm.functions.getSession(self.sid).call()[6])

    def commit_checkpoint(
        self, sigmas: Sequence[int], digests: Sequence[bytes] | None = None
    ) -> tuple[list[bytes], list[Any]]:
        cp = self.checkpoint_count()
        digests = list(digests or [keccak(text=f"transcript-{cp}")] * len(self.parts))
        salts, receipts = [], []
        for org, sigma, digest in zip(self.parts, sigmas, digests, strict=True):
            salt = rand32()
            salts.append(salt)
            com = self.chain.sigma_com(sigma, salt, org, self.sid, cp)
            receipts.append(
                self.chain.send(self.sm.functions.commitCheckpoint(self.sid, digest, com), org)
            )
        return salts, receipts

    def reveal_checkpoint(self, sigmas: Sequence[int], salts: Sequence[bytes]) -> list[Any]:
        return [
            self.chain.send(self.sm.functions.revealSigma(self.sid, sigma, salt), org)
            for org, sigma, salt in zip(self.parts, sigmas, salts, strict=True)
        ]

    def checkpoint(self) -> list[Any]:
        sigmas = zero_sum(len(self.parts), self.modulus)
        salts, commits = self.commit_checkpoint(sigmas)
        return commits + self.reveal_checkpoint(sigmas, salts)

    def commit_inputs(self) -> list[Any]:
        return [
            self.chain.send(self.sm.functions.commitInput(self.sid, keccak(text=f"in-{o}")), o)
            for o in self.parts
        ]

    def commit_outputs(self, result: Sequence[int]) -> list[Any]:
        """Split ``result`` into random additive shares and commit each org's shares."""
        n = len(self.parts)
        columns = [zero_sum(n, self.modulus) for _ in result]
        receipts = []
        for i, org in enumerate(self.parts):
            self.shares[org] = [
                (col[i] + (v if i == 0 else 0)) % self.modulus
                for col, v in zip(columns, result, strict=True)
            ]
            self.salts[org] = rand32()
            com = self.chain.output_com(self.shares[org], self.salts[org], org, self.sid)
            receipts.append(self.chain.send(self.sm.functions.commitOutput(self.sid, com), org))
        return receipts

    def reveal_output(self, org: str) -> Any:
        return self.chain.send(
            self.sm.functions.revealOutput(self.sid, self.shares[org], self.salts[org]), org
        )

    def to_accepted(self) -> Run:
        self.open()
        self.accept()
        return self

    def to_preprocessed(self) -> Run:
        self.to_accepted()
        self.preprocess()
        return self

    def to_sacrifice_checked(self) -> Run:
        self.to_preprocessed()
        self.checkpoint()
        return self

    def to_computing(self) -> Run:
        self.to_sacrifice_checked()
        self.commit_inputs()
        return self

    def to_output_allowed(self) -> Run:
        self.to_computing()
        self.checkpoint()
        return self

    def to_output_revealed(self, result: Sequence[int]) -> Run:
        assert len(result) == self.output_length
        self.to_output_allowed()
        self.commit_outputs(result)
        for org in self.parts:
            self.reveal_output(org)
        return self


def run3(chain: Chain, modulus: int = P127, output_length: int = 2) -> Run:
    return Run(chain, chain.orgs[:3], modulus, output_length)


def assert_aborted(
    run: Run, reason: int, culprit: str, checkpoint: int, claim: int, receipt: Any, by: str
) -> None:
    assert receipt["status"] == 1  # an abort never reverts
    assert run.state() == ABORTED
    assert run.sm.functions.getAbort(run.sid).call() == [reason, by, culprit, checkpoint, claim]
    assert run.sm.functions.getResult(run.sid).call() == []
    (ev,) = run.chain.events(receipt, "SessionAborted")
    assert ev["args"] == {
        "sessionId": run.sid,
        "reason": reason,
        "by": by,
        "culprit": culprit,
        "checkpoint": checkpoint,
        "claim": claim,
    }
    names = run.chain.log_names(receipt)
    assert names[-2:] == ["SessionAborted", "StateChanged"]
    (sc,) = run.chain.events(receipt, "StateChanged")
    assert sc["args"]["state"] == ABORTED
    # A closed session accepts nothing more.
    org = run.parts[0]
    with reverts(run.sm, "SessionClosed", run.sid, ABORTED):
        run.sm.functions.abort(run.sid, AbortClaim.TIMEOUT).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, ABORTED):
        run.sm.functions.acceptSession(run.sid, run.params_hash).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, ABORTED):
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, ABORTED):
        run.sm.functions.abortExpired(run.sid).transact({"from": run.chain.outsider})


# ============================================================================= Consortium


def test_admin_is_deployer(chain: Chain) -> None:
    assert chain.consortium.functions.admin().call() == chain.admin
    assert chain.manager.functions.consortium().call() == chain.consortium.address


def test_register_org(fresh_w3: Web3) -> None:
    w3 = fresh_w3
    admin, org = w3.eth.accounts[0], to_checksum_address(w3.eth.accounts[1])
    c = _deploy(w3, "Consortium", admin)
    assert c.functions.orgCount().call() == 0
    key = keccak(text="k")
    receipt = w3.eth.wait_for_transaction_receipt(
        c.functions.registerOrg(org, "Hospital A", key, "10.0.0.1:7000").transact({"from": admin})
    )
    (ev,) = c.events.OrgRegistered().process_receipt(receipt)
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
    assert chain.log_names(receipt) == ["ServiceRegistered"]
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
    assert sc["args"] == {"sessionId": 1, "state": OPENED}
    assert sm.functions.getSession(1).call() == [
        JOB,
        chain.preprocessor,
        P127,
        run.deadline,
        2,
        OPENED,
        0,
        run.parts,
        params_hash,
    ]
    assert sm.functions.getResult(1).call() == []
    assert sm.functions.getAbort(1).call() == [R_NONE, ZERO_ADDRESS, ZERO_ADDRESS, 0, 0]
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
    assert sc["args"] == {"sessionId": sid, "state": ACCEPTED}
    assert run.state() == ACCEPTED
    assert not sm.functions.isAccepted(sid, chain.orgs[3]).call()
    with reverts(sm, "WrongState", OPENED, ACCEPTED):
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
    assert run.state() == OPENED


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
    assert sc["args"] == {"sessionId": run.sid, "state": PREPROCESSED}
    assert run.state() == PREPROCESSED


def test_preprocessing_needs_every_acceptance(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid, pre = run.sm, run.sid, chain.preprocessor
    hashes = [rand32() for _ in range(3)]
    with reverts(sm, "WrongState", ACCEPTED, OPENED):
        sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})
    for org in run.parts[:2]:
        chain.send(sm.functions.acceptSession(sid, run.params_hash), org)
        with reverts(sm, "WrongState", ACCEPTED, OPENED):
            sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})
    chain.send(sm.functions.acceptSession(sid, run.params_hash), run.parts[2])
    chain.send(sm.functions.commitPreprocessing(sid, hashes, COUNTS), pre)
    assert run.state() == PREPROCESSED


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
    with reverts(sm, "WrongState", ACCEPTED, PREPROCESSED):
        sm.functions.commitPreprocessing(sid, hashes, COUNTS).transact({"from": pre})


@pytest.mark.parametrize("stage", ["opened", "accepted"])
def test_nothing_but_acceptance_and_preprocessing_before(chain: Chain, stage: str) -> None:
    run = run3(chain)
    run.open()
    state = OPENED
    if stage == "accepted":
        run.accept()
        state = ACCEPTED
    sm, sid, org = run.sm, run.sid, run.parts[0]
    with reverts(sm, "WrongState", PREPROCESSED, state):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": org})
    with reverts(sm, "WrongState", PREPROCESSED, state):
        sm.functions.revealSigma(sid, 1, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", PREPROCESSED, state):
        sm.functions.commitInput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", COMPUTING, state):
        sm.functions.commitOutput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", COMPUTING, state):
        sm.functions.revealOutput(sid, [1, 2], rand32()).transact({"from": org})


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
    assert run.state() == PREPROCESSED

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
    assert run.state() == PREPROCESSED
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
    assert_aborted(run, R_DIGEST_MISMATCH, ZERO_ADDRESS, 0, C_NONE, receipts[-1], run.parts[2])


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
    assert_aborted(run, R_SIGMA_MISMATCH, b, 1, C_NONE, receipt, b)


def test_sigma_mismatch_wrong_salt_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    a = run.parts[0]
    receipt = chain.send(run.sm.functions.revealSigma(run.sid, sigmas[0], rand32()), a)
    assert_aborted(run, R_SIGMA_MISMATCH, a, 0, C_NONE, receipt, a)


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
    assert_aborted(run, R_SIGMA_MISMATCH, b, 0, C_NONE, receipt, b)


def test_mac_check_failure_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    sigmas[2] = (sigmas[2] + 1) % run.modulus  # sum is 1, not 0
    salts, _ = run.commit_checkpoint(sigmas)
    receipts = run.reveal_checkpoint(sigmas, salts)
    assert chain.log_names(receipts[-1])[0] == "SigmaRevealed"
    assert "CheckpointPassed" not in chain.log_names(receipts[-1])
    assert_aborted(run, R_MAC_CHECK_FAILED, ZERO_ADDRESS, 0, C_NONE, receipts[-1], run.parts[2])
    assert run.checkpoint_count() == 0


def test_mac_check_sum_is_modular(chain: Chain) -> None:
    """Sigmas near the modulus wrap around (addmod)."""
    run = Run(chain, chain.orgs[:2], modulus=BN254_R)
    run.to_preprocessed()
    sigmas = [BN254_R - 1, 1]
    salts, _ = run.commit_checkpoint(sigmas)
    run.reveal_checkpoint(sigmas, salts)
    assert run.checkpoint_count() == 1
    assert run.state() == PREPROCESSED


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
    assert sc["args"] == {"sessionId": run.sid, "state": COMPUTING}
    assert run.state() == COMPUTING


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
    with reverts(sm, "WrongState", PREPROCESSED, COMPUTING):
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
    assert run.state() == COMPUTING


# ============================================================================= outputs


def test_commit_output_errors(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sm, sid = run.sm, run.sid
    a, b, c = run.parts
    with reverts(sm, "WrongState", COMPUTING, PREPROCESSED):
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
    assert run.state() == COMPUTING


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
    assert run.state() == OUTPUT_REVEALED
    assert sm.functions.getResult(sid).call() == []  # not final yet
    with reverts(sm, "WrongState", COMPUTING, OUTPUT_REVEALED):
        run.reveal_output(c)
    with reverts(sm, "WrongState", COMPUTING, OUTPUT_REVEALED):
        sm.functions.commitOutput(sid, rand32()).transact({"from": a})
    with reverts(sm, "WrongState", PREPROCESSED, OUTPUT_REVEALED):
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
    assert_aborted(run, R_OUTPUT_MISMATCH, b, 2, C_NONE, receipt, b)


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
    assert run.state() == OUTPUT_REVEALED
    run.checkpoint()
    assert run.state() == FINALISED
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
    assert run.state() == COMPUTING
    revealed = {e["args"]["org"] for e in sm.events.OutputRevealed().get_logs(from_block=0)}
    assert revealed == {b, c}
    chain.time_travel(run.deadline + 1)
    receipt = chain.send(sm.functions.abortExpired(sid), chain.outsider)
    assert_aborted(run, R_EXPIRED, ZERO_ADDRESS, 2, C_NONE, receipt, chain.outsider)


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
    assert run.state() == COMPUTING
    receipt = chain.send(sm.functions.revealOutput(sid, run.shares[a], run.salts[a]), b)
    (ev,) = chain.events(receipt, "OutputRejected")
    assert ev["args"]["org"] == b
    assert_aborted(run, R_OUTPUT_MISMATCH, b, 2, C_NONE, receipt, b)


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
    assert run.state() == OUTPUT_REVEALED
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
    assert sc["args"] == {"sessionId": run.sid, "state": FINALISED}
    assert run.state() == FINALISED
    assert run.checkpoint_count() == 3
    assert run.sm.functions.getResult(run.sid).call() == result
    assert run.sm.functions.getAbort(run.sid).call() == [R_NONE, ZERO_ADDRESS, ZERO_ADDRESS, 0, 0]

    # a finalised session is closed for everything
    org = run.parts[0]
    for fn in (
        run.sm.functions.acceptSession(run.sid, run.params_hash),
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()),
        run.sm.functions.revealSigma(run.sid, 0, rand32()),
        run.sm.functions.abort(run.sid, AbortClaim.PROTOCOL_ERROR),
        run.sm.functions.abortExpired(run.sid),
    ):
        with reverts(run.sm, "SessionClosed", run.sid, FINALISED):
            fn.transact({"from": org})
    chain.time_travel(run.deadline + 10)
    with reverts(run.sm, "SessionClosed", run.sid, FINALISED):
        run.sm.functions.abortExpired(run.sid).transact({"from": chain.outsider})


def test_checkpoint_after_output_reveal_can_fail(chain: Chain) -> None:
    run = run3(chain).to_output_revealed([9, 9])
    sigmas = zero_sum(3, run.modulus)
    sigmas[0] = (sigmas[0] + 5) % run.modulus
    salts, _ = run.commit_checkpoint(sigmas)
    receipts = run.reveal_checkpoint(sigmas, salts)
    assert_aborted(run, R_MAC_CHECK_FAILED, ZERO_ADDRESS, 2, C_NONE, receipts[-1], run.parts[2])


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
    assert sm.functions.getSession(one.sid).call()[5] == PREPROCESSED


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
    assert_aborted(run, R_PARTICIPANT_ABORT, ZERO_ADDRESS, expected_cp, claim, receipt, org)


def test_participant_abort_needs_a_claim(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    org = run.parts[0]
    assert_reverts_raw(run.sm.functions.abort(run.sid, AbortClaim.NONE), org, "EmptyField", "claim")
    # a value outside the enum fails ABI decoding (no custom error, nothing recorded)
    data = run.sm.encode_abi("abort", [run.sid, 0])[:-2] + f"{len(AbortClaim):02x}"
    with pytest.raises((TransactionFailed, ContractLogicError)):
        chain.w3.eth.send_transaction({"from": org, "to": run.sm.address, "data": data})
    assert run.state() == PREPROCESSED
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
    assert_aborted(run, R_EXPIRED, ZERO_ADDRESS, 1, C_NONE, receipt, chain.outsider)


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
    assert run.state() == PREPROCESSED


def test_abort_discards_pending_output(chain: Chain) -> None:
    run = run3(chain).to_output_revealed([100, 200])
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    chain.time_travel(run.deadline + 1)
    receipt = chain.send(run.sm.functions.abortExpired(run.sid), chain.auditor)
    assert_aborted(run, R_EXPIRED, ZERO_ADDRESS, 2, C_NONE, receipt, chain.auditor)
    assert run.sm.functions.getResult(run.sid).call() == []


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
    accepts for ~63k each (~65k for the last, which changes the state), commits preprocessing
    for ~121k."""
    run = Run(chain, chain.orgs[:n_orgs])
    opened = run.open()["gasUsed"]
    accepts = [r["gasUsed"] for r in run.accept()]
    pre = run.preprocess()["gasUsed"]
    print(
        f"gas n={n_orgs}: openSession {opened}, acceptSession {accepts}, commitPreprocessing {pre}"
    )
    assert opened < 210_000 + 50_000 * n_orgs
    assert max(accepts) < 70_000
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
        AbortReason,
        ConsortiumClient,
        SessionClient,
        SessionInfo,
        State,
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
    reg = ConsortiumClient(w3, deploy_contract(admin, "Consortium"))
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
