"""The audit report as the CLI prints it (``chainmpc audit`` and the end of ``chainmpc demo``)."""

from __future__ import annotations

from chainmpc.cli.common import console
from onchain.audit import AuditReport


def print_audit(report: AuditReport) -> None:
    """One line for the verdict, one per check, one per thing not checked."""
    verdict = "[bold green]PASS[/]" if report.passed else "[bold red]FAIL[/]"
    console.print(f"audit of session {report.session}: {verdict}")
    for c in report.checks:
        mark = "[green]ok[/]  " if c.ok else "[red]FAIL[/]"
        console.print(f"  {mark} {c.name}: {c.detail}")
    for what in report.unchecked:
        console.print(f"  [yellow]not checked[/] {what} (pass --job FILE)")
