"""The ``chainmpc`` command line: ``demo``, ``deploy``, ``preprocess``, ``describe-job``, ``audit``.

Errors a user can cause (bad input, a malformed or unreachable RPC URL, an unknown org) end
in one line naming the problem and a non-zero exit, before anything is posted on-chain.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3.exceptions import Web3Exception

from chainmpc.cheats import CHEATS, roles_for
from chainmpc.deployment import deploy
from chainmpc.job import JOBS, MAX_ORGS, MIN_ORGS, InputError, SumProductJob
from chainmpc.launcher import Outcome, run_session
from chainmpc.service import ServiceError
from chainmpc.service import preprocess as preprocess_session
from offchain.engine import ProtocolAbort
from offchain.field import FieldError, field_for
from offchain.preprocessing import MaterialError
from offchain.transport import TransportError
from onchain.audit import Auditor, AuditReport
from onchain.clients import ConsortiumClient, SessionClient
from onchain.commitments import job_hash
from onchain.connection import Chain, ChainError, connect
from onchain.transactions import Sender, TransactionError, TxLog, revert_reason

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_INPUTS = (12, -7, 30, 5, 9, 2, -3)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    sys.exit(1)


def _connect(rpc: str | None) -> Chain:
    try:
        return connect(rpc)
    except ChainError as exc:
        _fail(str(exc))
        raise  # unreachable


@click.group()
@click.version_option(package_name="chainmpc")
def main() -> None:
    """Privacy-preserving data mining with SPDZ MPC and an Ethereum audit trail."""


@main.command()
@click.option(
    "--rpc",
    metavar="URL",
    help="JSON-RPC node (ganache, anvil, hardhat node, ...). "
    "Default: an embedded in-process chain.",
)
@click.option(
    "--orgs",
    type=int,
    default=3,
    show_default=True,
    help=f"Number of organisations ({MIN_ORGS}-{MAX_ORGS}).",
)
@click.option("--inputs", metavar="CSV", help="One private int32 per org, e.g. 12,-7,30.")
@click.option(
    "--cheat",
    type=click.Choice(CHEATS),
    help="Make one org (or the service) misbehave, to watch detection: " + ", ".join(CHEATS) + ".",
)
@click.option(
    "--cheater",
    type=int,
    default=2,
    show_default=True,
    metavar="ORG",
    help="Which org cheats (1-based; for `mask`, the org whose mask the service shifts).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the orgs' caches live (default: a temporary directory).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the outcome as JSON.",
)
def demo(
    rpc: str | None,
    orgs: int,
    inputs: str | None,
    cheat: str | None,
    cheater: int,
    workdir: Path | None,
    json_path: Path | None,
) -> None:
    """Deploy, register orgs, run one MPC session (sum and product of private inputs),
    MAC-check it through the contract, record the result and audit it."""
    try:
        job = SumProductJob(orgs)
        values = job.parse_inputs(inputs) if inputs else list(DEFAULT_INPUTS[:orgs])
    except InputError as exc:
        _fail(str(exc))
    if not 1 <= cheater <= orgs:
        _fail(f"--cheater {cheater}: unknown org (orgs are numbered 1 to {orgs})")
    if workdir is not None and not workdir.parent.is_dir():
        _fail(f"--workdir {workdir}: its parent directory does not exist")
    if json_path is not None and not json_path.parent.is_dir():
        _fail(f"--json {json_path}: its directory does not exist")
    chain = _connect(rpc)
    console.print(f"chain: {chain.description}")
    start = time.perf_counter()
    try:
        outcome = run_session(
            chain,
            job,
            values,
            roles_for(cheat, cheater - 1),
            workdir,
            progress=lambda m: console.print(f"[dim]{time.perf_counter() - start:6.2f}s[/] {m}"),
        )
    except (
        TransactionError,
        ChainError,
        ServiceError,
        MaterialError,
        ProtocolAbort,
        TransportError,
    ) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    _print_outcome(outcome, rpc)
    if json_path:
        json_path.write_text(json.dumps(_outcome_json(outcome), indent=2) + "\n")
    sys.exit(0 if outcome.ok else 1)


def _print_outcome(o: Outcome, rpc: str | None) -> None:
    table = Table(title=f"session {o.session}")
    for col in ("phase", "transactions", "gas", "time (s)"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for ph in o.phases:
        table.add_row(ph.name, str(ph.transactions), f"{ph.gas:,}", f"{ph.seconds:.2f}")
    table.add_row(
        "total",
        str(sum(p.transactions for p in o.phases)),
        f"{sum(p.gas for p in o.phases):,}",
        f"{sum(p.seconds for p in o.phases):.2f}",
        style="bold",
    )
    console.print(table)
    console.print(f"consortium {o.consortium}   session manager {o.manager}")
    if o.result is not None:
        status = "[green]matches[/]" if o.result == o.expected else "[red]DIFFERS FROM[/]"
        console.print(
            f"result: sum = {o.result[0]}, product = {o.result[1]} "
            f"({status} the plaintext computation)"
        )
    else:
        console.print(f"[bold red]session aborted on-chain:[/] {o.message}")
        for line in o.errors:
            console.print(f"  [red]{line}[/]")
    if o.audit is not None:
        _print_audit(o.audit)
    if rpc:
        console.print(
            f"re-audit: chainmpc audit --rpc {rpc} --consortium {o.consortium} "
            f"--session {o.session}"
        )


def _print_audit(report: AuditReport) -> None:
    verdict = "[bold green]PASS[/]" if report.passed else "[bold red]FAIL[/]"
    console.print(f"audit of session {report.session}: {verdict}")
    for c in report.checks:
        mark = "[green]ok[/]  " if c.ok else "[red]FAIL[/]"
        console.print(f"  {mark} {c.name}: {c.detail}")
    for what in report.unchecked:
        console.print(f"  [yellow]not checked[/] {what} (pass --job FILE)")


def _outcome_json(o: Outcome) -> dict:
    return {
        "session": o.session,
        "consortium": o.consortium,
        "manager": o.manager,
        "result": o.result,
        "expected": o.expected,
        "ok": o.ok,
        "abort": None
        if o.abort is None
        else {
            "reason": o.abort.reason.name,
            "culprit": o.abort.culprit,
            "by": o.abort.by,
            "claim": o.abort.claim.name,
            "checkpoint": o.abort.checkpoint,
            "message": o.message,
            "errors": o.errors,
        },
        "phases": [vars(p) for p in o.phases],
        "audit": o.audit.to_dict() if o.audit else None,
    }


@main.command("deploy")
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node to deploy to.")
def deploy_cmd(rpc: str) -> None:
    """Deploy the consortium registry and session manager; print their addresses.

    The deploying account (the consortium admin) is CHAINMPC_FUNDER_KEY, or on a dev node the
    first account of its well-known development mnemonic."""
    chain = _connect(rpc)
    try:
        d = deploy(Sender(chain.w3, chain.funder, TxLog(), "admin"))
    except TransactionError as exc:
        _fail(str(exc))
    console.print_json(
        data={
            "consortium": d.consortium.address,
            "manager": d.sessions.address,
            "admin": chain.funder.address,
        }
    )


@main.command()
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node holding the session.")
@click.option("--consortium", metavar="ADDRESS", required=True, help="Consortium contract.")
@click.option("--session", type=int, required=True, help="Session id to prepare.")
@click.option(
    "--job",
    "job_name",
    type=click.Choice(sorted(JOBS)),
    default="sum-product",
    show_default=True,
    help="The job the session computes (checked on-chain).",
)
@click.option(
    "--cache-root",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory holding each org's cache, one subdirectory per org name.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="File with the service's Ethereum private key (hex).",
)
def preprocess(
    rpc: str,
    consortium: str,
    session: int,
    job_name: str,
    cache_root: Path,
    key_file: Path,
) -> None:
    """Run the preprocessing service for one session: deal triples and input masks, seal each
    org's batch to its key into its cache, commit the batch hashes on-chain."""
    chain = _connect(rpc)
    try:
        account = Account.from_key(key_file.read_text().strip())
    except (ValueError, TypeError):
        _fail(f"{key_file}: not a private key")
    try:
        client = ConsortiumClient(chain.w3, consortium)
        sessions = SessionClient(chain.w3, client.session_manager())
        orgs = len(sessions.session(session).participants)
        job = JOBS[job_name](orgs)
        sender = Sender(chain.w3, account, TxLog(), "preprocessing service")
        preprocess_session(
            sender,
            client,
            sessions,
            session,
            job,
            cache_root,
            progress=console.print,
        )
    except (ServiceError, TransactionError, MaterialError, InputError) as exc:
        _fail(str(exc))
    except Web3Exception as exc:
        _fail(f"cannot read session {session}: {revert_reason(exc, SessionClient.abi_of())}")


@main.command()
@click.option("--session", type=int, required=True, help="Session id.")
@click.option(
    "--rpc",
    metavar="URL",
    required=True,
    help="JSON-RPC node holding the session (the embedded chain lives only inside "
    "`chainmpc demo`, which audits its own session).",
)
@click.option("--consortium", metavar="ADDRESS", required=True, help="Consortium contract.")
@click.option(
    "--job",
    "job_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The job file (from `chainmpc describe-job`): check the session's job hash and "
    "that the material dealt is what the job needs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(session: int, rpc: str, consortium: str, job_file: Path | None, as_json: bool) -> None:
    """Verify a session from the chain alone; exit 0 only if every check passes."""
    job = _read_job_file(job_file) if job_file else None
    chain = _connect(rpc)
    try:
        if not chain.w3.is_address(consortium):
            _fail(f"--consortium {consortium!r} is not an Ethereum address")
        if not chain.w3.eth.get_code(chain.w3.to_checksum_address(consortium)):
            _fail(f"no contract at {consortium} on {rpc}")
        auditor = Auditor(chain.w3, consortium)
        expected_hash = counts = None
        if job is not None:
            expected_hash = job_hash(job.description())
            try:
                counts = job.needs(field_for(auditor.sessions.session(session).modulus)).counts()
            except FieldError:
                counts = None  # the modulus check fails the audit and says why
        report = auditor.audit(
            session,
            job_hash=expected_hash,
            material_counts=counts,
            output_length=job.output_length if job else None,
        )
    except (ValueError, TransactionError, Web3Exception) as exc:
        _fail(f"cannot read session {session}: {exc}")
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_audit(report)
    sys.exit(0 if report.passed else 1)


def _read_job_file(path: Path) -> SumProductJob:
    """The job a job file describes; a clear error naming the file and the problem."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{path}: not a JSON job file ({exc})")
    if not isinstance(doc, dict) or doc.get("job") != "sum-and-product":
        _fail(f"{path}: field 'job' must be \"sum-and-product\" (the only job kind so far)")
    try:
        job = SumProductJob(int(doc.get("orgs", 0)))
    except (InputError, TypeError, ValueError) as exc:
        _fail(f"{path}: field 'orgs': {exc}")
    if job.description() != doc:
        _fail(f"{path}: not a description of the {job.name!r} job (unknown or changed fields)")
    return job


@main.command("describe-job")
@click.option("--orgs", type=int, default=3, show_default=True, help="Number of organisations.")
def describe_job(orgs: int) -> None:
    """Print the job file of the demo's job (its hash is the session's job hash)."""
    try:
        job = SumProductJob(orgs)
    except InputError as exc:
        _fail(str(exc))
    print(json.dumps(job.description(), indent=2, sort_keys=True))
    err.print(f"job hash 0x{job_hash(job.description()).hex()}")
