"""The local launcher: one process plays the admin, the service, every org and the auditor.

It runs a session's phases in order (DESIGN.md, "Phases of one session"). Each org's off-chain
work runs in its own thread over real TCP channels on 127.0.0.1; chain transactions are sent
between phases, each signed by the role it belongs to. After every chain step the launcher
looks at the session's on-chain state and stops as soon as the contract has aborted it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from eth_account import Account
from nacl.public import PrivateKey
from web3 import Web3

from chainmpc.job import SumProductJob
from chainmpc.peer import CHEATS, OrgIdentity, OrgPeer
from chainmpc.service import ServiceError, preprocess
from offchain.field import BN254_SCALAR, field_for
from offchain.transport import free_ports
from onchain.audit import Auditor, AuditReport
from onchain.clients import (
    AbortInfo,
    AbortReason,
    ConsortiumClient,
    SessionClient,
    State,
    deploy_contract,
)
from onchain.commitments import job_hash
from onchain.connection import Chain
from onchain.transactions import Sender, TxLog, TxRecord

FUNDING = Web3.to_wei(1, "ether")
SESSION_SECONDS = 3600
T = TypeVar("T")


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
    inputs: list[int]
    expected: list[int]
    result: list[int] | None = None
    abort: AbortInfo | None = None
    message: str = ""
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


class SessionAborted(Exception):
    """Raised inside the run when the chain shows the session aborted."""


@dataclass
class Deployment:
    """Addresses and clients of a deployed consortium."""

    consortium: ConsortiumClient
    sessions: SessionClient


def deploy(admin: Sender) -> Deployment:
    """Deploy the registry and the session manager, and link them."""
    w3 = admin.w3
    consortium = ConsortiumClient(w3, deploy_contract(admin, "Consortium"))
    sessions = SessionClient(w3, deploy_contract(admin, "SessionManager", consortium.address))
    consortium.set_session_manager(admin, sessions.address)
    return Deployment(consortium, sessions)


class Run:
    """One demo session, phase by phase."""

    def __init__(
        self,
        chain: Chain,
        job: SumProductJob,
        inputs: list[int],
        cheat: str | None,
        cheater: int,
        workdir: Path,
        progress: Callable[[str], None],
    ) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.job = job
        self.inputs = inputs
        self.cheat = cheat
        self.cheater = cheater
        self.workdir = workdir
        self.progress = progress
        self.log = TxLog()
        self.phases: list[PhaseRecord] = []
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

    def _each(self, fn: Callable[[OrgPeer], T]) -> list[T]:
        """Run ``fn`` for every org concurrently (the orgs' off-chain work)."""
        return list(self.pool.map(fn, self.peers))

    def _alive(self) -> None:
        if self.sessions.session(self.session).state == State.ABORTED:
            raise SessionAborted

    def _sender(self, name: str) -> Sender:
        account = Account.create()
        self.chain_funder.pay(account.address, FUNDING)
        return Sender(self.w3, account, self.log, name)

    # -- phases --------------------------------------------------------------------------

    def setup(self) -> None:
        """Fresh accounts per role, funded; deploy; register orgs and the auditor."""
        self.chain_funder = Sender(self.w3, self.chain.funder, self.log, "funder")
        self.admin = self._sender("admin")
        self.service = self._sender("preprocessing service")
        self.auditor = Account.create()
        ports = free_ports(self.job.orgs)
        self.org_senders = [self._sender(f"org{k + 1}") for k in range(self.job.orgs)]
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

    def open_session(self) -> None:
        """The admin opens the session: job hash, participants, field, service, deadline."""
        now = self.w3.eth.get_block("latest")["timestamp"]
        self.session = self.sessions.open_session(
            self.admin,
            job_hash(self.job.description()),
            [o.account.address for o in self.orgs],
            BN254_SCALAR,
            self.service.address,
            now + SESSION_SECONDS,
        )
        self.field = field_for(BN254_SCALAR)

    def preprocessing(self) -> None:
        """The service deals and commits; each org connects and loads its checked batch."""
        corrupt = 0 if self.cheat == "triple" else None
        if self.chain.rpc is None:  # the embedded chain lives in this process
            preprocess(
                self.service,
                self.consortium,
                self.sessions,
                self.session,
                self.job,
                self.workdir / "caches",
                corrupt,
            )
        else:
            self._preprocess_in_own_process(corrupt)
        self.peers = [
            OrgPeer(
                o,
                s,
                self.consortium,
                self.sessions,
                self.session,
                self.cheat if o.index == self.cheater and self.cheat != "triple" else None,
            )
            for o, s in zip(self.orgs, self.org_senders, strict=True)
        ]
        self._each(OrgPeer.connect)
        self._each(OrgPeer.load_material)

    def _preprocess_in_own_process(self, corrupt: int | None) -> None:
        """Run ``chainmpc preprocess`` as a separate process, as a real service would."""
        key_file = self.workdir / "service.key"
        key_file.touch(mode=0o600)
        key_file.write_text(self.service.account.key.hex())
        args = [
            sys.executable,
            "-m",
            "chainmpc",
            "preprocess",
            "--rpc",
            str(self.chain.rpc),
            "--consortium",
            self.consortium.address,
            "--session",
            str(self.session),
            "--job",
            self.job.name,
            "--cache-root",
            str(self.workdir / "caches"),
            "--key-file",
            str(key_file),
        ]
        if corrupt is not None:
            args += ["--corrupt-triple", str(corrupt)]
        lines: list[str] = []
        with subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:  # relay the service's progress as it happens
                lines.append(line.rstrip())
                self.progress(f"  service: {lines[-1]}")
            if proc.wait(timeout=600) != 0:
                raise ServiceError(lines[-1] if lines else f"preprocess exited {proc.returncode}")
        # The service sent its commitment from its own process; count it with this phase.
        (event,) = self.sessions.contract.events.PreprocessingCommitted().get_logs(
            from_block=0,
            argument_filters={"sessionId": self.session, "org": self.orgs[0].account.address},
        )
        gas = self.w3.eth.get_transaction_receipt(event["transactionHash"])["gasUsed"]
        self.log.add(TxRecord(self.log.phase, "commitPreprocessing", "service", gas))

    def sacrifice(self) -> None:
        """Sacrifice and bit checks, then the MAC check of their openings on-chain
        (checkpoint 0)."""
        failed = [d for d in self._each(lambda p: p.check_material(self.job)) if d]
        self.checkpoint()
        if failed:
            # The MAC check passed, so the openings are genuine: the dealt material is bad.
            self.peers[0].abort(failed[0])
            self._alive()

    def checkpoint(self) -> None:
        """Digest agreement and batched MAC check through the contract (commit, reveal)."""
        for p in self.peers:
            p.commit_checkpoint()
            self._alive()
        for p in self.peers:
            p.reveal_checkpoint()
            self._alive()
        for p in self.peers:
            p.confirm_checkpoint()

    def input(self) -> None:
        """Each org commits to its input on-chain (before anyone shares anything)."""
        for p, v in zip(self.peers, self.inputs, strict=True):
            p.commit_input(v)

    def compute(self) -> None:
        """Each org shares its input (masked broadcast), then the job runs: the sum is local,
        the product takes one Beaver round per multiplication."""
        self._each(lambda p: p.run_job(self.job, self.inputs[p.me.index]))

    def output(self) -> None:
        """Commit and reveal output shares; the final MAC check finalises the session."""
        for p in self.peers:
            p.commit_output()
        for p in self.peers:
            p.reveal_output()
            self._alive()
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
            self._phase("preprocess", self.preprocessing)
            self._phase("sacrifice check", self.sacrifice)
            self._phase("input", self.input)
            self._phase("compute", self.compute)
            self._phase("MAC check", self.checkpoint)
            self._phase("output", self.output)
        except SessionAborted:
            pass
        finally:
            for p in getattr(self, "peers", []):
                p.close()
            self.pool.shutdown()
        info = self.sessions.session(self.session)
        if info.state == State.FINALISED:
            outcome.result = [self.field.to_signed(v) for v in self.sessions.result(self.session)]
        else:
            outcome.abort = self.sessions.abort_info(self.session)
            outcome.message = explain_abort(outcome.abort, self.orgs)
        auditor = Auditor(self.w3, self.consortium.address)
        outcome.audit = self._phase("audit", lambda: auditor.audit(self.session))
        outcome.phases = self.phases
        return outcome


def explain_abort(abort: AbortInfo, orgs: list[OrgIdentity]) -> str:
    """One sentence on why the session aborted, naming the org where the evidence shows it."""
    names = {o.account.address: o.name for o in orgs}
    culprit = names.get(abort.culprit, abort.culprit)
    where = f"checkpoint {abort.checkpoint}"
    detail = abort.detail.rstrip(b"\0").decode(errors="replace")
    return {
        AbortReason.DIGEST_MISMATCH: f"{where}: the orgs' transcript digests disagree "
        "(an org showed different values to different orgs)",
        AbortReason.SIGMA_MISMATCH: f"{where}: {culprit} revealed a MAC-check share that "
        "does not match its commitment",
        AbortReason.MAC_CHECK_FAILED: f"{where}: MAC check failed: an opened value or a MAC "
        "share was tampered with (not attributable to a single org)",
        AbortReason.OUTPUT_MISMATCH: f"{culprit} revealed output shares that do not match "
        "its commitment",
        AbortReason.PARTICIPANT_ABORT: {
            "sacrifice-failed": "sacrifice check failed: the preprocessing service dealt a bad "
            "triple (the MAC check vouched for the openings)",
            "bit-check-failed": "bit check failed: the preprocessing service dealt a mask bit "
            "that is not 0 or 1 (the MAC check vouched for the openings)",
        }.get(detail, f"a participant aborted: {detail}"),
        AbortReason.EXPIRED: "the session's deadline passed",
    }.get(abort.reason, f"aborted ({abort.reason.name})")


def run_session(
    chain: Chain,
    job: SumProductJob,
    inputs: list[int],
    cheat: str | None = None,
    cheater: int = 1,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Outcome:
    """Run one complete session of ``job`` on ``chain``; see :class:`Run`."""
    if cheat is not None and cheat not in CHEATS:
        raise ValueError(f"unknown cheat {cheat!r}; choose one of {', '.join(CHEATS)}")
    if not 0 <= cheater < job.orgs:
        raise ValueError(f"cheating org {cheater + 1} is not one of the {job.orgs} orgs")
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chainmpc-")))
        return Run(chain, job, inputs, cheat, cheater, workdir, progress).execute()
