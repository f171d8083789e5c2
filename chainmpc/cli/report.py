"""What the CLI reports: the audit (``chainmpc audit``, the end of ``demo`` and ``run``) and
``result.json`` (``run``, ``peer``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from chainmpc.cli.common import console
from chainmpc.jobs.base import Job
from onchain.audit import AuditReport
from onchain.audit.summary import SessionSummary
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


def print_sessions(rows: list[SessionSummary], note: str) -> None:
    """``audit --all``: one row per session (state, orgs, transactions, gas, verdict)."""
    table = Table(title="sessions", title_justify="left")
    for name, justify in (("session", "right"), ("state", "left"), ("orgs", "right"),
                          ("txs", "right"), ("gas", "right"), ("verdict", "left"),
                          ("reason", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    colour = {"PASS": "green", "FAIL": "red", "ABORTED": "yellow", "LIVE": "cyan"}
    for r in rows:
        table.add_row(
            str(r.session), r.state, str(r.participants), str(len(r.transactions)),
            f"{r.gas:,}", f"[{colour[r.verdict]}]{r.verdict}[/]", escape(r.reason),
        )  # fmt: skip
    console.print(table)
    console.print(escape(note))


def print_differences(path: Path, session: Any, diffs: list[tuple[str, Any, Any]]) -> None:
    """``verify-receipt``: the verdict, then each field that differs with both values."""
    if not diffs:
        console.print(f"receipt {escape(str(path))} of session {session}: [bold green]matches "
                      "the chain[/] (every field re-derived)")  # fmt: skip
        return
    console.print(f"receipt {escape(str(path))} of session {session}: [bold red]DIFFERS from "
                  f"the chain[/] in {len(diffs)} field(s)")  # fmt: skip
    for name, mine, theirs in diffs:
        console.print(f"  [red]{escape(name)}[/]: receipt {escape(_short(mine))}, "
                      f"chain {escape(_short(theirs))}")  # fmt: skip


def _short(value: Any) -> str:
    text = json.dumps(value) if not hasattr(value, "__dict__") else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
