"""What the CLI reports: the audit (``chainmpc audit``, the end of ``demo`` and ``run``) and
``result.json`` (``run``, ``peer``)."""

from __future__ import annotations

from typing import Any

from chainmpc.cli.common import console
from chainmpc.jobs.base import Job
from onchain.audit import AuditReport
from onchain.commitments import job_hash


def print_audit(report: AuditReport) -> None:
    """One line for the verdict, one per check, one per thing not checked."""
    verdict = "[bold green]PASS[/]" if report.passed else "[bold red]FAIL[/]"
    console.print(f"audit of session {report.session}: {verdict}")
    for c in report.checks:
        mark = "[green]ok[/]  " if c.ok else "[red]FAIL[/]"
        console.print(f"  {mark} {c.name}: {c.detail}")
    for what in report.unchecked:
        console.print(f"  [yellow]not checked[/] {what} (pass --job FILE)")


def result_document(
    job: Job, consortium: str, session: int, chain_id: int, opened: list[int]
) -> dict[str, Any]:
    """``result.json``: where the session is on which chain, and the kind's result."""
    return {
        "kind": job.kind,
        "job_hash": "0x" + job_hash(job.description()).hex(),
        "consortium": consortium,
        "session": session,
        "chain_id": chain_id,
        "result": job.result(opened),
    }
