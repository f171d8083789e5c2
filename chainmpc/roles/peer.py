"""One org's peer: its keys, its engine, and its steps through a session.

Off-chain steps (networking, the checks of the material, input sharing, computing) run in the
peer's own thread and talk only to the other peers. Chain steps (acceptance, commitments,
reveals, aborts) are separate methods, so the chain is touched at phase boundaries only. The
peer learns the other orgs' encryption keys and endpoints from the on-chain registry, not from
a side channel, and it checks every session parameter before it accepts the session
(docs/protocols.md, "Session parameters").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from nacl.public import PrivateKey

from chainmpc.exceptions import ParameterError
from chainmpc.jobs.base import Job, input_values
from offchain.engine.core import CheckpointShare, Engine, ProtocolAbort
from offchain.engine.transcript import challenge
from offchain.hazmat.field import FieldError, check_modulus, field_for
from offchain.hazmat.shares import Shared
from offchain.preprocessing.cache import OrgCache, deployment_id
from offchain.preprocessing.material import MaterialError
from offchain.sectypes.array import SecretArray
from offchain.transport.mesh import PeerNetwork, TransportError
from onchain.clients import AbortClaim, ConsortiumClient, SessionClient, SessionInfo, State
from onchain.commitments import (
    input_commitment,
    job_hash,
    new_salt,
    output_commitment,
    session_params_hash,
    sigma_commitment,
)
from onchain.transactions import Sender, TransactionError

#: The longest session an org agrees to take part in (the contract allows at most 7 days).
MAX_SESSION_SECONDS = 24 * 3600


@dataclass
class OrgIdentity:
    """What one org holds: its Ethereum account, its decryption key, its endpoint, its cache."""

    index: int
    name: str
    account: LocalAccount
    box_key: PrivateKey
    host: str
    port: int
    cache_dir: Path

    @property
    def endpoint(self) -> str:
        """``host:port`` as registered on-chain."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # holds private keys
        return f"OrgIdentity({self.name}, {self.account.address}, {self.endpoint})"


def session_tag(chain_id: int, manager: str, session: int) -> bytes:
    """Binds transcripts, challenges and channels to one session of one contract on one chain."""
    return hashlib.sha256(
        b"chainmpc/session"
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(manager[2:])
        + session.to_bytes(32, "big")
    ).digest()


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``."""
    host, _, port = endpoint.rpartition(":")
    return host, int(port)


def check_parameters(
    info: SessionInfo,
    *,
    job: Job,
    participants: list[str],
    chain_id: int,
    manager: str,
    session: int,
    consortium: ConsortiumClient,
    now: int,
) -> bytes:
    """Check every parameter of ``session`` this org will rely on; return the parameters hash
    to accept on-chain. Raises :class:`ParameterError` naming the first one it refuses."""
    if info.state != State.OPENED:
        raise ParameterError(f"session {session} is {info.state.name}, not awaiting acceptance")
    if info.job_hash != job_hash(job.description()):
        raise ParameterError(
            f"job hash 0x{info.job_hash.hex()} is not the hash of job {job.spec.name!r}"
        )
    if info.participants != participants:
        raise ParameterError(f"participants {info.participants} are not the expected orgs")
    try:
        check_modulus(info.modulus)
    except FieldError as exc:
        raise ParameterError(f"modulus: {exc}") from None
    if not consortium.is_allowed_modulus(info.modulus):
        raise ParameterError(f"modulus {info.modulus} is not on the consortium's allow-list")
    if info.preprocessor in info.participants:
        raise ParameterError(f"preprocessing service {info.preprocessor} is a participant")
    if not consortium.is_service(info.preprocessor):
        raise ParameterError(f"{info.preprocessor} is not a registered preprocessing service")
    if not now < info.deadline <= now + MAX_SESSION_SECONDS:
        raise ParameterError(
            f"deadline {info.deadline} is not within {MAX_SESSION_SECONDS} s from now ({now})"
        )
    if info.output_length != job.output_length:
        raise ParameterError(
            f"output length {info.output_length} is not the job's {job.output_length}"
        )
    expected = session_params_hash(
        chain_id,
        manager,
        session,
        info.job_hash,
        info.participants,
        info.modulus,
        info.preprocessor,
        info.deadline,
        info.output_length,
    )
    if expected != info.params_hash:
        raise ParameterError("the recorded parameters hash does not match the parameters")
    return expected


class OrgPeer:
    """An org's run of one session."""

    def __init__(
        self,
        identity: OrgIdentity,
        sender: Sender,
        consortium: ConsortiumClient,
        sessions: SessionClient,
        session: int,
        job: Job,
        timeout: float = 30.0,
    ) -> None:
        self.me = identity
        self.timeout = timeout  # bounds the mesh's start and each send and receive
        self.sender = sender
        self.consortium = consortium
        self.sessions = sessions
        self.session = session
        self.job = job
        self.chain_id = sender.w3.eth.chain_id
        self.tag = session_tag(self.chain_id, sessions.address, session)
        self.deployment = deployment_id(self.chain_id, sessions.address)  # names its batches
        self.accepted: bytes | None = None  # the parameters hash this org accepted
        self.network: PeerNetwork | None = None
        self.engine: Engine | None = None
        self._checkpoint: tuple[CheckpointShare, bytes] | None = None
        self._outputs: list[SecretArray] = []

    def __repr__(self) -> str:
        return f"OrgPeer({self.me.name}, session={self.session})"

    # -- acceptance ----------------------------------------------------------------------

    def accept(self, participants: list[str]) -> None:
        """Check the session's parameters against this org's own expectations and accept them
        on-chain. Raises :class:`ParameterError` (and accepts nothing) on a parameter it
        refuses; the caller then aborts the session with that claim."""
        info = self.sessions.session(self.session)
        now = self.sender.w3.eth.get_block("latest")["timestamp"]
        params = check_parameters(
            info,
            job=self.job,
            participants=participants,
            chain_id=self.chain_id,
            manager=self.sessions.address,
            session=self.session,
            consortium=self.consortium,
            now=now,
        )
        self.sessions.accept_session(self.sender, self.session, params)
        self.accepted = params

    def _session(self) -> SessionInfo:
        """The session as on-chain now; refuses parameters this org did not accept."""
        info = self.sessions.session(self.session)
        if self.accepted is None or info.params_hash != self.accepted:
            raise ParameterError("this org has not accepted these session parameters")
        return info

    # -- off-chain steps (run in this org's thread) ------------------------------------------

    def connect(self) -> None:
        """Open authenticated, encrypted channels to every other participant."""
        info = self._session()
        self.field = field_for(info.modulus)
        self.participants = info.participants
        self.needs = self.job.needs(self.field)  # counted by a dry run, once
        registry = [self.consortium.org_info(a) for a in self.participants]
        self.network = PeerNetwork(
            self.me.index,
            self.me.box_key,
            [bytes(key) for _, key, _ in registry],
            [parse_endpoint(ep) for _, _, ep in registry],
            self.tag,
            self.timeout,
        )
        self.network.start()

    def load_material(self, engine_class: Callable[..., Engine] = Engine) -> None:
        """Take this session's batch from the cache, checked against its on-chain hash and
        the counts committed with it (which must be what the job needs)."""
        expected = self.sessions.batch_hash(self.session, self.me.account.address)
        counts = self.sessions.material_counts(self.session)
        if counts != self.needs.counts():
            raise MaterialError(
                f"the service committed material counts {counts}; the job needs "
                f"{self.needs.counts()}"
            )
        material = OrgCache(self.me.cache_dir).consume(
            self.deployment, self.session, expected, self.me.box_key
        )
        if material.field.p != self.field.p or material.n != len(self.participants):
            raise MaterialError(
                "the batch was dealt for another field or another number of orgs than this "
                "session's"
            )
        assert self.network is not None
        self.engine = engine_class(material, self.network, self.tag)

    def check_material(self) -> AbortClaim | None:
        """Sacrifice-check the triples the job needs (counted here, not taken from the
        service's word), check that every dealt mask bit is a bit, and check this org's clear
        input masks against their shares. Returns the claim to abort with, or None. The
        challenges come from every batch hash as committed on-chain, fixed before anyone
        could know them. The openings are MAC-checked by the next (on-chain) checkpoint."""
        triples = self.needs.checked_triples
        hashes = [self.sessions.batch_hash(self.session, a) for a in self.participants]
        (t,) = challenge(self.field.p, self.tag, b"sacrifice", *hashes, count=1)
        if self._engine.sacrifice(triples, t):
            return AbortClaim.SACRIFICE_FAILED
        if self._engine.check_bits():
            return AbortClaim.BIT_CHECK_FAILED
        seed = hashlib.sha256(b"chainmpc/mask-check" + self.tag + b"".join(hashes)).digest()
        if not self._engine.check_masks(seed):
            return AbortClaim.MASK_CHECK_FAILED
        return None

    def share_verdicts(self, claim: AbortClaim | None) -> list[AbortClaim | None]:
        """Tell the other orgs whether this org's checks of its material passed, and hear
        theirs (one round, off-chain). It adds no security (each org's own checks protect its
        own input); it lets every org know, before anyone commits an input, that the session
        is about to be aborted."""
        assert self.network is not None
        verdicts = self.network.exchange(bytes([int(claim or 0)]))
        out: list[AbortClaim | None] = []
        for j, v in enumerate(verdicts):
            if len(v) != 1 or v[0] not in AbortClaim._value2member_map_:
                raise ProtocolAbort(f"org {j} sent a malformed verdict")
            out.append(AbortClaim(v[0]) or None)
        return out

    def run_job(self, own: Any) -> None:
        """Share every org's input (this org supplies ``own``, from ``job.load_input``) and
        compute the job."""
        self._outputs = self.job.program(self._engine, own)

    # -- chain steps ---------------------------------------------------------------------

    def commit_input(self, own: Any) -> None:
        """Post a salted commitment to this org's input (its values as
        :func:`~chainmpc.jobs.base.input_values` lists them)."""
        encoded = [self.field.from_signed(v) for v in input_values(own)]
        salt = new_salt()
        # Kept (in memory, by this org only) so the org can later prove what it put in.
        self.input_opening = (encoded, salt)
        commitment = input_commitment(
            encoded, salt, self.me.account.address, self.chain_id, self.sessions.address,
            self.session,
        )  # fmt: skip
        self.sessions.commit_input(self.sender, self.session, commitment)

    def commit_checkpoint(self) -> None:
        """MAC check, round 1: post the transcript digest and a commitment to ``sigma_i``, for
        the checkpoint number the contract holds (the engine refuses if its own differs)."""
        number = self._session().checkpoint_count
        share = self._engine.checkpoint(number)
        salt = new_salt()
        self._checkpoint = (share, salt)
        commitment = sigma_commitment(
            share.sigma, salt, self.me.account.address, self.chain_id, self.sessions.address,
            self.session, number,
        )  # fmt: skip
        self.sessions.commit_checkpoint(self.sender, self.session, share.digest, commitment)

    def reveal_checkpoint(self) -> None:
        """MAC check, round 2: reveal ``sigma_i`` and its salt."""
        assert self._checkpoint is not None, "commit before reveal"
        share, salt = self._checkpoint
        self.sessions.reveal_sigma(self.sender, self.session, share.sigma, salt)

    def confirm_checkpoint(self) -> None:
        """The contract accepted the current checkpoint: its openings are now vouched for."""
        assert self._checkpoint is not None, "no checkpoint in progress"
        share, _ = self._checkpoint
        if self._session().checkpoint_count <= share.checkpoint:
            raise ProtocolAbort(f"checkpoint {share.checkpoint} has not passed on-chain")
        self._engine.confirm_passed(share)

    def commit_output(self) -> None:
        """Output, round 1: commit to this org's value shares of the outputs. Refused unless
        every value opened so far has passed a confirmed MAC check."""
        self._engine.require_checked("output")
        self._output_salt = new_salt()
        commitment = output_commitment(
            self.output_shares(), self._output_salt, self.me.account.address, self.chain_id,
            self.sessions.address, self.session,
        )  # fmt: skip
        self.sessions.commit_output(self.sender, self.session, commitment)

    def reveal_output(self) -> None:
        """Output, round 2: reveal the value shares; the contract sums them."""
        shares = self.output_shares()
        self.sessions.reveal_output(self.sender, self.session, shares, self._output_salt)

    def accept_output(self, values: list[int]) -> None:
        """Queue the opened outputs (and this org's MAC shares of them) for the final check."""
        shared = Shared.concat([v.shared for v in self._outputs])
        self._engine.accept_opened(shared, self.field.from_ints(values), "output")

    def output_shares(self) -> list[int]:
        """This org's value shares of the outputs, as committed and revealed."""
        return [v for out in self._outputs for v in self.field.to_ints(out.shared.x)]

    def abort(self, claim: AbortClaim) -> bool:
        """Abort the session on-chain with this org's claim of why, unless it is closed; past
        the deadline, close it as expired (the only abort the contract then takes). Returns
        whether this org's abort is the one recorded, so no org reports another's as its own."""
        info = self.sessions.session(self.session)
        if info.state in (State.FINALISED, State.ABORTED):
            return False
        try:
            if self.sender.w3.eth.get_block("latest")["timestamp"] > info.deadline:
                self.sessions.abort_expired(self.sender, self.session)
            else:
                self.sessions.abort(self.sender, self.session, claim)
        except TransactionError:
            # Another org's abort (or the end of the session) came first; either is final.
            if self.sessions.session(self.session).state != State.ABORTED:
                raise
            return False
        return True

    def close(self) -> None:
        """Close the peer channels, and the batch the material reads its triples from."""
        if self.network is not None:
            self.network.close()
        if self.engine is not None:
            self.engine.material.close()

    @property
    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("load_material() first")
        return self.engine


def claim_for(exc: BaseException) -> AbortClaim:
    """The claim an org posts when its off-chain work fails with ``exc``."""
    if isinstance(exc, TransportError):
        return AbortClaim.TRANSPORT_ERROR
    if isinstance(exc, ParameterError):
        return AbortClaim.PARAMETERS_REJECTED
    if isinstance(exc, MaterialError):
        return AbortClaim.MATERIAL_REJECTED
    if isinstance(exc, TimeoutError):
        return AbortClaim.TIMEOUT
    return AbortClaim.PROTOCOL_ERROR
