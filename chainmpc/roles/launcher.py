"""The local launcher: one process plays the admin, the service, every org and the auditor.

It runs a session's phases in order (docs/design.md, "Phases of one session"). Each org's off-chain
work runs in its own thread over real TCP channels on 127.0.0.1; chain transactions are sent
between phases, each signed by the role it belongs to. After every chain step the launcher
looks at the session's on-chain state and stops as soon as the contract has aborted it. An org
whose own step fails (a protocol or transport error, a refused parameter, a failed check of its
material) posts the abort on-chain with its claim, so no session is left live.

Which classes play each role is a :class:`Roles` value: fault injection
(``chainmpc/faults.py``) swaps in cheating wrappers; the launcher itself has no cheat flags.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from operator import methodcaller
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from nacl.public import PrivateKey
from web3 import Web3

from chainmpc.exceptions import ParameterError, SessionAborted
from chainmpc.explain import explain_abort
from chainmpc.jobs.base import Job
from chainmpc.roles.deployment import deploy
from chainmpc.roles.peer import OrgIdentity, OrgPeer, claim_for
from chainmpc.roles.service import preprocess, run_service_process
from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import BN254_SCALAR, Field, FieldError, field_for
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.material import MaterialError
from offchain.transport.mesh import TransportError, free_ports
from onchain.audit import Auditor, AuditReport
from onchain.clients import AbortClaim, AbortInfo, State
from onchain.commitments import job_hash
from onchain.connection import Chain
from onchain.transactions import Sender, TxLog, TxRecord

FUNDING = Web3.to_wei(1, "ether")
SESSION_SECONDS = 3600
T = TypeVar("T")
#: What an org's own step can fail with; the org then posts the abort with its claim.
PEER_FAILURES = (
    ProtocolAbort,
    TransportError,
    MaterialError,
    ParameterError,
    FieldError,  # another org sent bytes that are not field elements
    TimeoutError,
)


@dataclass(frozen=True)
class Roles:
    """The classes that play each role (fault injection swaps them; see chainmpc/faults.py)."""

    peer: Callable[[int], type[OrgPeer]] = lambda org: OrgPeer
    engine: Callable[[int], Callable[..., Engine]] = lambda org: Engine
    dealer: Callable[[Field, int], Dealer] = Dealer
    service_command: tuple[str, ...] = ("-m", "chainmpc")  # how to start `chainmpc preprocess`


@dataclass
class PhaseRecord:
    """One row of the summary table."""

    name: str
    seconds: float
    transactions: int = 0
    gas: int = 0


@dataclass
class Outcome:
    """What a run produced: the on-chain record, the result or why it aborted, the audit."""

    consortium: str
    manager: str
    session: int
    inputs: list[Any]  # every org's input (this process plays them all); never printed
    expected: list[int]
    result: list[int] | None = None
    abort: AbortInfo | None = None
    message: str = ""
    errors: list[str] = field(default_factory=list)  # what failed at an org, in its words
    audit: AuditReport | None = None
    phases: list[PhaseRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Finalised with the expected result and a passing audit."""
        return (
            self.abort is None
            and self.result == self.expected
            and self.audit is not None
            and self.audit.passed
        )


class Run:
    """One demo session, phase by phase."""

    def __init__(
        self,
        chain: Chain,
        job: Job,
        inputs: list[Any],
        roles: Roles,
        workdir: Path,
        progress: Callable[[str], None],
    ) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.job = job
        self.inputs = inputs
        self.roles = roles
        self.workdir = workdir
        self.progress = progress
        self.log = TxLog()
        self.phases: list[PhaseRecord] = []
        self.errors: list[str] = []
        self.peers: list[OrgPeer] = []
        self.pool = ThreadPoolExecutor(max_workers=job.orgs)

    # -- helpers -------------------------------------------------------------------------

    def _phase(self, name: str, step: Callable[[], T]) -> T:
        self.log.phase = name
        self.progress(f"{name} ...")
        before = len(self.log.records)
        start = time.perf_counter()
        try:
            return step()
        finally:
            new = self.log.records[before:]
            self.phases.append(
                PhaseRecord(
                    name, time.perf_counter() - start, len(new), sum(r.gas_used for r in new)
                )
            )

    def _step(self, peer: OrgPeer, fn: Callable[[OrgPeer], T]) -> T:
        """Run one org's chain step; if it fails, that org posts the abort with its claim."""
        try:
            return fn(peer)
        except PEER_FAILURES as exc:
            self._failed(peer, exc)
            raise SessionAborted from exc

    def _failed(self, peer: OrgPeer, exc: BaseException) -> None:
        self.errors.append(f"{peer.me.name}: {type(exc).__name__}: {exc}")
        peer.close()
        peer.abort(claim_for(exc))

    def _each(self, fn: Callable[[OrgPeer], T]) -> list[T]:
        """Run ``fn`` for every org concurrently (the orgs' off-chain work). An org whose work
        fails closes its channels at once (so the others stop instead of waiting); the aborts
        are posted from this thread afterwards (one chain client, one thread)."""

        def work(peer: OrgPeer) -> T | BaseException:
            try:
                return fn(peer)
            except PEER_FAILURES as exc:
                peer.close()
                return exc

        outcomes = list(self.pool.map(work, self.peers))
        failures = [(p, o) for p, o in zip(self.peers, outcomes, strict=True)
                    if isinstance(o, BaseException)]  # fmt: skip
        for peer, exc in failures:
            self._failed(peer, exc)
        if failures:
            raise SessionAborted
        return outcomes  # type: ignore[return-value]

    def _in_turn(self, fn: Callable[[OrgPeer], object]) -> None:
        """Run one chain step for every org in turn, stopping at an on-chain abort."""
        for p in self.peers:
            self._step(p, fn)
            self._alive()

    def _alive(self) -> None:
        if self.sessions.session(self.session).state == State.ABORTED:
            raise SessionAborted

    def _sender(self, name: str) -> Sender:
        account = Account.create()
        self.chain_funder.pay(account.address, FUNDING)
        return Sender(self.w3, account, self.log, name)

    # -- phases --------------------------------------------------------------------------

    def setup(self) -> None:
        """Fresh accounts per role, funded; deploy; register orgs, auditor and service."""
        self.chain_funder = Sender(self.w3, self.chain.funder, self.log, "funder")
        self.admin = self._sender("admin")
        self.service = self._sender("preprocessing service")
        self.auditor = Account.create()
        ports = free_ports(self.job.orgs)
        self.org_senders = [self._sender(name) for name in self.job.spec.orgs]
        self.orgs = [
            OrgIdentity(
                k,
                s.name,
                s.account,
                PrivateKey.generate(),
                "127.0.0.1",
                ports[k],
                self.workdir / "caches" / s.name,
            )
            for k, s in enumerate(self.org_senders)
        ]
        d = deploy(self.admin)
        self.consortium, self.sessions = d.consortium, d.sessions
        for o in self.orgs:
            self.consortium.register_org(
                self.admin, o.account.address, o.name, bytes(o.box_key.public_key), o.endpoint
            )
        self.consortium.register_auditor(self.admin, self.auditor.address)
        self.consortium.register_service(self.admin, self.service.address, "dealer")

    def open_session(self) -> None:
        """The admin opens the session: job hash, participants, field, service, deadline,
        output length."""
        now = self.w3.eth.get_block("latest")["timestamp"]
        self.session = self.sessions.open_session(
            self.admin,
            job_hash(self.job.description()),
            [o.account.address for o in self.orgs],
            BN254_SCALAR,
            self.service.address,
            now + SESSION_SECONDS,
            self.job.output_length,
        )
        self.field = field_for(BN254_SCALAR)

    def accept(self) -> None:
        """Every org checks the session's parameters itself and accepts them on-chain."""
        self.peers = [
            self.roles.peer(o.index)(o, s, self.consortium, self.sessions, self.session, self.job)
            for o, s in zip(self.orgs, self.org_senders, strict=True)
        ]
        expected = [o.account.address for o in self.orgs]
        self._in_turn(lambda p: p.accept(expected))

    def preprocessing(self) -> None:
        """The service deals and commits; each org connects and loads its checked batch."""
        if self.chain.rpc is None:  # the embedded chain lives in this process
            preprocess(
                self.service,
                self.consortium,
                self.sessions,
                self.session,
                self.job,
                self.workdir / "caches",
                dealer_class=self.roles.dealer,
            )
        else:
            self._preprocess_in_own_process()
        self._each(methodcaller("connect"))
        self._each(lambda p: p.load_material(self.roles.engine(p.me.index)))

    def _preprocess_in_own_process(self) -> None:
        """Run ``chainmpc preprocess`` as a separate process, as a real service would."""
        # The service rebuilds the job from its canonical form (a job file without data).
        job_file = self.workdir / "job.json"
        job_file.write_text(json.dumps(self.job.description(), indent=2) + "\n")
        key_file = self.workdir / "service.key"
        key_file.touch(mode=0o600)
        key_file.write_text(self.service.account.key.hex())
        try:
            run_service_process(
                self.roles.service_command,
                ["--rpc", str(self.chain.rpc), "--consortium", self.consortium.address,
                 "--session", str(self.session), "--job", str(job_file),
                 "--cache-root", str(self.workdir / "caches"), "--key-file", str(key_file)],
                lambda line: self.progress(f"  service: {line}"),
            )  # fmt: skip
        finally:
            key_file.unlink()  # a secret: not left in a --workdir the user keeps
        # The service sent its commitment from its own process; count it with this phase.
        (event,) = self.sessions.contract.events.PreprocessingCommitted().get_logs(
            from_block=0,
            argument_filters={"sessionId": self.session, "org": self.orgs[0].account.address},
        )
        gas = self.w3.eth.get_transaction_receipt(event["transactionHash"])["gasUsed"]
        self.log.add(TxRecord(self.log.phase, "commitPreprocessing", "service", gas))

    def sacrifice(self) -> None:
        """Sacrifice, bit and input-mask checks, then the MAC check of their openings
        on-chain (checkpoint 0). An org whose check failed then aborts with its claim."""
        claims = self._each(methodcaller("check_material"))
        self.checkpoint()
        for peer, claim in zip(self.peers, claims, strict=True):
            if claim is not None:
                # The MAC check passed, so the openings are genuine: the material is bad.
                self.errors.append(f"{peer.me.name}: {claim.name}")
                peer.abort(claim)
                raise SessionAborted

    def checkpoint(self) -> None:
        """Digest agreement and batched MAC check through the contract (commit, reveal)."""
        self._in_turn(methodcaller("commit_checkpoint"))
        self._in_turn(methodcaller("reveal_checkpoint"))
        for p in self.peers:
            self._step(p, methodcaller("confirm_checkpoint"))

    def input(self) -> None:
        """Each org commits to its input on-chain (before anyone shares anything)."""
        for p, v in zip(self.peers, self.inputs, strict=True):
            self._step(p, lambda peer, v=v: peer.commit_input(v))

    def compute(self) -> None:
        """Each org shares its input (masked broadcast), then the job runs."""
        self._each(lambda p: p.run_job(self.inputs[p.me.index]))

    def output(self) -> None:
        """Commit and reveal output shares; the final MAC check finalises the session."""
        self._in_turn(methodcaller("commit_output"))
        self._in_turn(methodcaller("reveal_output"))
        opened = self.sessions.revealed_output(self.session)
        for p in self.peers:
            p.accept_output(opened)
        self.checkpoint()

    def execute(self) -> Outcome:
        """Run every phase; stop at the first on-chain abort; audit either way."""
        self._phase("deploy & register", self.setup)
        self._phase("open session", self.open_session)
        outcome = Outcome(
            self.consortium.address,
            self.sessions.address,
            self.session,
            self.inputs,
            self.job.expected(self.inputs),
        )
        try:
            self._phase("accept parameters", self.accept)
            self._phase("preprocess", self.preprocessing)
            self._phase("sacrifice check", self.sacrifice)
            self._phase("input", self.input)
            self._phase("compute", self.compute)
            self._phase("MAC check", self.checkpoint)
            self._phase("output", self.output)
        except SessionAborted:
            pass
        except BaseException:
            # Anything else (a revert, the service failing): leave no session live.
            if self.peers:
                self.peers[0].abort(AbortClaim.PROTOCOL_ERROR)
            raise
        finally:
            for p in self.peers:
                p.close()
            self.pool.shutdown()
        info = self.sessions.session(self.session)
        if info.state == State.FINALISED:
            outcome.result = [self.field.to_signed(v) for v in self.sessions.result(self.session)]
        else:
            outcome.abort = self.sessions.abort_info(self.session)
            names = {o.account.address: o.name for o in self.orgs}
            outcome.message = explain_abort(outcome.abort, names)
        outcome.errors = self.errors
        auditor = Auditor(self.w3, self.consortium.address)
        outcome.audit = self._phase(
            "audit",
            lambda: auditor.audit(
                self.session,
                job_hash=job_hash(self.job.description()),
                material_counts=self.job.needs(self.field).counts(),
                output_length=self.job.output_length,
            ),
        )
        outcome.phases = self.phases
        return outcome


def run_session(
    chain: Chain,
    job: Job,
    roles: Roles | None = None,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
    inputs: list[Any] | None = None,
) -> Outcome:
    """Run one complete session of ``job`` on ``chain``; see :class:`Run`. ``inputs`` are
    every org's ``job.load_input(k)``, read here (before any transaction) unless given."""
    if inputs is None:
        inputs = [job.load_input(k) for k in range(job.orgs)]
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chainmpc-")))
        return Run(chain, job, inputs, roles or Roles(), workdir, progress).execute()
