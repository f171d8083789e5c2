"""The embedded-chain fixture and session driver shared by the contract tests.

``deploy_chain`` deploys the committed artifacts on a fresh eth-tester chain; ``Run`` drives one
session through the protocol with the raw contract functions (so a test can send any call from
any account and inspect its receipt), reading state through the package's ``SessionClient``.
Reverts are decoded with the package's ``onchain.transactions.decode_revert``.
"""

from __future__ import annotations

import ast
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import eth_abi
import pytest
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import EventLogErrorFlags

from onchain.clients import AbortClaim, SessionClient, State
from onchain.commitments import output_commitment, session_params_hash, sigma_commitment
from onchain.compile import load_artifact
from onchain.transactions import decode_revert, revert_data

P127 = 2**127 - 1
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20

MAX_SESSION_DURATION = 7 * 24 * 3600
JOB = keccak(text="job")
COUNTS = [10, 0, 3]  # an opaque material-count vector


# ----------------------------------------------------------------------------- revert decoding


REVERTED = (TransactionFailed, ContractCustomError, ContractLogicError)


def _assert_error(contract: Contract, data: bytes, name: str, args: tuple[Any, ...]) -> None:
    decoded = decode_revert(data, contract.abi)
    assert decoded is not None, f"unknown revert data 0x{data.hex()}"
    got_name, got_args = decoded
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
    with pytest.raises(REVERTED) as info:
        yield
    data = revert_data(info.value)
    assert data is not None, f"cannot extract revert data from {info.value!r}"
    _assert_error(contract, data, name, args)


def assert_reverts_raw(fn: Any, sender: str, name: str, *args: Any) -> None:
    """Assert ``fn`` reverts as a transaction, then decode its revert data straight from the
    eth-tester backend (which keeps the raw bytes, selector included)."""
    with pytest.raises(REVERTED):
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


def additive_shares(result: Sequence[int], n: int, modulus: int) -> list[list[int]]:
    """``n`` random share vectors (one per org) that sum to ``result`` mod ``modulus``."""
    columns = [zero_sum(n, modulus) for _ in result]
    return [
        [(col[i] + (v if i == 0 else 0)) % modulus for col, v in zip(columns, result, strict=True)]
        for i in range(n)
    ]


def rand32() -> bytes:
    return secrets.token_bytes(32)


# ----------------------------------------------------------------------------- fixtures


@dataclass
class Chain:
    w3: Web3
    consortium: Contract
    manager: Contract
    sessions: SessionClient  # the package's client of `manager`, for its typed views
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

    def view(self, fn: Any) -> tuple[Any, ...]:
        """The values ``fn`` returns, called on the eth-tester backend and decoded with eth_abi
        (no web3 middleware: twice as fast as ``fn.call()``; addresses come back lower-case)."""
        data = fn._encode_transaction_data()
        raw = self.tester.call({"from": self.admin, "to": fn.address, "data": data})
        types = [output["type"] for output in fn.abi["outputs"]]
        return tuple(eth_abi.decode(types, bytes.fromhex(raw[2:])))

    def try_send(self, fn: Any, sender: str, gas: int = 3_000_000) -> Any | None:
        """Send ``fn`` from ``sender``: its receipt, or None if it reverts (nothing changes).

        Dry-runs the call first (a revert costs one execution) and sends it with a fixed gas
        limit (no gas estimation, several times faster than ``send``); a transaction that still
        fails once mined (its block's timestamp can differ from the dry run's) also gives None.
        """
        try:
            fn.call({"from": sender})
        except REVERTED:
            return None
        receipt = self.w3.eth.wait_for_transaction_receipt(
            fn.transact({"from": sender, "gas": gas})
        )
        return receipt if receipt["status"] == 1 else None

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


def deploy_contract(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": sender})
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def deploy_chain() -> Chain:
    """A fresh embedded chain with both contracts deployed, four orgs, an auditor, a service
    and two allowed moduli."""
    w3 = Web3(EthereumTesterProvider())
    accounts = [to_checksum_address(a) for a in w3.eth.accounts]
    admin, org_a, org_b, org_c, org_d, auditor, preprocessor, outsider, unregistered = accounts[:9]
    consortium = deploy_contract(w3, "Consortium", admin, 0)
    manager = deploy_contract(w3, "SessionManager", admin, consortium.address)
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
    sessions = SessionClient(w3, manager.address)
    return Chain(
        w3,
        consortium,
        manager,
        sessions,
        admin,
        orgs,
        auditor,
        preprocessor,
        outsider,
        unregistered,
    )


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

    def open_fn(self, ttl: int = 3600) -> Any:
        """The ``openSession`` call of this run's parameters, with a deadline ``ttl`` from now
        (``deadline`` is set; ``sid`` and ``params_hash`` are the caller's to set)."""
        self.deadline = self.chain.now() + ttl
        return self.sm.functions.openSession(
            JOB,
            self.parts,
            self.modulus,
            self.chain.preprocessor,
            self.deadline,
            self.output_length,
        )

    def open(self, sender: str | None = None, ttl: int = 3600) -> Any:
        fn = self.open_fn(ttl)
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

    def state(self) -> State:
        return self.chain.sessions.session(self.sid).state

    def checkpoint_count(self) -> int:
        return self.chain.sessions.session(self.sid).checkpoint_count

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
        shares = additive_shares(result, len(self.parts), self.modulus)
        receipts = []
        for org, org_shares in zip(self.parts, shares, strict=True):
            self.shares[org] = org_shares
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
    assert run.state() == State.ABORTED
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
    assert sc["args"]["state"] == State.ABORTED
    # A closed session accepts nothing more.
    org = run.parts[0]
    with reverts(run.sm, "SessionClosed", run.sid, State.ABORTED):
        run.sm.functions.abort(run.sid, AbortClaim.TIMEOUT).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, State.ABORTED):
        run.sm.functions.acceptSession(run.sid, run.params_hash).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, State.ABORTED):
        run.sm.functions.commitCheckpoint(run.sid, rand32(), rand32()).transact({"from": org})
    with reverts(run.sm, "SessionClosed", run.sid, State.ABORTED):
        run.sm.functions.abortExpired(run.sid).transact({"from": run.chain.outsider})
