"""Signing and sending transactions, and turning reverts into readable errors.

One :class:`Sender` per role's account. It signs locally, sends raw, waits for the receipt and
records the gas used under the current phase in a shared :class:`TxLog`, from which the CLI
prints its per-phase table. Reverted custom errors surface differently per backend in web3 8
(eth-tester, ganache/anvil, hardhat node); :func:`revert_reason` decodes all of them here.
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from onchain.exceptions import TransactionError

PRIORITY_FEE = Web3.to_wei(1, "gwei")
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


def call(fn: ContractFunction, abi: list[dict[str, Any]]) -> Any:
    """``fn.call()``; a revert raises :class:`TransactionError` naming the function and the
    decoded error (``getSession reverted: UnknownSession(2)``) instead of a raw selector."""
    try:
        return fn.call()
    except _REVERTS as exc:
        raise TransactionError(f"{fn.fn_name} reverted: {revert_reason(exc, abi)}") from None


class Sender:
    """Sends contract calls from one locally held account."""

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
        return {
            "from": self.address,
            "nonce": self.w3.eth.get_transaction_count(self.address, "latest"),
            "chainId": self.w3.eth.chain_id,
            **self._fees(),
        }

    def transact(self, fn: ContractFunction, abi: list[dict[str, Any]]) -> TxReceipt:
        """Sign, send and mine ``fn``; raise :class:`TransactionError` if it reverts."""
        label = fn.fn_name
        try:
            tx = fn.build_transaction(self._params())
        except Exception as exc:  # noqa: BLE001 - gas estimation is where reverts surface
            raise TransactionError(
                f"{label} by {self.name} reverted: {revert_reason(exc, abi)}"
            ) from None
        # Estimated on the state before other accounts' pending transactions: the last org to
        # accept (or commit, or reveal) also moves the session on, which costs more gas.
        tx["gas"] = tx["gas"] * 5 // 4 + GAS_MARGIN
        return self._send(tx, label)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> str:
        """Deploy a contract and return its address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        try:
            tx = factory.constructor(*args).build_transaction(self._params())
        except Exception as exc:  # noqa: BLE001
            raise TransactionError(f"deployment reverted: {revert_reason(exc, abi)}") from None
        receipt = self._send(tx, "deploy")
        return receipt["contractAddress"]

    def pay(self, to: str, wei: int) -> None:
        """Send plain ether (funding a role's fresh account)."""
        tx = {**self._params(), "to": to, "value": wei, "gas": 21000}
        self._send(tx, "fund")

    def _send(self, tx: dict[str, Any], label: str) -> TxReceipt:
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise TransactionError(f"{label} by {self.name} failed on-chain (status 0)")
        self.log.add(TxRecord(self.log.phase, label, self.name, receipt["gasUsed"]))
        return receipt
