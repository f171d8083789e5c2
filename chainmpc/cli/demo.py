"""``chainmpc demo``: one whole session, every role played by this process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from chainmpc.cheats import CHEATS, roles_for
from chainmpc.cli.common import (
    can_fund_session,
    connect_or_fail,
    console,
    fail,
    local_rpc_option,
    print_aborted,
    run_locally,
    writable_dir,
    writable_file,
)
from chainmpc.cli.report import print_audit
from chainmpc.exceptions import InputError
from chainmpc.jobs.sum_product import MAX_ORGS, MIN_ORGS, SumProductJob, check_value
from chainmpc.roles.launcher import Outcome

DEFAULT_INPUTS = (12, -7, 30, 5, 9, 2, -3)


@click.command()
@local_rpc_option
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
    MAC-check it through the contract, record the result and audit it.

    The job is the ``sum-product`` kind over orgs ``org1..orgN``, built in memory from
    ``--inputs``: the same path as ``chainmpc run`` on a job file."""
    if not MIN_ORGS <= orgs <= MAX_ORGS:
        fail(f"--orgs {orgs}: this job needs between {MIN_ORGS} and {MAX_ORGS} orgs")
    try:
        values = parse_inputs(inputs, orgs) if inputs is not None else DEFAULT_INPUTS[:orgs]
        job = SumProductJob.in_memory(list(values))
    except InputError as exc:
        fail(str(exc))
    if not 1 <= cheater <= orgs:
        fail(f"--cheater {cheater}: unknown org (orgs are numbered 1 to {orgs})")
    if workdir is not None:
        writable_dir(workdir, "--workdir", parents=False)
    if json_path is not None:
        writable_file(json_path, "--json")
    chain = connect_or_fail(rpc)
    can_fund_session(chain, orgs, "the demo")
    if workdir is not None:
        workdir.mkdir(exist_ok=True)
    outcome = run_locally(chain, job, roles_for(cheat, cheater - 1), workdir)
    _print_outcome(outcome, rpc)
    if json_path:
        json_path.write_text(json.dumps(_outcome_json(outcome), indent=2) + "\n")
    sys.exit(0 if outcome.ok else 1)


def parse_inputs(text: str, orgs: int) -> list[int]:
    """Parse ``--inputs "12,-7,30"``: exactly one signed 32-bit integer per org."""
    if not text.strip():
        raise InputError(
            f"--inputs {text!r}: no values; expected one int32 per org ({orgs}), e.g. 12,-7,30"
        )
    items = [t.strip() for t in text.split(",")]
    if len(items) != orgs:
        raise InputError(f"--inputs has {len(items)} values; expected one per org ({orgs})")
    return [check_value(item, k) for k, item in enumerate(items)]


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
        print_aborted(o)
    if o.audit is not None:
        print_audit(o.audit)
    if rpc:
        console.print(
            f"re-audit: chainmpc audit --rpc {rpc} --consortium {o.consortium} "
            f"--session {o.session}"
        )


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
