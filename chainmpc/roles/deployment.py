"""Deploying a consortium: the registry, the session manager, the allowed moduli.

The admin deploys both contracts, links them, and allow-lists the primes the peers know
(``offchain.hazmat.field.KNOWN_PRIMES``): the contract refuses a session over any other modulus, and
every peer and the auditor check the modulus against their own table as well.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address
from web3 import Web3

from chainmpc.exceptions import InputError
from offchain.hazmat.field import KNOWN_PRIMES
from offchain.preprocessing.cache import deployment_id
from onchain.clients import ConsortiumClient, SessionClient, deploy_contract
from onchain.transactions import Sender

DEPLOYMENT_FORMAT = "chainmpc-deployment/1"


@dataclass
class Deployment:
    """Addresses and clients of a deployed consortium."""

    consortium: ConsortiumClient
    sessions: SessionClient


def deploy(admin: Sender, admin_delay: int = 0) -> Deployment:
    """Deploy the registry and the session manager, link them, allow the known primes.
    ``admin_delay``: seconds a named next admin waits before taking the role (0 suits a
    throwaway chain; ``chainmpc deploy`` defaults to a day)."""
    w3 = admin.w3
    consortium = ConsortiumClient(w3, deploy_contract(admin, "Consortium", admin_delay))
    sessions = SessionClient(w3, deploy_contract(admin, "SessionManager", consortium.address))
    consortium.set_session_manager(admin, sessions.address)
    for p in sorted(KNOWN_PRIMES):
        consortium.allow_modulus(admin, p)
    return Deployment(consortium, sessions)


@dataclass(frozen=True)
class OrgEntry:
    """One org as the admin registers it."""

    name: str
    address: str
    encryption_key: bytes
    endpoint: str


@dataclass(frozen=True)
class ConsortiumPlan:
    """What ``consortium.toml`` says to register: the orgs, the auditors, the service."""

    orgs: list[OrgEntry]
    auditors: list[str]
    service: str
    service_name: str
    service_endpoint: str


@dataclass(frozen=True)
class DeploymentRecord:
    """``deployment.json``: what every role needs to find the consortium on its chain."""

    chain_id: int
    consortium: str
    manager: str
    block: int  # the deployment's first block: where the session events start
    service_endpoint: str  # where orgs fetch their sealed batches (host:port)
    rpc: str | None = None  # a node the deployer used; each org may use its own
    #: False for a file written before the block was recorded: ``block`` is then 0 (every
    #: log query still finds everything, from genesis; the audit says so).
    block_recorded: bool = True

    @property
    def id(self) -> str:
        """Names this deployment's batches: chain id and session manager."""
        return deployment_id(self.chain_id, self.manager)

    def write(self, path: Path) -> None:
        """Write ``deployment.json`` (public: addresses and endpoints only)."""
        doc = {"format": DEPLOYMENT_FORMAT, **asdict(self)}
        del doc["block_recorded"]  # a property of how the file was read, not of the deployment
        path.write_text(json.dumps(doc, indent=2) + "\n")

    @staticmethod
    def load(path: Path) -> DeploymentRecord:
        """Read ``deployment.json``; an :class:`InputError` names the file and the field."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a deployment file ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != DEPLOYMENT_FORMAT:
            raise InputError(f"{path}: format: expected {DEPLOYMENT_FORMAT!r}")
        fields = {"chain_id": int, "consortium": str, "manager": str,
                  "service_endpoint": str}  # fmt: skip
        for name, kind in fields.items():
            if not isinstance(doc.get(name), kind):
                raise InputError(f"{path}: {name}: missing or not a {kind.__name__}")
        for name in ("consortium", "manager"):
            _address(doc[name], f"{path}: {name}")
        checked_endpoint(doc["service_endpoint"], f"{path}: service_endpoint")
        # Files from before the block was recorded stay readable: no block means 0.
        block = doc.get("block", 0)
        if isinstance(block, bool) or not isinstance(block, int) or block < 0:
            raise InputError(f"{path}: block: not a block number ({block!r})")
        return DeploymentRecord(**{k: doc[k] for k in fields}, block=block, rpc=doc.get("rpc"),
                                block_recorded="block" in doc)  # fmt: skip


def load_consortium(path: Path) -> ConsortiumPlan:
    """Read ``consortium.toml`` (docs/design.md, "Deploying a consortium"); an
    :class:`InputError` names the file and the key."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from None
    where = str(path)
    orgs_doc = doc.get("orgs")
    if not isinstance(orgs_doc, dict) or len(orgs_doc) < 2:
        raise InputError(f"{where}: orgs: at least two [orgs.NAME] tables")
    orgs = []
    for name, entry in orgs_doc.items():
        at = f"{where}: orgs.{name}"
        if not isinstance(entry, dict):
            raise InputError(f"{at}: not a table")
        key = _string(entry, "encryption_key", at).removeprefix("0x")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", key):
            raise InputError(f"{at}.encryption_key: expected 32 bytes in hex")
        orgs.append(
            OrgEntry(
                name,
                _address(_string(entry, "address", at), f"{at}.address"),
                bytes.fromhex(key),
                checked_endpoint(_string(entry, "endpoint", at), f"{at}.endpoint"),
            )
        )
    service = doc.get("service")
    if not isinstance(service, dict):
        raise InputError(f"{where}: service: missing [service] table")
    auditors = doc.get("auditors", {}).get("addresses", [])
    if not isinstance(auditors, list):
        raise InputError(f"{where}: auditors.addresses: expected a list of addresses")
    return ConsortiumPlan(
        orgs,
        [_address(a, f"{where}: auditors.addresses") for a in auditors],
        _address(_string(service, "address", f"{where}: service"), f"{where}: service.address"),
        str(service.get("name", "dealer")),
        checked_endpoint(
            _string(service, "endpoint", f"{where}: service"), f"{where}: service.endpoint"
        ),
    )


def register(admin: Sender, consortium: ConsortiumClient, plan: ConsortiumPlan) -> None:
    """Register every org, auditor and the service of ``plan``."""
    for org in plan.orgs:
        consortium.register_org(admin, org.address, org.name, org.encryption_key, org.endpoint)
    for auditor in plan.auditors:
        consortium.register_auditor(admin, auditor)
    consortium.register_service(admin, plan.service, plan.service_name)


def _string(table: dict[str, Any], key: str, at: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{at}.{key}: missing or not a string")
    return value


def _address(value: Any, at: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InputError(f"{at}: {value!r} is not an Ethereum address")
    return Web3.to_checksum_address(value)


def checked_endpoint(value: str, at: str) -> str:
    """``value`` if it is ``host:port`` with a port in 1..65535; else an error naming ``at``."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"{at}: {value!r} is not host:port")
    return value
