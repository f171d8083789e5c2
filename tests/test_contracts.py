"""Consortium and SessionManager against their committed artifacts, on the embedded chain.

Every rule of the contracts' interface is exercised here: each custom error (decoded from the
revert data by name and arguments), the abort paths (which must not revert), deadline expiry
and a full honest session that reaches Finalised with the right result.
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
from eth_abi import encode as abi_encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import EventLogErrorFlags

from onchain.compile import load_artifact
from onchain.transactions import revert_data

P127 = 2**127 - 1
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20

# enum State / enum AbortReason of SessionManager
NONE, OPENED, PREPROCESSED, COMPUTING, OUTPUT_REVEALED, FINALISED, ABORTED = range(7)
(
    R_NONE,
    R_DIGEST_MISMATCH,
    R_SIGMA_MISMATCH,
    R_MAC_CHECK_FAILED,
    R_OUTPUT_MISMATCH,
    R_PARTICIPANT_ABORT,
    R_EXPIRED,
) = range(7)


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


# ----------------------------------------------------------------------------- commitments


def sigma_commitment(sigma: int, salt: bytes, org: str, session_id: int, checkpoint: int) -> bytes:
    return keccak(
        abi_encode(
            ["uint256", "bytes32", "address", "uint256", "uint256"],
            [sigma, salt, org, session_id, checkpoint],
        )
    )


def output_commitment(shares: Sequence[int], salt: bytes, org: str, session_id: int) -> bytes:
    return keccak(
        abi_encode(
            ["uint256[]", "bytes32", "address", "uint256"], [list(shares), salt, org, session_id]
        )
    )


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
    w3.eth.wait_for_transaction_receipt(
        consortium.functions.registerAuditor(auditor).transact({"from": admin})
    )
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
    sid: int = 0
    deadline: int = 0
    salts: dict[str, bytes] = field(default_factory=dict)
    shares: dict[str, list[int]] = field(default_factory=dict)

    @property
    def sm(self) -> Contract:
        return self.chain.manager

    def open(self, sender: str | None = None, ttl: int = 3600) -> Any:
        self.deadline = self.chain.now() + ttl
        fn = self.sm.functions.openSession(
            keccak(text="job"), self.parts, self.modulus, self.chain.preprocessor, self.deadline
        )
        sender = sender or self.chain.admin
        self.sid = fn.call({"from": sender})
        return self.chain.send(fn, sender)

    def preprocess(self) -> Any:
        hashes = [keccak(text=f"batch-{org}") for org in self.parts]
        return self.chain.send(
            self.sm.functions.commitPreprocessing(self.sid, hashes), self.chain.preprocessor
        )

    def state(self) -> int:
        return int(self.sm.functions.getSession(self.sid).call()[4])

    def checkpoint_count(self) -> int:
        return int(self.sm.functions.getSession(self.sid).call()[5])

    def commit_checkpoint(
        self, sigmas: Sequence[int], digests: Sequence[bytes] | None = None
    ) -> tuple[list[bytes], list[Any]]:
        cp = self.checkpoint_count()
        digests = list(digests or [keccak(text=f"transcript-{cp}")] * len(self.parts))
        salts, receipts = [], []
        for org, sigma, digest in zip(self.parts, sigmas, digests, strict=True):
            salt = rand32()
            salts.append(salt)
            com = sigma_commitment(sigma, salt, org, self.sid, cp)
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
            com = output_commitment(self.shares[org], self.salts[org], org, self.sid)
            receipts.append(self.chain.send(self.sm.functions.commitOutput(self.sid, com), org))
        return receipts

    def reveal_output(self, org: str) -> Any:
        return self.chain.send(
            self.sm.functions.revealOutput(self.sid, self.shares[org], self.salts[org]), org
        )

    def to_preprocessed(self) -> Run:
        self.open()
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
        self.to_output_allowed()
        self.commit_outputs(result)
        for org in self.parts:
            self.reveal_output(org)
        return self


def run3(chain: Chain, modulus: int = P127) -> Run:
    return Run(chain, chain.orgs[:3], modulus)


def assert_aborted(
    run: Run, reason: int, culprit: str, checkpoint: int, detail: bytes, receipt: Any, by: str
) -> None:
    assert receipt["status"] == 1  # an abort never reverts
    assert run.state() == ABORTED
    assert run.sm.functions.getAbort(run.sid).call() == [reason, culprit, checkpoint, detail]
    assert run.sm.functions.getResult(run.sid).call() == []
    (ev,) = run.chain.events(receipt, "SessionAborted")
    assert ev["args"]["sessionId"] == run.sid
    assert ev["args"]["reason"] == reason
    assert ev["args"]["by"] == by
    assert ev["args"]["culprit"] == culprit
    assert ev["args"]["checkpoint"] == checkpoint
    assert ev["args"]["detail"] == detail
    names = run.chain.log_names(receipt)
    assert names[-2:] == ["SessionAborted", "StateChanged"]
    (sc,) = run.chain.events(receipt, "StateChanged")
    assert sc["args"]["state"] == ABORTED
    # A closed session accepts nothing more.
    org = run.parts[0]
    with reverts(run.sm, "SessionClosed", run.sid, ABORTED):
        run.sm.functions.abort(run.sid, ZERO32).transact({"from": org})
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
    (ev,) = chain.events(receipt, "SessionOpened")
    assert ev["args"] == {
        "sessionId": 1,
        "jobHash": keccak(text="job"),
        "participants": run.parts,
        "modulus": P127,
        "preprocessor": chain.preprocessor,
        "deadline": run.deadline,
    }
    (sc,) = chain.events(receipt, "StateChanged")
    assert sc["args"] == {"sessionId": 1, "state": OPENED}
    assert sm.functions.getSession(1).call() == [
        keccak(text="job"),
        chain.preprocessor,
        P127,
        run.deadline,
        OPENED,
        0,
        run.parts,
    ]
    assert sm.functions.getResult(1).call() == []
    assert sm.functions.getAbort(1).call() == [R_NONE, ZERO_ADDRESS, 0, ZERO32]
    assert sm.functions.batchHash(1, run.parts[0]).call() == ZERO32

    # an org may open a session too; ids count up
    run2 = Run(chain, chain.orgs[2:4], BN254_R)
    run2.open(sender=chain.orgs[3])
    assert run2.sid == 2
    assert sm.functions.sessionCount().call() == 2


def test_open_session_errors(chain: Chain) -> None:
    sm, admin = chain.manager, chain.admin
    a, b = chain.orgs[:2]
    deadline = chain.now() + 3600
    job = keccak(text="job")
    pre = chain.preprocessor

    def open_(parts: list[str], modulus: int = P127, pp: str = pre, dl: int = deadline) -> Any:
        return sm.functions.openSession(job, parts, modulus, pp, dl)

    with reverts(sm, "NotAuthorized", chain.auditor):
        open_([a, b]).transact({"from": chain.auditor})
    with reverts(sm, "NotAuthorized", chain.outsider):
        open_([a, b]).transact({"from": chain.outsider})
    with reverts(sm, "TooFewParticipants"):
        open_([]).transact({"from": admin})
    with reverts(sm, "TooFewParticipants"):
        open_([a]).transact({"from": admin})
    with reverts(sm, "UnknownOrg", chain.auditor):
        open_([a, chain.auditor]).transact({"from": admin})
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
    assert sm.functions.sessionCount().call() == 0
    # smallest valid modulus
    chain.send(open_([a, b], modulus=3), admin)
    assert sm.functions.sessionCount().call() == 1


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
        calls = [
            sm.functions.commitPreprocessing(sid, [rand32()] * 3),
            sm.functions.commitCheckpoint(sid, rand32(), rand32()),
            sm.functions.revealSigma(sid, 1, rand32()),
            sm.functions.commitInput(sid, rand32()),
            sm.functions.commitOutput(sid, rand32()),
            sm.functions.revealOutput(sid, [1], rand32()),
            sm.functions.abort(sid, ZERO32),
            sm.functions.abortExpired(sid),
        ]
        for fn in calls:
            with reverts(sm, "UnknownSession", sid):
                fn.transact({"from": org})


# ============================================================================= preprocessing


def test_commit_preprocessing(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    receipt = run.preprocess()
    assert chain.log_names(receipt) == ["PreprocessingCommitted"] * 3 + ["StateChanged"]
    evs = chain.events(receipt, "PreprocessingCommitted")
    assert [e["args"]["org"] for e in evs] == run.parts
    for ev, org in zip(evs, run.parts, strict=True):
        assert ev["args"]["sessionId"] == run.sid
        assert ev["args"]["batchHash"] == keccak(text=f"batch-{org}")
        assert run.sm.functions.batchHash(run.sid, org).call() == keccak(text=f"batch-{org}")
    assert run.sm.functions.batchHash(run.sid, chain.orgs[3]).call() == ZERO32
    assert run.state() == PREPROCESSED


def test_commit_preprocessing_errors(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid, pre = run.sm, run.sid, chain.preprocessor
    hashes = [rand32() for _ in range(3)]
    with reverts(sm, "NotPreprocessor", run.parts[0]):
        sm.functions.commitPreprocessing(sid, hashes).transact({"from": run.parts[0]})
    with reverts(sm, "LengthMismatch", 3, 2):
        sm.functions.commitPreprocessing(sid, hashes[:2]).transact({"from": pre})
    with reverts(sm, "LengthMismatch", 3, 4):
        sm.functions.commitPreprocessing(sid, hashes + [rand32()]).transact({"from": pre})
    assert_reverts_raw(
        sm.functions.commitPreprocessing(sid, [hashes[0], ZERO32, hashes[2]]),
        pre,
        "EmptyField",
        "batchHash",
    )
    chain.send(sm.functions.commitPreprocessing(sid, hashes), pre)
    with reverts(sm, "WrongState", OPENED, PREPROCESSED):
        sm.functions.commitPreprocessing(sid, hashes).transact({"from": pre})


def test_nothing_but_preprocessing_while_opened(chain: Chain) -> None:
    run = run3(chain)
    run.open()
    sm, sid, org = run.sm, run.sid, run.parts[0]
    with reverts(sm, "WrongState", PREPROCESSED, OPENED):
        sm.functions.commitCheckpoint(sid, rand32(), rand32()).transact({"from": org})
    with reverts(sm, "WrongState", PREPROCESSED, OPENED):
        sm.functions.revealSigma(sid, 1, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", PREPROCESSED, OPENED):
        sm.functions.commitInput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", COMPUTING, OPENED):
        sm.functions.commitOutput(sid, rand32()).transact({"from": org})
    with reverts(sm, "WrongState", COMPUTING, OPENED):
        sm.functions.revealOutput(sid, [1], rand32()).transact({"from": org})


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
            "sigmaCommitment": sigma_commitment(sigma, salt, org, run.sid, 0),
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
        sigma_commitment(s, t, o, sid, 0) for s, t, o in zip(sigmas, salts, run.parts, strict=True)
    ]
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[0]), a)
    with reverts(sm, "AlreadySubmitted", a):
        sm.functions.commitCheckpoint(sid, digest, coms[0]).transact({"from": a})
    with reverts(sm, "WrongPhase"):  # not all committed yet
        sm.functions.revealSigma(sid, sigmas[0], salts[0]).transact({"from": a})
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[1]), b)
    chain.send(sm.functions.commitCheckpoint(sid, digest, coms[2]), c)
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
    assert_aborted(run, R_DIGEST_MISMATCH, ZERO_ADDRESS, 0, ZERO32, receipts[-1], run.parts[2])


def test_sigma_mismatch_aborts(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sigmas = zero_sum(3, run.modulus)
    salts, _ = run.commit_checkpoint(sigmas)
    a, b, _c = run.parts
    chain.send(run.sm.functions.revealSigma(run.sid, sigmas[0], salts[0]), a)
    # b reveals a different sigma than it committed to
    receipt = chain.send(
        run.sm.functions.revealSigma(run.sid, (sigmas[1] + 1) % run.modulus, salts[1]), b
    )
    assert "SigmaRevealed" not in chain.log_names(receipt)
    assert_aborted(run, R_SIGMA_MISMATCH, b, 1, ZERO32, receipt, b)


def test_sigma_mismatch_wrong_salt_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    a = run.parts[0]
    receipt = chain.send(run.sm.functions.revealSigma(run.sid, sigmas[0], rand32()), a)
    assert_aborted(run, R_SIGMA_MISMATCH, a, 0, ZERO32, receipt, a)


def test_mac_check_failure_aborts(chain: Chain) -> None:
    run = run3(chain).to_preprocessed()
    sigmas = zero_sum(3, run.modulus)
    sigmas[2] = (sigmas[2] + 1) % run.modulus  # sum is 1, not 0
    salts, _ = run.commit_checkpoint(sigmas)
    receipts = run.reveal_checkpoint(sigmas, salts)
    assert chain.log_names(receipts[-1])[0] == "SigmaRevealed"
    assert "CheckpointPassed" not in chain.log_names(receipts[-1])
    assert_aborted(run, R_MAC_CHECK_FAILED, ZERO_ADDRESS, 0, ZERO32, receipts[-1], run.parts[2])
    assert run.checkpoint_count() == 0


def test_mac_check_sum_is_modular(chain: Chain) -> None:
    """Sigmas near the modulus wrap around (addmod), and a small modulus works."""
    run = Run(chain, chain.orgs[:2], modulus=7)
    run.to_preprocessed()
    sigmas = [6, 1]
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
    com = sigma_commitment(0, ZERO32, a, sid, 1)
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
    with reverts(sm, "LengthMismatch", 1, 0):
        sm.functions.revealOutput(sid, [], run.salts[a]).transact({"from": a})
    with reverts(sm, "LengthMismatch", 64, 65):
        sm.functions.revealOutput(sid, [0] * 65, run.salts[a]).transact({"from": a})
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
    # the first reveal fixed the length at 2
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
    run = run3(chain).to_output_allowed()
    a, b, _c = run.parts
    run.commit_outputs([11, 12, 13])
    run.reveal_output(a)
    bad = list(run.shares[b])
    bad[1] = (bad[1] + 1) % run.modulus
    receipt = chain.send(run.sm.functions.revealOutput(run.sid, bad, run.salts[b]), b)
    assert "OutputRevealed" not in chain.log_names(receipt)
    assert_aborted(run, R_OUTPUT_MISMATCH, b, 2, ZERO32, receipt, b)


def test_output_mismatch_wrong_sender_binding(chain: Chain) -> None:
    """A commitment binds the committing org: replaying another org's opening aborts."""
    run = run3(chain).to_output_allowed()
    a, b, _c = run.parts
    run.commit_outputs([1])
    receipt = chain.send(run.sm.functions.revealOutput(run.sid, run.shares[a], run.salts[a]), b)
    assert_aborted(run, R_OUTPUT_MISMATCH, b, 2, ZERO32, receipt, b)


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
    run = Run(chain, chain.orgs[:n_orgs], modulus)
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
    assert run.sm.functions.getAbort(run.sid).call() == [R_NONE, ZERO_ADDRESS, 0, ZERO32]

    # a finalised session is closed for everything
    org = run.parts[0]
    for fn in (
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()),
        run.sm.functions.revealSigma(run.sid, 0, rand32()),
        run.sm.functions.abort(run.sid, ZERO32),
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
    assert_aborted(run, R_MAC_CHECK_FAILED, ZERO_ADDRESS, 2, ZERO32, receipts[-1], run.parts[2])


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
    com_one = sigma_commitment(sigmas[0], salts[0], org, one.sid, 0)
    assert com_one != sigma_commitment(sigmas[0], salts[0], org, two.sid, 0)
    two.reveal_checkpoint(sigmas, salts)
    assert two.checkpoint_count() == 1
    assert sm.functions.getSession(one.sid).call()[4] == PREPROCESSED


# ============================================================================= aborts


@pytest.mark.parametrize("stage", ["opened", "preprocessed", "checkpoint", "computing", "output"])
def test_participant_abort(chain: Chain, stage: str) -> None:
    run = run3(chain)
    expected_cp = 0
    if stage == "opened":
        run.open()
    elif stage == "preprocessed":
        run.to_preprocessed()
    elif stage == "checkpoint":
        run.to_preprocessed()
        run.commit_checkpoint(zero_sum(3, run.modulus))
    elif stage == "computing":
        run.to_computing()
        expected_cp = 1
    else:
        run.to_output_revealed([1, 2, 3])
        expected_cp = 2
    org = run.parts[1]
    with reverts(run.sm, "NotParticipant", chain.outsider):
        run.sm.functions.abort(run.sid, ZERO32).transact({"from": chain.outsider})
    with reverts(run.sm, "NotParticipant", chain.preprocessor):
        run.sm.functions.abort(run.sid, ZERO32).transact({"from": chain.preprocessor})
    detail = keccak(text="peer timeout")
    receipt = chain.send(run.sm.functions.abort(run.sid, detail), org)
    assert_aborted(run, R_PARTICIPANT_ABORT, ZERO_ADDRESS, expected_cp, detail, receipt, org)


def test_deadline_expiry(chain: Chain) -> None:
    run = run3(chain).to_sacrifice_checked()
    sm, sid, org = run.sm, run.sid, run.parts[0]
    with reverts(sm, "DeadlineNotPassed"):
        sm.functions.abortExpired(sid).transact({"from": chain.outsider})

    chain.time_travel(run.deadline + 1)
    calls = [
        sm.functions.commitPreprocessing(sid, [rand32()] * 3),
        sm.functions.commitCheckpoint(sid, rand32(), rand32()),
        sm.functions.revealSigma(sid, 1, rand32()),
        sm.functions.commitInput(sid, rand32()),
        sm.functions.commitOutput(sid, rand32()),
        sm.functions.revealOutput(sid, [1], rand32()),
        sm.functions.abort(sid, ZERO32),
    ]
    for fn in calls:
        with reverts(sm, "DeadlinePassed", sid, run.deadline):
            fn.transact({"from": org})
    with reverts(sm, "DeadlinePassed", sid, run.deadline):
        sm.functions.commitPreprocessing(sid, [rand32()] * 3).transact({"from": chain.preprocessor})
    # anyone may record the expiry
    receipt = chain.send(sm.functions.abortExpired(sid), chain.outsider)
    assert_aborted(run, R_EXPIRED, ZERO_ADDRESS, 1, ZERO32, receipt, chain.outsider)


def test_deadline_is_inclusive(chain: Chain) -> None:
    run = run3(chain)
    run.open(ttl=100)
    chain.time_travel(run.deadline)
    # at exactly the deadline the session is still live
    chain.send(run.sm.functions.commitPreprocessing(run.sid, [rand32()] * 3), chain.preprocessor)
    assert int(chain.w3.eth.get_block("latest")["timestamp"]) == run.deadline
    assert run.state() == PREPROCESSED


def test_abort_discards_pending_output(chain: Chain) -> None:
    run = run3(chain).to_output_revealed([100, 200])
    sigmas = zero_sum(3, run.modulus)
    run.commit_checkpoint(sigmas)
    chain.time_travel(run.deadline + 1)
    receipt = chain.send(run.sm.functions.abortExpired(run.sid), chain.auditor)
    assert_aborted(run, R_EXPIRED, ZERO_ADDRESS, 2, ZERO32, receipt, chain.auditor)
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
