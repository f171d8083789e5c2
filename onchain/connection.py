"""Connections to a chain: the embedded in-process chain or any node over JSON-RPC.

Every transaction is signed locally with eth-account and sent raw, with explicit EIP-1559
fee fields, because a consortium's permissioned node (Besu/QBFT, geth/Clique) has no unlocked
accounts and may not answer ``eth_maxPriorityFeePerGas`` (DESIGN.md, "Toolchain facts").
Dev chains get the same treatment, so what the tests exercise is what production runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.eth_tester import EthereumTesterProvider

# Well-known development mnemonics; their first accounts are funded on ganache
# (--wallet.deterministic) and on anvil / hardhat node. Never funded on a real network.
DEV_MNEMONICS = (
    "myth like bonus scare over problem client lizard pioneer submit female collect",
    "test test test test test test test test test test test junk",
)
FUNDER_KEY_ENV = "CHAINMPC_FUNDER_KEY"
EMBEDDED_FUNDER_KEY = "0x" + "00" * 31 + "01"  # eth-tester's first pre-funded account


class ChainError(RuntimeError):
    """The chain cannot be reached or used; the message says which and why."""


@dataclass
class Chain:
    """A Web3 connection plus the account that pays for (funds) the roles' accounts."""

    w3: Web3
    description: str
    funder: LocalAccount
    rpc: str | None = None  # the node's URL; None for the embedded chain

    @property
    def embedded(self) -> bool:
        """True for the in-process chain, which disappears with this process."""
        return isinstance(self.w3.provider, EthereumTesterProvider)


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


def connect(rpc: str | None = None, timeout: float = 10.0) -> Chain:
    """Connect to ``rpc`` (http(s) JSON-RPC URL) or, if ``None``, start the embedded chain."""
    if rpc is None:
        w3 = Web3(EthereumTesterProvider())
        return Chain(
            w3, "embedded chain (eth-tester, in-process)", Account.from_key(EMBEDDED_FUNDER_KEY)
        )
    w3 = Web3(Web3.HTTPProvider(validate_rpc_url(rpc), request_kwargs={"timeout": timeout}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any transport failure means "unreachable"
        raise ChainError(f"cannot reach an Ethereum node at {rpc}: {type(exc).__name__}") from None
    return Chain(w3, f"node at {rpc} (chain id {chain_id})", _find_funder(w3, rpc), rpc)


def _find_funder(w3: Web3, rpc: str) -> LocalAccount:
    key = os.environ.get(FUNDER_KEY_ENV)
    if key:
        try:
            return Account.from_key(key)
        except (ValueError, TypeError):
            raise ChainError(f"{FUNDER_KEY_ENV} is not a valid private key") from None
    Account.enable_unaudited_hdwallet_features()
    for mnemonic in DEV_MNEMONICS:
        account = Account.from_mnemonic(mnemonic)
        if w3.eth.get_balance(account.address) > 0:
            return account
    raise ChainError(
        f"no funded account on {rpc}: set {FUNDER_KEY_ENV} to the key of an account with ether"
    )
