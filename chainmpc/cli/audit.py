"""``chainmpc audit`` (verify a session, or every session, from the chain alone; write its
audit receipt), ``chainmpc audit verify-receipt`` and ``chainmpc describe-job`` (the job file
an auditor checks a session's job hash against)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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
    load_deployment,
    writable_file,
)
from chainmpc.cli.report import print_audit, print_differences, print_sessions
from chainmpc.exceptions import InputError
from chainmpc.jobs.base import Job
from chainmpc.jobs.facts import job_facts, job_from_canonical
from chainmpc.jobs.registry import load_job
from chainmpc.jobs.sum_product import MAX_ORGS, MIN_ORGS, SumProductJob
from onchain.audit import Auditor
from onchain.audit.receipt import RECEIPT_FORMAT, build_receipt, differences
from onchain.audit.summary import audit_all
from onchain.commitments import job_hash
from onchain.transactions import TransactionError

READ_FAILURES = (ValueError, TransactionError, Web3Exception)


@click.group(invoke_without_command=True)
@click.option("--session", type=click.IntRange(min=1), help="Session id (>= 1).")
@click.option("--all", "all_sessions", is_flag=True, help="Every session: a table of verdicts.")
@click.option(
    "--rpc",
    metavar="URL",
    help="JSON-RPC node holding the session (default: the deployment file's; the embedded "
    "chain lives only inside `chainmpc demo`, which audits its own session).",
)
@click.option("--consortium", metavar="ADDRESS", help="Consortium contract.")
@click.option(
    "--deployment",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="deployment.json: the consortium, the node and the deployment block.",
)
@click.option(
    "--from-block",
    type=click.IntRange(min=0),
    help="Read logs from this block (default: the deployment file's block, else 0).",
)
@click.option(
    "--job",
    "job_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The job file (TOML, or the canonical JSON of `chainmpc describe-job`): check the "
    "session's job hash and that the material dealt is what the job needs.",
)
@click.option(
    "--receipt",
    "receipt_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the session's audit receipt (chainmpc-audit-receipt/1) to FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def audit(
    ctx: click.Context,
    session: int | None,
    all_sessions: bool,
    rpc: str | None,
    consortium: str | None,
    deployment: Path | None,
    from_block: int | None,
    job_file: Path | None,
    receipt_file: Path | None,
    as_json: bool,
) -> None:
    """Verify a session (--session) or every session (--all) from the chain alone; exit 0 only
    if every check passes. `audit verify-receipt FILE` checks a receipt against the chain."""
    if ctx.invoked_subcommand is not None:
        return
    if (session is None) == (not all_sessions):
        fail("give --session ID or --all")
    if all_sessions and (job_file or receipt_file):
        fail(f"{'--job' if job_file else '--receipt'}: for one --session, not with --all")
    rpc, address, start, note = _where(rpc, consortium, deployment, from_block)
    job = _read_job_file(job_file) if job_file else None
    if receipt_file is not None:
        writable_file(receipt_file, "--receipt")
    chain = connect_or_fail(rpc)
    _, sessions = consortium_at(chain, address)
    auditor = Auditor(chain.w3, address, start)
    if all_sessions:
        try:
            rows = audit_all(auditor)
        except READ_FAILURES as exc:
            fail(f"cannot read the sessions: {chain_reason(exc)}")
        if as_json:
            print(json.dumps({"from_block": start, "note": note,
                              "sessions": [r.to_dict() for r in rows]}, indent=2))  # fmt: skip
        else:
            print_sessions(rows, note)
        sys.exit(0 if all(r.verdict == "PASS" for r in rows) else 1)
    assert session is not None
    existing_session(sessions, session)
    try:
        facts = job_facts(job, sessions.session(session).modulus) if job else None
        report = auditor.audit(
            session,
            job_hash=facts.hash if facts else None,
            material_counts=facts.material_counts if facts else None,
            output_length=facts.output_length if facts else None,
        )
        if receipt_file is not None:
            receipt = build_receipt(auditor, session, facts, report)
            receipt_file.write_text(json.dumps(receipt, indent=2) + "\n")
    except READ_FAILURES as exc:
        fail(f"cannot read session {session}: {chain_reason(exc)}")
    if as_json:
        print(json.dumps({**report.to_dict(), "from_block": start, "note": note}, indent=2))
    else:
        print_audit(report)
        print(note)
        if receipt_file is not None:
            print(f"receipt written to {receipt_file} ({RECEIPT_FORMAT})")
    sys.exit(0 if report.passed else 1)


def _where(
    rpc: str | None, consortium: str | None, deployment: Path | None, from_block: int | None
) -> tuple[str, str, int, str]:
    """The node, the consortium, the first block of the log queries, and a line saying where
    that block comes from."""
    record = load_deployment(deployment) if deployment else None
    if consortium is not None:
        address = address_syntax(consortium, "--consortium")
        if record is not None and address != record.consortium:
            fail(f"--consortium {address}: the deployment file's is {record.consortium}")
    elif record is not None:
        address = record.consortium
    else:
        fail("--consortium ADDRESS or --deployment FILE: which consortium to audit")
    url = rpc or (record.rpc if record else None)
    if url is None:
        fail("--rpc URL: the node to read (the deployment file names none)")
    if from_block is not None:
        return url, address, from_block, f"logs read from block {from_block} (--from-block)"
    if record is not None and record.block_recorded:
        return url, address, record.block, f"logs read from block {record.block} (deployment)"
    if record is not None:
        why = f"{deployment} records no deployment block"
    else:
        why = "no --deployment or --from-block"
    return url, address, 0, f"logs read from block 0: {why}"


def _read_job_file(path: Path) -> Job:
    """The job a job file describes; a clear error naming the file and the key."""
    try:
        return load_job(path)
    except InputError as exc:
        fail(f"--job {exc}")


@audit.command("verify-receipt")
@click.argument("receipt_file", metavar="FILE", type=click.Path(dir_okay=False, exists=True,
                path_type=Path))  # fmt: skip
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node to re-read.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def verify_receipt(receipt_file: Path, rpc: str, as_json: bool) -> None:
    """Re-read the chain and check every field of an audit receipt against it; exit 0 only if
    all match, else name each field that differs."""
    receipt = _load_receipt(receipt_file)
    chain = connect_or_fail(rpc)
    where = f"{receipt_file}"
    if chain.w3.eth.chain_id != receipt["chain_id"]:
        diffs: list[tuple[str, Any, Any]] = [("chain_id", receipt["chain_id"],
                                              chain.w3.eth.chain_id)]  # fmt: skip
    else:
        _, sessions = consortium_at(chain, address_syntax(receipt["consortium"],
                                                          f"{where}: consortium"))  # fmt: skip
        session = receipt["session"]
        if session > sessions.session_count():
            fail(f"{where}: session: no session {session} on this consortium")
        auditor = Auditor(chain.w3, receipt["consortium"], receipt["blocks"]["from_block"])
        try:
            facts = None
            canonical = (receipt["job"] or {}).get("file")
            if canonical is not None:
                try:
                    job = job_from_canonical(canonical["canonical"])
                except InputError as exc:
                    fail(f"{where}: job.file.canonical: {str(exc).split(': ', 1)[-1]}")
                facts = job_facts(job, sessions.session(session).modulus)
            diffs = differences(receipt, build_receipt(auditor, session, facts))
        except READ_FAILURES as exc:
            fail(f"cannot read session {session}: {chain_reason(exc)}")
    if as_json:
        print(json.dumps({"matches": not diffs, "differences": [
            {"field": f, "receipt": a if isinstance(a, (int, str, list, dict, type(None)))
             else repr(a), "chain": b if isinstance(b, (int, str, list, dict, type(None)))
             else repr(b)} for f, a, b in diffs]}, indent=2))  # fmt: skip
    else:
        print_differences(receipt_file, receipt.get("session"), diffs)
    sys.exit(0 if not diffs else 1)


def _load_receipt(path: Path) -> dict[str, Any]:
    """The receipt at ``path`` with the fields verification starts from checked; the error
    names the file and the field."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"{path}: not a JSON audit receipt ({exc})")
    if not isinstance(doc, dict) or doc.get("format") != RECEIPT_FORMAT:
        fail(f"{path}: format: expected {RECEIPT_FORMAT!r}")
    checks = {
        "chain_id": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "consortium": lambda v: isinstance(v, str),
        "session": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "blocks": lambda v: isinstance(v, dict) and isinstance(v.get("from_block"), int)
        and v["from_block"] >= 0,
        "job": lambda v: isinstance(v, dict) and (v.get("file") is None or (
            isinstance(v["file"], dict) and "canonical" in v["file"])),
    }  # fmt: skip
    for name, ok in checks.items():
        if not ok(doc.get(name)):
            fail(f"{path}: {name}: missing or malformed")
    return doc


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
