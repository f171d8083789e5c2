"""Signing and sending transactions, and turning reverts into readable errors.

One :class:`Sender` per role's account. It signs locally with a nonce allocated under the
account's lock (:mod:`onchain.nonces`), sends raw, never the same transaction twice, waits for
the receipt and records the gas used under the current phase in a shared :class:`TxLog`, from
which the CLI prints its per-phase table. Reverted custom errors surface differently per
backend in web3 8 (eth-tester, ganache/anvil, hardhat node); :func:`revert_reason` decodes all
of them here.
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import TxReceipt

from onchain.exceptions import NodeUnavailable, TransactionError
from onchain.nonces import nonce_lock

PRIORITY_FEE = Web3.to_wei(1, "gwei")
TRANSFER_GAS = 21_000
# How long a sent transaction may take to be mined: instant on dev chains, a few 2-15 s blocks
# on a consortium chain; longer means the node dropped it or its fee is too low.
RECEIPT_TIMEOUT = 120.0
RECEIPT_POLL = 0.2  # seconds between receipt polls (each one a cheap call)
# Nonces tried when the node says one is used by another transaction (another machine sending
# with the same key); and sends of the same signed bytes after lost answers.
NONCE_ATTEMPTS = 5
SEND_ATTEMPTS = 3
# How nodes say "that nonce is used": geth/Besu/anvil, and ganache's wording.
_NONCE_USED = re.compile(
    r"nonce too low|already known|replacement transaction underpriced|already imported"
    r"|doesn't have the correct nonce|known transaction"
    # ganache, when the nonce's transaction is being mined and "pending" does not show it yet
    r"|mining has already started",
    re.I,
)
_REPR_BYTES = re.compile(r"execution reverted: (b(['\"]).*\2)\s*$", re.S)


def fee_per_gas(w3: Web3) -> int:
    """The most one unit of gas costs at the fees a :class:`Sender` offers now (for checking
    that an account can pay before anything is sent)."""
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    return w3.eth.gas_price if base is None else 2 * base + PRIORITY_FEE


#: Gas added to every estimate (see Sender.transact).
GAS_MARGIN = 50_000


@dataclass
class TxRecord:
    """One mined transaction."""

    phase: str
    function: str
    sender: str
    gas_used: int


@dataclass
class TxLog:
    """All transactions sent in one run, grouped by the phase that was current."""

    records: list[TxRecord] = field(default_factory=list)
    phase: str = "setup"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, record: TxRecord) -> None:
        """Append a record (thread-safe)."""
        with self._lock:
            self.records.append(record)


def _error_selectors(abi: list[dict[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    out = {}
    for item in abi:
        if item.get("type") == "error":
            types = [i["type"] for i in item["inputs"]]
            out[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return out


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert bytes (selector first) of a failed call, however the backend raised it.

    eth-tester raises ``TransactionFailed`` with the bytes, or with their ``repr`` after
    "execution reverted: "; ganache and anvil raise ``ContractCustomError`` /
    ``ContractLogicError`` with hex in ``data`` or in ``data["result"]``; hardhat node puts it
    in ``data["data"]``.
    """
    candidates: list[Any] = [getattr(exc, "data", None), *getattr(exc, "args", ())]
    for c in candidates:
        if isinstance(c, dict):
            c = c.get("data") or c.get("result")
        if isinstance(c, bytes | bytearray) and len(c) >= 4:
            return bytes(c)
        if isinstance(c, str):
            match = _REPR_BYTES.search(c)
            if match:
                value = ast.literal_eval(match.group(1))
                if isinstance(value, bytes) and len(value) >= 4:
                    return value
            if c.startswith("0x") and len(c) >= 10:
                try:
                    return bytes.fromhex(c[2:])
                except ValueError:
                    continue
    return None


def decode_revert(
    exc: BaseException | bytes, abi: list[dict[str, Any]]
) -> tuple[str, tuple[Any, ...]] | None:
    """The custom error a failed call reverted with, as ``(name, args)``, if ``abi`` declares
    it; ``None`` if the revert carries no data or an unknown selector. ``exc`` may also be the
    raw revert bytes. Arguments that do not decode raise eth-abi's ``DecodingError``."""
    data = exc if isinstance(exc, bytes) else revert_data(exc)
    if data is None:
        return None
    known = _error_selectors(abi).get(data[:4])
    if known is None:
        return None
    name, types = known
    return name, tuple(abi_decode(types, data[4:])) if types else ()


def revert_reason(exc: BaseException, abi: list[dict[str, Any]]) -> str:
    """A readable ``ErrorName(arg, ...)`` for a reverted call, or the exception's text."""
    try:
        decoded = decode_revert(exc, abi)
    except Exception:  # noqa: BLE001 - malformed arguments: fall back to the bare name
        data = revert_data(exc) or b""
        return _error_selectors(abi)[data[:4]][0]
    if decoded is not None:
        name, args = decoded
        shown = [a.hex() if isinstance(a, bytes) else str(a) for a in args]
        return f"{name}({', '.join(shown)})"
    return str(exc) or type(exc).__name__


def _revert_types() -> tuple[type[BaseException], ...]:
    """The exceptions a reverted ``eth_call`` raises: web3's on a JSON-RPC node, eth-tester's
    own ``TransactionFailed`` on the embedded chain (it is no Web3Exception)."""
    types: list[type[BaseException]] = [ContractLogicError]
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # eth-tester is only needed for the embedded chain
        pass
    else:
        types.append(TransactionFailed)
    return tuple(types)


_REVERTS = _revert_types()


def call(fn: ContractFunction, abi: list[dict[str, Any]], block: int | None = None) -> Any:
    """``fn.call()``; a revert raises :class:`TransactionError` naming the function and the
    decoded error (``getSession reverted: UnknownSession(2)``) instead of a raw selector; a
    node that does not answer, :class:`NodeUnavailable` naming the function read. ``block``
    reads the state as it was then (the auditor's "roles at the time")."""
    try:
        return fn.call() if block is None else fn.call(block_identifier=block)
    except _REVERTS as exc:
        raise TransactionError(f"{fn.fn_name} reverted: {revert_reason(exc, abi)}") from None
    except NodeUnavailable as exc:
        raise exc.about(f"reading {fn.fn_name}") from None


def gas_limit(estimate: int, extra_gas: int = 0) -> int:
    """The gas limit a transaction estimated at ``estimate`` carries. Estimated on the state
    before other accounts' pending transactions: the last org to accept (or commit, or
    reveal) also moves the session on, which costs more gas; ``extra_gas`` covers a step
    whose cost then grows with the session."""
    return estimate * 5 // 4 + GAS_MARGIN + extra_gas


class Sender:
    """Sends contract calls from one locally held account.

    Nonces: the account's pending nonce is read under :func:`~onchain.nonces.nonce_lock` and
    held until the node took the transaction. If the node says the nonce is used, the Sender
    asks whether its own transaction is the one using it (a re-send after a lost answer)
    before it signs anew with the next nonce; after a transport failure it asks the same before
    sending the same signed bytes again. So no transaction is ever sent twice.
    """

    def __init__(self, w3: Web3, account: LocalAccount, log: TxLog, name: str) -> None:
        self.w3 = w3
        self.account = account
        self.log = log
        self.name = name

    @property
    def address(self) -> str:
        """The checksummed address."""
        return self.account.address

    def _fees(self) -> dict[str, int]:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:  # pre-London chain
            return {"gasPrice": self.w3.eth.gas_price}
        return {"maxFeePerGas": 2 * base + PRIORITY_FEE, "maxPriorityFeePerGas": PRIORITY_FEE}

    def _params(self) -> dict[str, Any]:
        # No nonce: it is read under the lock, when the transaction is signed.
        return {"from": self.address, "chainId": self.w3.eth.chain_id, **self._fees()}

    def _built(self, build: Callable[[], dict[str, Any]], label: str, abi: list[Any]) -> dict:
        """``build()`` (which estimates gas): a revert is a :class:`TransactionError`, a node
        that does not answer a :class:`NodeUnavailable` saying what was being sent."""
        try:
            return build()
        except _REVERTS as exc:  # gas estimation is where reverts surface
            raise TransactionError(f"{label} reverted: {revert_reason(exc, abi)}") from None
        except NodeUnavailable as exc:
            raise exc.about(label) from None
        except Web3RPCError as exc:  # answered, but refused: not a revert either
            message = _rpc_message(exc)
            raise TransactionError(f"{label} was refused by the node: {message}") from None

    def transact(
        self, fn: ContractFunction, abi: list[dict[str, Any]], extra_gas: int = 0
    ) -> TxReceipt:
        """Sign, send and mine ``fn``; raise :class:`TransactionError` if it reverts.
        ``extra_gas`` raises the limit for a call whose cost, if it is the last of a round,
        grows with the session (it is a limit: only the gas used is paid)."""
        label = f"{fn.fn_name} by {self.name}"
        tx = self._built(lambda: fn.build_transaction(self._params()), label, abi)
        tx["gas"] = gas_limit(tx["gas"], extra_gas)
        return self._send(tx, fn.fn_name)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> str:
        """Deploy a contract and return its address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        build = factory.constructor(*args).build_transaction
        tx = self._built(lambda: build(self._params()), "deployment", abi)
        receipt = self._send(tx, "deploy")
        return receipt["contractAddress"]

    def pay(self, to: str, wei: int) -> None:
        """Send plain ether (funding a role's fresh account)."""
        tx = self._built(
            lambda: {**self._params(), "to": to, "value": wei, "gas": TRANSFER_GAS},
            f"fund by {self.name}",
            [],
        )
        self._send(tx, "fund")

    def sweep(self, to: str) -> int:
        """Send this account's whole balance less the fee to ``to`` (a throwaway account
        returning its unspent ether) and return the wei sent; ``0``, sending nothing, if the
        balance cannot pay the fee. The fee is exact: the tip equals the fee cap, so gas costs
        exactly the cap and the account is left with nothing."""
        label = f"sweep by {self.name}"
        try:
            chain_id = self.w3.eth.chain_id
            with nonce_lock(chain_id, self.address):
                fees = self._fees()
                price = fees.get("gasPrice") or fees["maxFeePerGas"]
                if "maxFeePerGas" in fees:
                    fees["maxPriorityFeePerGas"] = price
                value = self.w3.eth.get_balance(self.address) - TRANSFER_GAS * price
                if value <= 0:
                    return 0
                tx = {"to": to, "value": value, "gas": TRANSFER_GAS, "chainId": chain_id}
                tx_hash = self._submit({**tx, **fees}, label)
        except NodeUnavailable as exc:
            raise exc.about(label) from None
        self._mined(tx_hash, "sweep")
        return value

    def _send(self, tx: dict[str, Any], label: str) -> TxReceipt:
        what = f"{label} by {self.name}"
        try:
            with nonce_lock(tx["chainId"], self.address):
                tx_hash = self._submit(tx, what)
        except NodeUnavailable as exc:
            raise exc.about(what) from None
        return self._mined(tx_hash, label)

    def _submit(self, tx: dict[str, Any], what: str) -> bytes:
        """Sign ``tx`` with the pending nonce and hand it to the node; the hash. Called with
        the nonce lock held."""
        nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        for _ in range(NONCE_ATTEMPTS):
            fields = {k: v for k, v in tx.items() if k != "from"}
            signed = self.account.sign_transaction({**fields, "nonce": nonce})
            try:
                return self._deliver(signed.raw_transaction, signed.hash)
            except Web3RPCError as exc:
                message = _rpc_message(exc)
                if not _NONCE_USED.search(message):
                    raise TransactionError(f"{what} was refused by the node: {message}") from None
                if self._known(signed.hash):  # the nonce is used by this very transaction
                    return signed.hash
                # Taken by another transaction (another machine with this key): the next one.
                nonce = max(nonce + 1, self.w3.eth.get_transaction_count(self.address, "pending"))
        raise TransactionError(
            f"{what}: the node refused {NONCE_ATTEMPTS} nonces in a row as already used; "
            f"is another machine sending from {self.address}?"
        )

    def _deliver(self, raw: bytes, tx_hash: bytes) -> bytes:
        """Send the signed bytes; if the answer is lost, ask the node for the hash (it may
        have the transaction) and send the same bytes again only if it has not."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return bytes(self.w3.eth.send_raw_transaction(raw))
            except NodeUnavailable:
                if self._known(tx_hash):  # waits, within its patience, for the node
                    return tx_hash
                if attempt == SEND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _known(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def _mined(self, tx_hash: bytes, label: str) -> TxReceipt:
        what = f"{label} by {self.name}"
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=RECEIPT_POLL
            )
        except TimeExhausted:
            raise TransactionError(
                f"{what}: transaction 0x{bytes(tx_hash).hex()} not mined within "
                f"{RECEIPT_TIMEOUT:g} s"
            ) from None
        except NodeUnavailable as exc:
            raise exc.about(f"{what}, transaction 0x{bytes(tx_hash).hex()} sent") from None
        if receipt["status"] != 1:
            raise TransactionError(f"{what} failed on-chain (status 0)")
        self.log.add(TxRecord(self.log.phase, label, self.name, receipt["gasUsed"]))
        return receipt


def _rpc_message(exc: Web3RPCError) -> str:
    error = (getattr(exc, "rpc_response", None) or {}).get("error")
    message = error.get("message") if isinstance(error, dict) else str(exc)
    return str(message or type(exc).__name__).splitlines()[0][:200]
