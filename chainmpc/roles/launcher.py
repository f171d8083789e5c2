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
import secrets
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from eth_account import Account
from nacl.public import PrivateKey
from web3 import Web3

from chainmpc.exceptions import SessionAborted
from chainmpc.explain import explain_abort
from chainmpc.jobs.base import Job
from chainmpc.keys import KeyPair, new_keys
from chainmpc.roles.deployment import deploy
from chainmpc.roles.org import SESSION_PHASES, OrgAborted, SessionWatch, take_part
from chainmpc.roles.peer import OrgIdentity, OrgPeer
from chainmpc.roles.service import preprocess, run_service_process
from offchain.engine.core import Engine
from offchain.hazmat.field import BN254_SCALAR, Field, field_for
from offchain.preprocessing.cache import OrgCache, deployment_id
from offchain.preprocessing.dealer import Dealer
from offchain.transport.mesh import free_ports
from onchain.audit import Auditor, AuditReport
from onchain.clients import AbortClaim, AbortInfo, State
from onchain.commitments import job_hash
from onchain.connection import Chain
from onchain.exceptions import OnchainError
from onchain.transactions import Sender, TxLog, TxRecord

FUNDING = Web3.to_wei(1, "ether")
SESSION_SECONDS = 3600
T = TypeVar("T")
#: How long an org waits for the others' step before it aborts (a local run: all are here).
STEP_TIMEOUT = 60.0
#: How often an org looks at the chain while it waits: the embedded chain answers in-process;
#: a node is shared (three demos' orgs polling ganache every 20 ms slowed it to a crawl).
POLL = {True: 0.02, False: 0.25}


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
    expected: list[int] | None  # the plaintext outputs; None until a seeded kind has its seed
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
    """One session on one machine: the launcher sets up and opens it, then every org and the
    service run concurrently, each driven by what the chain shows (chainmpc/roles/org.py)."""

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

    def _sender(self, name: str, log: TxLog | None = None) -> Sender:
        account = Account.create()
        self.chain_funder.pay(account.address, FUNDING)
        return Sender(self.w3, account, log or self.log, name)

    # -- the launcher's own steps (the admin's) ----------------------------------------------

    def setup(self) -> None:
        """Fresh accounts per role, funded; deploy; register orgs, auditor and service."""
        self.chain_funder = Sender(self.w3, self.chain.funder, self.log, "funder")
        self.admin = self._sender("admin")
        self.service = self._sender("preprocessing service", PhaseLog())
        self.auditor = Account.create()
        ports = free_ports(self.job.orgs)
        self.org_senders = [self._sender(name, PhaseLog()) for name in self.job.spec.orgs]
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
        self.opened_at = self.w3.eth.block_number  # the session's events start here

    # -- the session: every org and the service at once --------------------------------------

    def session_phases(self) -> None:
        """Every org runs :func:`take_part` in its own thread and the service deals once all
        have accepted; each posts its own transactions. Raises what the service failed with
        (after an org has aborted the session, so none is left live)."""
        names = {o.account.address: o.name for o in self.orgs}
        participants = [o.account.address for o in self.orgs]
        self.peers = [
            self.roles.peer(o.index)(o, s, self.consortium, self.sessions, self.session, self.job)
            for o, s in zip(self.orgs, self.org_senders, strict=True)
        ]

        def watch(who: str) -> SessionWatch:
            say = lambda m: self.progress(f"  {who}: {m}")  # noqa: E731
            return SessionWatch(self.sessions, self.session, names, STEP_TIMEOUT,
                                POLL[self.chain.rpc is None],
                                self.opened_at, say)  # fmt: skip

        def org(peer: OrgPeer) -> None:
            log = peer.sender.log
            assert isinstance(log, PhaseLog)
            take_part(peer, self.inputs[peer.me.index], watch(peer.me.name), participants,
                      engine_class=self.roles.engine(peer.me.index), phase=log.enter)  # fmt: skip

        def service() -> None:
            log = self.service.log
            assert isinstance(log, PhaseLog)
            # Bounded like an org's step: if an org could not accept (its accept and its
            # abort both failed), the run must end, not wait for the session's deadline.
            watch("service").until_state({State.ACCEPTED}, "every org to accept")
            log.enter("preprocess")
            self._preprocess()
            log.enter("")

        with ThreadPoolExecutor(max_workers=len(self.peers) + 1) as pool:
            dealt = pool.submit(service)
            done = [pool.submit(org, p) for p in self.peers]
            try:
                dealt.result()
            except BaseException:
                # The orgs would wait for the material until the deadline: abort for them.
                self.peers[0].abort(AbortClaim.PROTOCOL_ERROR)
                raise
            finally:
                for peer, future in zip(self.peers, done, strict=True):
                    exc = future.exception()
                    if isinstance(exc, OrgAborted):
                        self.errors.append(str(exc))
                    elif exc is not None and not isinstance(exc, SessionAborted):
                        raise exc
                    del peer
                self._collect_phases()

    def _collect_phases(self) -> None:
        """Fold every org's and the service's phases into the summary table."""
        logs = [s.log for s in (*self.org_senders, self.service)]
        for name in SESSION_PHASES:
            spans = [span for log in logs if isinstance(log, PhaseLog)
                     for span in log.spans if span[0] == name]  # fmt: skip
            records = [r for log in logs for r in log.records if r.phase == name]
            if spans or records:
                seconds = max(end - start for _, start, end in spans) if spans else 0.0
                self.phases.append(
                    PhaseRecord(name, seconds, len(records), sum(r.gas_used for r in records))
                )

    def _preprocess(self) -> None:
        if self.chain.rpc is None:  # the embedded chain lives in this process
            preprocess(
                self.service,
                self.consortium,
                self.sessions,
                self.session,
                self.job,
                self.deliver_to_cache,
                dealer_class=self.roles.dealer,
            )
        else:
            self._preprocess_in_own_process()

    def deliver_to_cache(self, name: str, _address: str) -> AbstractContextManager[BinaryIO]:
        """The service's delivery on one machine: streamed into the org's cache directory."""
        deployment = deployment_id(self.w3.eth.chain_id, self.sessions.address)
        return OrgCache(self.workdir / "caches" / name).sink(deployment, self.session)

    def _preprocess_in_own_process(self) -> None:
        """Run ``chainmpc preprocess`` as a separate process, as a real service would."""
        # The service rebuilds the job from its canonical form (a job file without data).
        job_file = self.workdir / "job.json"
        job_file.write_text(json.dumps(self.job.description(), indent=2) + "\n")
        key_file = self.workdir / "service-key.json"
        passphrase = secrets.token_urlsafe(24)
        new_keys(key_file, passphrase, strength="interactive",
                 keys=KeyPair(self.service.account, PrivateKey.generate()))  # fmt: skip
        try:
            run_service_process(
                self.roles.service_command,
                ["deal", "--rpc", str(self.chain.rpc), "--consortium", self.consortium.address,
                 "--session", str(self.session), "--job", str(job_file),
                 "--cache-root", str(self.workdir / "caches"), "--key", str(key_file)],
                lambda line: self.progress(f"  service: {line}"),
                {"CHAINMPC_PASSPHRASE": passphrase},
            )  # fmt: skip
        finally:
            key_file.unlink()  # a secret: not left in a --workdir the user keeps
        # The service sent its commitment from its own process; count it with this phase.
        (event,) = self.sessions.contract.events.PreprocessingCommitted().get_logs(
            from_block=0,
            argument_filters={"sessionId": self.session, "org": self.orgs[0].account.address},
        )
        gas = self.w3.eth.get_transaction_receipt(event["transactionHash"])["gasUsed"]
        self.service.log.add(TxRecord("preprocess", "commitPreprocessing", "service", gas))

    def execute(self) -> Outcome:
        """Set up, open, run the session; audit it either way."""
        self._phase("deploy & register", self.setup)
        self._phase("open session", self.open_session)
        outcome = Outcome(
            self.consortium.address,
            self.sessions.address,
            self.session,
            self.inputs,
            None,
        )
        self.progress(
            f"session {self.session} opened on consortium {self.consortium.address} "
            f"(manager {self.sessions.address})"
        )
        self.session_phases()
        info = self.sessions.session(self.session)
        if info.state == State.FINALISED:
            outcome.result = [self.field.to_signed(v) for v in self.sessions.result(self.session)]
        else:
            outcome.abort = self.sessions.abort_info(self.session)
            names = {o.account.address: o.name for o in self.orgs}
            outcome.message = explain_abort(outcome.abort, names)
        # A kind drawing public randomness in the session checks against its recorded draw.
        outcome.expected = self.job.expected(self.inputs, outcome.result)
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
        self.refund()
        return outcome

    def refund(self) -> None:
        """Return what the throwaway accounts did not spend to the funder: their keys are
        forgotten with this run, and ether left there would be lost. Best effort: the run's
        outcome is already on-chain, so a refused sweep is reported, not raised."""
        returned = 0
        for s in (self.admin, self.service, *self.org_senders):
            try:
                returned += s.sweep(self.chain.funder.address)
            except OnchainError as exc:
                self.progress(f"could not return {s.name}'s ether: {exc}")
        self.progress(f"returned {returned / 10**18:.4f} unspent ETH to the funder")


class PhaseLog(TxLog):
    """One role's transactions and the time it spent in each session phase."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, float, float]] = []  # (phase, start, end)

    def enter(self, name: str) -> None:
        """Start phase ``name`` ("" ends the last one)."""
        now = time.perf_counter()
        if self.spans and self.spans[-1][2] == 0.0:
            phase, start, _ = self.spans[-1]
            self.spans[-1] = (phase, start, now)
        if name:
            self.spans.append((name, now, 0.0))
        self.phase = name


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
