"""``chainmpc audit`` (verify a session from the chain alone) and ``chainmpc describe-job``
(the job file an auditor checks a session's job hash against)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from web3.exceptions import Web3Exception

from chainmpc.cli.common import (
    address_syntax,
    chain_reason,
    connect_or_fail,
    consortium_at,
    err,
    existing_session,
    fail,
)
from chainmpc.cli.report import print_audit
from chainmpc.exceptions import InputError
from chainmpc.jobs.base import Job
from chainmpc.jobs.registry import load_job
from chainmpc.jobs.sum_product import MAX_ORGS, MIN_ORGS, SumProductJob
from offchain.hazmat.field import FieldError, field_for
from onchain.audit import Auditor
from onchain.commitments import job_hash
from onchain.transactions import TransactionError


@click.command()
@click.option("--session", type=click.IntRange(min=1), required=True, help="Session id (>= 1).")
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
    help="The job file (TOML, or the canonical JSON of `chainmpc describe-job`): check the "
    "session's job hash and that the material dealt is what the job needs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(session: int, rpc: str, consortium: str, job_file: Path | None, as_json: bool) -> None:
    """Verify a session from the chain alone; exit 0 only if every check passes."""
    address = address_syntax(consortium, "--consortium")
    job = _read_job_file(job_file) if job_file else None
    chain = connect_or_fail(rpc)
    _, sessions = consortium_at(chain, address)
    existing_session(sessions, session)
    try:
        auditor = Auditor(chain.w3, address)
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
        fail(f"cannot read session {session}: {chain_reason(exc)}")
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_audit(report)
    sys.exit(0 if report.passed else 1)


def _read_job_file(path: Path) -> Job:
    """The job a job file describes; a clear error naming the file and the key."""
    try:
        return load_job(path)
    except InputError as exc:
        fail(f"--job {exc}")


@click.command("describe-job")
@click.option("--orgs", type=int, default=3, show_default=True, help="Number of organisations.")
def describe_job(orgs: int) -> None:
    """Print the canonical job file of the demo's job with ``--orgs`` orgs (its hash is the
    session's job hash; `audit --job` and `preprocess deal|serve --job` take it)."""
    if not MIN_ORGS <= orgs <= MAX_ORGS:
        fail(f"--orgs {orgs}: this job needs between {MIN_ORGS} and {MAX_ORGS} orgs")
    job = SumProductJob.in_memory([0] * orgs)
    print(json.dumps(job.description(), indent=2))
    err.print(f"job hash 0x{job_hash(job.description()).hex()}")
