"""Typed clients for the two contracts: the consortium registry and the session manager.

Mutating methods take the :class:`~onchain.transactions.Sender` of the role that acts, so
each transaction is signed by the org, admin or service it belongs to. Views need no sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from onchain.compile import load_artifact
from onchain.transactions import Sender, call

#: The most outputs a session reveals (``MAX_OUTPUTS`` in contracts/SessionManager.sol) and
#: what each adds to the final reveal (cold SLOAD 2,100, log data 256, memory): the gas limit
#: a reveal of sigma carries on top of its estimate, as it may be the one that finalises.
FINALISE_GAS = 64 * 3_000


class State(IntEnum):
    """``ISessionManager.State`` (tests/test_artifacts.py checks the enums against the AST)."""

    NONE = 0
    OPENED = 1
    ACCEPTED = 2
    PREPROCESSED = 3
    COMPUTING = 4
    OUTPUT_REVEALED = 5
    FINALISED = 6
    ABORTED = 7


class AbortReason(IntEnum):
    """``ISessionManager.AbortReason``."""

    NONE = 0
    DIGEST_MISMATCH = 1
    SIGMA_MISMATCH = 2
    MAC_CHECK_FAILED = 3
    OUTPUT_MISMATCH = 4
    PARTICIPANT_ABORT = 5
    EXPIRED = 6


class AbortClaim(IntEnum):
    """``ISessionManager.AbortClaim``: what a participant claims when it aborts (a claim, not
    proof). Aborts the contract detects itself record ``NONE``."""

    NONE = 0
    PROTOCOL_ERROR = 1
    TRANSPORT_ERROR = 2
    TIMEOUT = 3
    PARAMETERS_REJECTED = 4
    MATERIAL_REJECTED = 5
    SACRIFICE_FAILED = 6
    BIT_CHECK_FAILED = 7
    MASK_CHECK_FAILED = 8


@dataclass(frozen=True)
class SessionInfo:
    """``SessionManager.getSession`` decoded."""

    job_hash: bytes
    preprocessor: str
    modulus: int
    deadline: int
    output_length: int
    state: State
    checkpoint_count: int
    participants: list[str]
    params_hash: bytes


@dataclass(frozen=True)
class AbortInfo:
    """``SessionManager.getAbort`` decoded."""

    reason: AbortReason
    by: str
    culprit: str
    checkpoint: int
    claim: AbortClaim


def errors_abi() -> list[dict[str, Any]]:
    """The custom errors of both contracts, for decoding a revert of either: a session manager
    call can fail with a registry error and the shared errors (utils/Errors.sol) are in both."""
    seen: dict[str, dict[str, Any]] = {}
    for name in ("SessionManager", "Consortium"):
        for item in load_artifact(name)["abi"]:
            if item["type"] == "error":
                types = ",".join(i["type"] for i in item["inputs"])
                seen.setdefault(f"{item['name']}({types})", item)
    return list(seen.values())


def _contract(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"]
    )


def deploy_contract(sender: Sender, name: str, *args: Any) -> str:
    """Deploy the committed artifact ``name`` from ``sender``; return its address."""
    artifact = load_artifact(name)
    return sender.deploy(artifact["abi"], artifact["bytecode"], *args)


class ConsortiumClient:
    """The registry of orgs (address, encryption key, peer endpoint), auditors, preprocessing
    services and allowed field moduli."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.contract = _contract(w3, "Consortium", address)
        # Reverts are decoded with the errors of both contracts (see errors_abi).
        self.abi = self.contract.abi + errors_abi()
        self.address = self.contract.address

    def register_org(self, admin: Sender, org: str, name: str, key: bytes, endpoint: str) -> None:
        """Register an org with its Curve25519 public key and its peer endpoint."""
        admin.transact(self.contract.functions.registerOrg(org, name, key, endpoint), self.abi)

    def register_auditor(self, admin: Sender, auditor: str) -> None:
        """Register an auditor's address."""
        admin.transact(self.contract.functions.registerAuditor(auditor), self.abi)

    def register_service(self, admin: Sender, service: str, name: str) -> None:
        """Register a preprocessing service's address (an address holds one role only)."""
        admin.transact(self.contract.functions.registerService(service, name), self.abi)

    def is_service(self, address: str, block: int | None = None) -> bool:
        """Whether ``address`` is a registered preprocessing service (at ``block``: then)."""
        return call(self.contract.functions.isService(address), self.abi, block)

    def allow_modulus(self, admin: Sender, modulus: int) -> None:
        """Add ``modulus`` to the allow-list (odd, at least 2**64; reverts
        ``ModulusAlreadyAllowed`` if already there). Primality is checked off-chain."""
        admin.transact(self.contract.functions.allowModulus(modulus), self.abi)

    def is_allowed_modulus(self, modulus: int) -> bool:
        """Whether sessions may use ``modulus``."""
        return call(self.contract.functions.isAllowedModulus(modulus), self.abi)

    def set_session_manager(self, admin: Sender, manager: str) -> None:
        """Point the registry at the session manager, so auditors need one address only."""
        admin.transact(self.contract.functions.setSessionManager(manager), self.abi)

    def session_manager(self) -> str:
        """The registered session manager's address."""
        return call(self.contract.functions.sessionManager(), self.abi)

    def admin(self, block: int | None = None) -> str:
        """The consortium admin's address (at ``block``: then)."""
        return call(self.contract.functions.admin(), self.abi, block)

    def is_org(self, address: str, block: int | None = None) -> bool:
        """Whether ``address`` is a registered org (at ``block``: then)."""
        return call(self.contract.functions.isOrg(address), self.abi, block)

    def orgs(self) -> dict[str, str]:
        """Every current org (offboarded ones left out): name -> address."""
        fn = self.contract.functions
        addresses = [call(fn.orgAt(i), self.abi) for i in range(call(fn.orgCount(), self.abi))]
        return {self.org_info(a)[0]: a for a in addresses if self.is_org(a)}

    def is_retired(self, address: str) -> bool:
        """Whether ``address`` was offboarded (it can never be registered again)."""
        return call(self.contract.functions.isRetired(address), self.abi)

    def offboard(self, admin: Sender, account: str) -> None:
        """Revoke ``account``'s member role (org, auditor or service) and retire it; an org
        offboarded mid-session can no longer act in it."""
        admin.transact(self.contract.functions.offboard(account), self.abi)

    def rotate_encryption_key(self, org: Sender, key: bytes) -> None:
        """Publish ``org``'s new X25519 public key (material dealt from now on is sealed to it)."""
        org.transact(self.contract.functions.rotateEncryptionKey(key), self.abi)

    def set_endpoint(self, org: Sender, endpoint: str) -> None:
        """Move ``org``'s peer endpoint (peers read it when a session starts)."""
        org.transact(self.contract.functions.setEndpoint(endpoint), self.abi)

    def begin_admin_transfer(self, admin: Sender, new_admin: str) -> None:
        """Step one of the admin handover: name ``new_admin`` (OpenZeppelin's
        ``beginDefaultAdminTransfer``); it may accept once the registry's delay has passed."""
        admin.transact(self.contract.functions.beginDefaultAdminTransfer(new_admin), self.abi)

    def accept_admin_transfer(self, new_admin: Sender) -> None:
        """Step two: the named account takes the admin role (after the delay)."""
        new_admin.transact(self.contract.functions.acceptDefaultAdminTransfer(), self.abi)

    def pending_admin(self) -> tuple[str, int]:
        """``(named account, earliest acceptance time)``; the zero address when none is named."""
        return tuple(call(self.contract.functions.pendingDefaultAdmin(), self.abi))  # type: ignore[return-value]

    def org_info(self, address: str, block: int | None = None) -> tuple[str, bytes, str]:
        """``(name, encryption key, endpoint)`` of a registered org (at ``block``: then)."""
        return tuple(call(self.contract.functions.orgInfo(address), self.abi, block))  # type: ignore[return-value]


class SessionClient:
    """The session state machine: preprocessing, inputs, checkpoints, output, finalisation."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.contract = _contract(w3, "SessionManager", address)
        # Reverts are decoded with the errors of both contracts (see errors_abi).
        self.abi = self.contract.abi + errors_abi()
        self.address = self.contract.address
        self.fn = self.contract.functions
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        """The chain id (``w3.eth.chain_id``, read once), which commitments are bound to."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @staticmethod
    def abi_of() -> list[dict[str, Any]]:
        """The SessionManager ABI (for decoding its errors without an instance)."""
        return load_artifact("SessionManager")["abi"]

    def open_session(
        self,
        opener: Sender,
        job_hash: bytes,
        participants: list[str],
        modulus: int,
        preprocessor: str,
        deadline: int,
        output_length: int,
    ) -> int:
        """Open a session; return its id. Every participant must then accept it."""
        receipt = opener.transact(
            self.fn.openSession(
                job_hash, participants, modulus, preprocessor, deadline, output_length
            ),
            self.abi,
        )
        (event,) = self.contract.events.SessionOpened().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["sessionId"])

    def accept_session(self, org: Sender, session: int, params_hash: bytes) -> None:
        """Accept the session's parameters: ``params_hash`` is the org's own
        :func:`~onchain.commitments.session_params_hash` of the parameters it checked."""
        org.transact(self.fn.acceptSession(session, params_hash), self.abi)

    def is_accepted(self, session: int, org: str) -> bool:
        """Whether ``org`` has accepted the session's parameters."""
        return bool(call(self.fn.isAccepted(session, org), self.abi))

    def commit_preprocessing(
        self, service: Sender, session: int, hashes: list[bytes], counts: list[int]
    ) -> None:
        """The preprocessing service commits the hash of each org's sealed batch and publishes
        its material counts (1 to 64 entries, defined off-chain: ``Needs.counts()``)."""
        service.transact(self.fn.commitPreprocessing(session, hashes, counts), self.abi)

    def material_counts(self, session: int) -> list[int]:
        """The counts published with the session's preprocessing (``[]`` if none yet)."""
        events = self.contract.events.MaterialCounted().get_logs(
            from_block=0, argument_filters={"sessionId": session}
        )
        return [int(c) for c in events[-1]["args"]["counts"]] if events else []

    def commit_checkpoint(
        self, org: Sender, session: int, digest: bytes, commitment: bytes
    ) -> None:
        """Post the transcript digest and the commitment to this org's MAC-check share."""
        org.transact(self.fn.commitCheckpoint(session, digest, commitment), self.abi)

    def reveal_sigma(self, org: Sender, session: int, sigma: int, salt: bytes) -> None:
        """Reveal the MAC-check share committed in the current checkpoint."""
        # The last reveal of the final checkpoint emits SessionFinalised with every output
        # (a cold read and 32 bytes of log each); estimated before the others' reveals are
        # mined, it is not yet the last, and a 40-output session ran out of gas.
        org.transact(self.fn.revealSigma(session, sigma, salt), self.abi, FINALISE_GAS)

    def commit_input(self, org: Sender, session: int, commitment: bytes) -> None:
        """Commit to this org's (salted, hashed) input."""
        org.transact(self.fn.commitInput(session, commitment), self.abi)

    def commit_output(self, org: Sender, session: int, commitment: bytes) -> None:
        """Commit to this org's output value shares."""
        org.transact(self.fn.commitOutput(session, commitment), self.abi)

    def reveal_output(self, org: Sender, session: int, shares: list[int], salt: bytes) -> None:
        """Reveal this org's output value shares; the contract sums them."""
        org.transact(self.fn.revealOutput(session, shares, salt), self.abi)

    def abort_expired(self, sender: Sender, session: int) -> None:
        """Close a live session whose deadline has passed (anyone may)."""
        sender.transact(self.fn.abortExpired(session), self.abi)

    def abort(self, org: Sender, session: int, claim: AbortClaim) -> None:
        """Abort the session as a participant, with a claim of what went wrong (not NONE)."""
        org.transact(self.fn.abort(session, int(AbortClaim(claim))), self.abi)

    def session(self, session: int) -> SessionInfo:
        """The session's public parameters and state."""
        job, pre, modulus, deadline, out_len, state, cps, parts, params = call(
            self.fn.getSession(session), self.abi
        )
        return SessionInfo(
            bytes(job),
            pre,
            modulus,
            deadline,
            out_len,
            State(state),
            cps,
            list(parts),
            bytes(params),
        )

    def session_count(self) -> int:
        """How many sessions were opened (ids run from 1)."""
        return int(call(self.fn.sessionCount(), self.abi))

    def result(self, session: int) -> list[int]:
        """The recorded result (empty unless finalised)."""
        return list(call(self.fn.getResult(session), self.abi))

    def abort_info(self, session: int) -> AbortInfo:
        """Why and where the session aborted (reason NONE if it did not)."""
        reason, by, culprit, checkpoint, claim = call(self.fn.getAbort(session), self.abi)
        return AbortInfo(AbortReason(reason), by, culprit, checkpoint, AbortClaim(claim))

    def revealed_output(self, session: int) -> list[int]:
        """The sum of all output shares revealed so far (the opened, not yet checked, output)."""
        info = self.session(session)
        reveals = self.contract.events.OutputRevealed().get_logs(
            from_block=0, argument_filters={"sessionId": session}
        )
        if not reveals:
            return []
        p = info.modulus
        return [sum(e["args"]["shares"][k] for e in reveals) % p for k in range(info.output_length)]

    def batch_hash(self, session: int, org: str) -> bytes:
        """The committed hash of ``org``'s preprocessing batch."""
        return bytes(call(self.fn.batchHash(session, org), self.abi))
