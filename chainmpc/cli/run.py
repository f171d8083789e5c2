"""``chainmpc run JOB.toml`` (a session of a job file, every org on this machine),
``chainmpc jobs`` (the kinds and their parameters) and ``chainmpc job hash JOB.toml``."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from chainmpc.cli.common import (
    can_fund_session,
    connect_or_fail,
    console,
    fail,
    local_rpc_option,
    print_aborted,
    run_locally,
    writable_dir,
)
from chainmpc.cli.report import print_audit, result_document
from chainmpc.exceptions import InputError
from chainmpc.jobs.base import Job
from chainmpc.jobs.registry import KINDS, load_job
from chainmpc.roles.launcher import Outcome
from onchain.commitments import job_hash
from onchain.connection import EMBEDDED_FUNDER_KEY
from onchain.devnode import DevNode

_JOB_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)


@click.command("run")
@click.argument("job_file", metavar="JOB.toml", type=_JOB_FILE)
@local_rpc_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory to write result.json in (created if missing).",
)
def run(job_file: Path, rpc: str | None, out: Path) -> None:
    """Run one session of a job file, every org on this machine reading its own CSV; write
    OUT/result.json, print the result and audit the session from the chain.

    The job file and every org's CSV are read and checked before the first transaction."""
    try:
        job = load_job(job_file)
        for name, data in zip(job.spec.orgs, job.spec.data, strict=True):
            if data is None:
                raise InputError(
                    f"{job_file}: orgs.{name}.data: missing (`run` reads every org's CSV)"
                )
        inputs = [job.load_input(k) for k in range(job.orgs)]
    except InputError as exc:
        fail(str(exc))
    writable_dir(out, "--out")
    with ExitStack() as stack:
        if rpc is None:  # the embedded chain, served to the org processes over HTTP
            node = stack.enter_context(DevNode())
            chain = connect_or_fail(node.url, EMBEDDED_FUNDER_KEY)
            chain.description = f"embedded chain (eth-tester, served at {node.url})"
        else:
            chain = connect_or_fail(rpc)
        can_fund_session(chain, job.orgs, f"running {job.spec.name!r}")
        out.mkdir(parents=True, exist_ok=True)
        outcome = run_locally(chain, job, inputs=inputs, job_file=job_file)
        chain_id = chain.w3.eth.chain_id
    del inputs  # every org's data: not kept past the session
    if outcome.result is None:
        print_aborted(outcome)
    else:
        doc = result_document(job, outcome.consortium, outcome.session, chain_id, outcome.result)
        (out / "result.json").write_text(json.dumps(doc, indent=2) + "\n")
        _print_result(job, doc, outcome)
        console.print(f"wrote {out / 'result.json'}")
    if outcome.audit is not None:
        print_audit(outcome.audit)
    if rpc:
        console.print(
            f"re-audit: chainmpc audit --rpc {rpc} --consortium {outcome.consortium} "
            f"--session {outcome.session} --job {job_file}"
        )
    finalised = outcome.abort is None and outcome.result is not None
    sys.exit(0 if finalised and outcome.audit is not None and outcome.audit.passed else 1)


def _print_result(job: Job, doc: dict[str, Any], outcome: Outcome) -> None:
    table = Table(title=f"{job.kind} '{job.spec.name}': session {outcome.session}")
    table.add_column("result")
    table.add_column("value", justify="right")
    for key, value in _flatten(doc["result"]):
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"job hash {doc['job_hash']}   consortium {outcome.consortium}")
    if outcome.result != outcome.expected:
        # Every org's data is on this machine, so the plaintext answer is known to compare.
        console.print("[red]the result differs from the plaintext computation[/]")


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` → ``[("a.b", 1), ("c[0].d", 2)]``: a row per leaf."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        stem = prefix.rstrip(".")
        return [row for i, v in enumerate(value) for row in _flatten(v, f"{stem}[{i}].")]
    return [(prefix.rstrip("."), value)]


@click.command("jobs")
def jobs() -> None:
    """List the job kinds and their parameters."""
    table = Table(title="job kinds")
    for col in ("kind", "what it computes", "parameters"):
        table.add_column(col)
    for name, kind in KINDS.items():
        params = "\n".join(f"{p}: {text}" for p, text in kind.parameters.items())
        table.add_row(name, escape(kind.summary), escape(params) or "none")
    console.print(table)


@click.group("job")
def job_group() -> None:
    """Job files: their hash."""


@job_group.command("hash")
@click.argument("job_file", metavar="JOB.toml", type=_JOB_FILE)
def hash_cmd(job_file: Path) -> None:
    """Print the job hash of a job file (the session's on-chain jobHash; docs/jobs.md)."""
    try:
        job = load_job(job_file)
    except InputError as exc:
        fail(str(exc))
    console.print("0x" + job_hash(job.description()).hex())
