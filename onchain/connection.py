"""Connections to a chain: the embedded in-process chain or any node over JSON-RPC.

Every transaction is signed locally with eth-account and sent raw, with explicit EIP-1559
fee fields, because a consortium's permissioned node (Besu/QBFT, geth/Clique) has no unlocked
accounts and may not answer ``eth_maxPriorityFeePerGas`` (docs/design.md, "Accounts and chains").
Dev chains get the same treatment, so what the tests exercise is what production runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from onchain.exceptions import ChainError, NodeUnavailable
from onchain.node import NodeProvider, Patience

# Well-known development mnemonics; their first accounts are funded on ganache
# (--wallet.deterministic) and on anvil / hardhat node. Never funded on a real network.
DEV_MNEMONICS = (
    "myth like bonus scare over problem client lizard pioneer submit female collect",
    "test test test test test test test test test test test junk",
)
FUNDER_KEY_ENV = "CHAINMPC_FUNDER_KEY"
EMBEDDED_FUNDER_KEY = "0x" + "00" * 31 + "01"  # eth-tester's first pre-funded account
T = TypeVar("T")


@dataclass
class Chain:
    """A Web3 connection plus the account that pays for (funds) the roles' accounts."""

    w3: Web3
    description: str
    funder: LocalAccount
    rpc: str | None = None  # the node's URL; None for the embedded chain
    funder_label: str = "funder"  # where the funder's key came from, for messages

    @property
    def embedded(self) -> bool:
        """True for the in-process chain, which disappears with this process."""
        return isinstance(self.w3.provider, EthereumTesterProvider)


class _SerialisedTester(EthereumTesterProvider):
    """The embedded chain, one request at a time: eth-tester is not thread-safe, and the demo's
    orgs (one thread each) share it."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            return super().make_request(method, params)


def validate_rpc_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host, else raise :class:`ChainError`."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ChainError(f"malformed RPC URL {url!r}: expected http://HOST:PORT or https://...")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ChainError(f"malformed RPC URL {url!r}: bad port") from None
    return url


def connect(
    rpc: str | None = None,
    patience: Patience = Patience(),  # noqa: B008 - frozen, shared safely
    progress: Callable[[str], None] | None = None,
    funder_key: str | None = None,
) -> Chain:
    """Connect to ``rpc`` (http(s) JSON-RPC URL) or, if ``None``, start the embedded chain.

    Every call to the node is bounded by ``patience`` (retries with backoff, announced through
    ``progress``; then :class:`~onchain.exceptions.NodeUnavailable`), except the first contact:
    a node that never answered is more likely a wrong URL than a restart, so it is asked once.
    ``funder_key`` names the funding account (else ``CHAINMPC_FUNDER_KEY`` or a dev account).
    """
    if rpc is None:
        w3 = Web3(_SerialisedTester())
        return Chain(
            w3, "embedded chain (eth-tester, in-process)", Account.from_key(EMBEDDED_FUNDER_KEY)
        )
    provider = NodeProvider(validate_rpc_url(rpc), patience, progress)
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    retries = provider.exception_retry_configuration
    provider.exception_retry_configuration = None  # first contact: one attempt
    try:
        chain_id = w3.eth.chain_id
    except NodeUnavailable as exc:
        raise ChainError(f"cannot reach an Ethereum node at {rpc}: {exc.reason}") from None
    except Exception as exc:  # noqa: BLE001 - an answer that is no JSON-RPC: unusable
        raise ChainError(f"cannot reach an Ethereum node at {rpc}: {type(exc).__name__}") from None
    finally:
        provider.exception_retry_configuration = retries
    if funder_key is not None:
        funder, label = Account.from_key(funder_key), "funder"
    else:
        funder, label = _find_funder(w3, rpc)
    _probe(w3, rpc, funder.address)
    return Chain(w3, f"node at {rpc} (chain id {chain_id})", funder, rpc, label)


def _call(rpc: str, method: str, fn: Callable[[], T]) -> T:
    """``fn()``, or a :class:`ChainError` naming the JSON-RPC method the node failed."""
    try:
        return fn()
    except NodeUnavailable:
        raise  # already names the node and the method
    except Exception as exc:  # noqa: BLE001 - a node that cannot answer is unusable
        error = (getattr(exc, "rpc_response", None) or {}).get("error")
        reason = error.get("message") if isinstance(error, dict) else str(exc).split("\n")[0]
        reason = str(reason or type(exc).__name__)[:160]
        raise ChainError(f"the node at {rpc} does not answer {method}: {reason}") from None


def _probe(w3: Web3, rpc: str, funder: str) -> None:
    """Check that the node answers what every command needs before anything is sent: the
    latest block (for fees), an account's balance and nonce."""
    _call(rpc, "eth_getBlockByNumber", lambda: w3.eth.get_block("latest"))
    _call(rpc, "eth_getBalance", lambda: w3.eth.get_balance(funder))
    _call(rpc, "eth_getTransactionCount", lambda: w3.eth.get_transaction_count(funder))


def _find_funder(w3: Web3, rpc: str) -> tuple[LocalAccount, str]:
    key = os.environ.get(FUNDER_KEY_ENV)
    if key:
        try:
            return Account.from_key(key), f"{FUNDER_KEY_ENV} account"
        except (ValueError, TypeError):
            raise ChainError(f"{FUNDER_KEY_ENV} is not a valid private key") from None
    Account.enable_unaudited_hdwallet_features()
    for mnemonic in DEV_MNEMONICS:
        account = Account.from_mnemonic(mnemonic)
        if _call(rpc, "eth_getBalance", lambda a=account: w3.eth.get_balance(a.address)) > 0:
            return account, "development account"
    raise ChainError(
        f"no funded account on {rpc}: set {FUNDER_KEY_ENV} to the key of an account with ether"
    )


def require_balance(w3: Web3, address: str, needed: int, who: str, what: str) -> None:
    """Raise :class:`ChainError` unless ``address`` holds at least ``needed`` wei; the message
    names ``who`` (the account's role), the address, its balance and ``what`` needs it."""
    balance = w3.eth.get_balance(address)
    if balance < needed:
        raise ChainError(
            f"{who} {address} holds {_ether(balance)} ETH; {what} needs at least "
            f"{_ether(needed)} ETH: fund it first"
        )


def _ether(wei: int) -> str:
    return f"{wei / 10**18:.6f}".rstrip("0").rstrip(".")
