"""One org's peer: its keys, its engine, and its steps through a session.

Off-chain steps (networking, sacrifice, input sharing, computing) run in the peer's own thread
and talk only to the other peers. Chain steps (commitments, reveals) are separate methods, so
the chain is touched at phase boundaries only. The peer learns the other orgs' encryption keys
and endpoints from the on-chain registry, not from a side channel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from nacl.public import PrivateKey

from chainmpc.job import SumProductJob
from offchain.cache import OrgCache
from offchain.engine import CheckpointShare, Engine
from offchain.field import field_for
from offchain.sectypes import SecretArray
from offchain.shares import Shared
from offchain.transcript import challenge
from offchain.transport import PeerNetwork
from onchain.clients import ConsortiumClient, SessionClient
from onchain.commitments import input_commitment, new_salt, output_commitment, sigma_commitment
from onchain.transactions import Sender

CHEATS = ("share", "mac", "triple", "sigma", "digest")


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


def session_tag(manager: str, session: int) -> bytes:
    """Binds transcripts, challenges and channels to one session of one contract."""
    return hashlib.sha256(bytes.fromhex(manager[2:]) + session.to_bytes(32, "big")).digest()


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``."""
    host, _, port = endpoint.rpartition(":")
    return host, int(port)


class OrgPeer:
    """An org's run of one session."""

    def __init__(
        self,
        identity: OrgIdentity,
        sender: Sender,
        consortium: ConsortiumClient,
        sessions: SessionClient,
        session: int,
        cheat: str | None = None,
    ) -> None:
        self.me = identity
        self.sender = sender
        self.sessions = sessions
        self.session = session
        self.cheat = cheat
        info = sessions.session(session)
        self.field = field_for(info.modulus)
        self.participants = info.participants
        self.tag = session_tag(sessions.address, session)
        registry = [consortium.org_info(a) for a in self.participants]
        self.network = PeerNetwork(
            identity.index,
            identity.box_key,
            [bytes(key) for _, key, _ in registry],
            [parse_endpoint(ep) for _, _, ep in registry],
            self.tag,
        )
        self.engine: Engine | None = None
        self._checkpoint: tuple[CheckpointShare, bytes] | None = None
        self._outputs: list[SecretArray] = []

    def __repr__(self) -> str:
        return f"OrgPeer({self.me.name}, session={self.session})"

    # -- off-chain steps (run in this org's thread) ------------------------------------------

    def connect(self) -> None:
        """Open authenticated, encrypted channels to every other participant."""
        self.network.start()

    def load_material(self) -> None:
        """Take this session's batch from the cache, checked against its on-chain hash."""
        expected = self.sessions.batch_hash(self.session, self.me.account.address)
        material = OrgCache(self.me.cache_dir).consume(self.session, expected, self.me.box_key)
        tamper = self.cheat if self.cheat in ("share", "mac") else None
        self.engine = Engine(material, self.network, self.tag, tamper=tamper)

    def check_material(self, job: SumProductJob) -> bytes | None:
        """Sacrifice-check the triples the job needs (counted here, not taken from the
        service's word), then check that every dealt mask bit is a bit. Returns the abort
        detail of the first failed check, or None. ``t`` comes from every batch hash as
        committed on-chain, fixed before anyone could know it."""
        triples = job.needs(self.field).checked_triples
        hashes = [self.sessions.batch_hash(self.session, a) for a in self.participants]
        (t,) = challenge(self.field.p, self.tag, b"sacrifice", *hashes, count=1)
        if self._engine.sacrifice(triples, t):
            return b"sacrifice-failed"
        if self._engine.check_bits():
            return b"bit-check-failed"
        return None

    def run_job(self, job: SumProductJob, value: int) -> None:
        """Share every org's input (this org supplies ``value``) and compute the job."""
        self._outputs = job.program(self._engine, value)

    # -- chain steps ---------------------------------------------------------------------

    def commit_input(self, value: int) -> None:
        """Post a salted commitment to this org's input."""
        encoded = [self.field.from_signed(value)]
        salt = new_salt()
        # Kept (in memory, by this org only) so the org can later prove what it put in.
        self.input_opening = (encoded, salt)
        commitment = input_commitment(encoded, salt, self.me.account.address, self.session)
        self.sessions.commit_input(self.sender, self.session, commitment)

    def commit_checkpoint(self) -> None:
        """MAC check, round 1: post the transcript digest and a commitment to ``sigma_i``."""
        share = self._engine.checkpoint()
        salt = new_salt()
        self._checkpoint = (share, salt)
        digest = share.digest
        if self.cheat == "digest" and share.checkpoint == 1:
            digest = bytes([digest[0] ^ 1]) + digest[1:]
        commitment = sigma_commitment(
            share.sigma, salt, self.me.account.address, self.session, share.checkpoint
        )
        self.sessions.commit_checkpoint(self.sender, self.session, digest, commitment)

    def reveal_checkpoint(self) -> None:
        """MAC check, round 2: reveal ``sigma_i`` and its salt."""
        assert self._checkpoint is not None, "commit before reveal"
        share, salt = self._checkpoint
        sigma = share.sigma
        if self.cheat == "sigma" and share.checkpoint == 1:
            sigma = (sigma + 1) % self.field.p
        self.sessions.reveal_sigma(self.sender, self.session, sigma, salt)

    def confirm_checkpoint(self) -> None:
        """The contract accepted the current checkpoint: its openings are now vouched for."""
        assert self._checkpoint is not None, "no checkpoint in progress"
        self._engine.confirm_passed(self._checkpoint[0])

    def commit_output(self) -> None:
        """Output, round 1: commit to this org's value shares of the outputs."""
        self._output_salt = new_salt()
        shares = self._output_shares()
        commitment = output_commitment(
            shares, self._output_salt, self.me.account.address, self.session
        )
        self.sessions.commit_output(self.sender, self.session, commitment)

    def reveal_output(self) -> None:
        """Output, round 2: reveal the value shares; the contract sums them."""
        shares = self._output_shares()
        self.sessions.reveal_output(self.sender, self.session, shares, self._output_salt)

    def accept_output(self, values: list[int]) -> None:
        """Queue the opened outputs (and this org's MAC shares of them) for the final check."""
        shared = Shared.concat([v.shared for v in self._outputs])
        self._engine.accept_opened(shared, self.field.from_ints(values), "output")

    def _output_shares(self) -> list[int]:
        return [v for out in self._outputs for v in self.field.to_ints(out.shared.x)]

    def abort(self, detail: bytes) -> None:
        """Abort the session on-chain with a short reason."""
        self.sessions.abort(self.sender, self.session, detail)

    def close(self) -> None:
        """Close the peer channels."""
        self.network.close()

    @property
    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("load_material() first")
        return self.engine
