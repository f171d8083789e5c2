"""Benchmark (not a test): the gas of every transaction type of a session and each role's
total per session, for 3, 5 and 7 orgs and two data sizes differing 10x.

Each run is one ``stats`` session (the schema of examples/stats.toml: an int, a fixed-point
and two category columns with their contingency table) on generated rows, on a fresh embedded
chain (eth-tester, the same EVM gas schedule as a node). The figures are the auditor's: the
session's transactions are found through its events and their gas read from the receipts
(``onchain.audit.summary.transactions``), so the table is what ``chainmpc audit --all``
charges a session. Deployment and registration are not part of a session and not counted.

    python scripts/gas_report.py [--orgs 3,5,7] [--rows 20,200] [--json docs/bench/gas.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from chainmpc.jobs.registry import load_job  # noqa: E402
from chainmpc.roles.launcher import run_session  # noqa: E402
from onchain.audit import Auditor  # noqa: E402
from onchain.audit.record import SessionRecord  # noqa: E402
from onchain.audit.summary import transactions  # noqa: E402
from onchain.connection import connect  # noqa: E402

SCHEMA = """[job]
name = "gas-report"
kind = "stats"

[params]
contingency = [["sex", "outcome"]]

[schema]
columns.age     = { type = "int", min = 0, max = 120 }
columns.bmi     = { type = "fixed", min = 10.0, max = 60.0 }
columns.sex     = { type = "category", values = ["f", "m"] }
columns.outcome = { type = "category", values = ["no", "yes"] }
"""


def generated_job(folder: Path, orgs: int, rows: int, seed: int = 7) -> Path:
    """The schema above with ``rows`` generated rows for each of ``orgs`` orgs."""
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    text = [SCHEMA]
    for k in range(orgs):
        lines = ["age,bmi,sex,outcome"]
        for _ in range(rows):
            lines.append(f"{rng.randint(18, 95)},{rng.uniform(15, 45):.1f},"
                         f"{rng.choice('fm')},{rng.choice(['no', 'yes'])}")  # fmt: skip
        (folder / f"org{k}.csv").write_text("\n".join(lines) + "\n")
        text.append(f'[orgs.org{k}]\ndata = "org{k}.csv"\n')
    (folder / "job.toml").write_text("\n".join(text))
    return folder / "job.toml"


def one_session(folder: Path, orgs: int, rows: int) -> dict[str, Any]:
    """Run one session; its transactions, as the auditor reads them, by role."""
    job = load_job(generated_job(folder, orgs, rows))
    chain = connect(None)
    start = time.perf_counter()
    outcome = run_session(chain, job, workdir=folder)
    seconds = time.perf_counter() - start
    if not outcome.ok:
        raise SystemExit(f"{orgs} orgs, {rows} rows: the session did not pass ({outcome.message})")
    auditor = Auditor(chain.w3, outcome.consortium)
    record = SessionRecord.fetch(chain.w3, auditor.sessions, outcome.session)
    txs = transactions(chain.w3, auditor.sessions, record)
    info = auditor.sessions.session(outcome.session)
    parts = set(info.participants)
    role = {a: "org" for a in parts} | {info.preprocessor: "service"}
    per_org: dict[str, int] = {a: 0 for a in parts}
    for t in txs:
        if t.sender in per_org:
            per_org[t.sender] += t.gas_used
    return {
        "orgs": orgs,
        "rows_per_org": rows,
        "seconds": round(seconds, 1),
        "transactions": [
            {"function": t.function, "role": role.get(t.sender, "opener"), "gas_used": t.gas_used}
            for t in txs
        ],  # fmt: skip
        "total_gas": sum(t.gas_used for t in txs),
        "per_org_gas": {
            "min": min(per_org.values()),
            "max": max(per_org.values()),
            "mean": round(sum(per_org.values()) / orgs),
        },  # fmt: skip
        "org_transactions": sum(1 for t in txs if t.sender in parts) // orgs,
        "service_gas": sum(t.gas_used for t in txs if t.sender == info.preprocessor),
        "opener_gas": sum(t.gas_used for t in txs if role.get(t.sender) is None),
    }


def print_tables(runs: list[dict[str, Any]], console: Console) -> None:
    """Gas per transaction type (min/max over every run) and per session, per run."""
    by_fn: dict[str, list[int]] = {}
    for r in runs:
        for t in r["transactions"]:
            by_fn.setdefault(t["function"], []).append(t["gas_used"])
    table = Table(title="gas per transaction type (every run)", title_justify="left")
    for col in ("transaction", "count", "min", "max"):
        table.add_column(col, justify="left" if col == "transaction" else "right")
    for fn, gas in sorted(by_fn.items(), key=lambda kv: -max(kv[1])):
        table.add_row(fn, str(len(gas)), f"{min(gas):,}", f"{max(gas):,}")
    console.print(table)
    table = Table(title="gas per session", title_justify="left")
    for col in ("orgs", "rows/org", "txs", "session total", "per org (min-max)", "org txs",
                "service", "opener", "seconds"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in runs:
        g = r["per_org_gas"]
        table.add_row(str(r["orgs"]), str(r["rows_per_org"]), str(len(r["transactions"])),
                      f"{r['total_gas']:,}", f"{g['min']:,}-{g['max']:,}",
                      str(r["org_transactions"]), f"{r['service_gas']:,}",
                      f"{r['opener_gas']:,}", str(r["seconds"]))  # fmt: skip
    console.print(table)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orgs", default="3,5,7", help="org counts (default 3,5,7)")
    ap.add_argument("--rows", default="20,200", help="rows per org (default 20,200: 10x)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    console = Console(width=160)  # the tables are wide; a file or a pipe would wrap them
    runs = []
    with tempfile.TemporaryDirectory(prefix="chainmpc-gas-") as tmp:
        for orgs in (int(x) for x in args.orgs.split(",")):
            for rows in (int(x) for x in args.rows.split(",")):
                console.print(f"[dim]{orgs} orgs, {rows} rows per org ...[/]")
                runs.append(one_session(Path(tmp) / f"{orgs}-{rows}", orgs, rows))
    print_tables(runs, console)
    if args.json:
        doc = {"benchmark": "gas_report", "chain": "embedded (eth-tester)",
               "python": platform.python_version(), "job": "stats (examples/stats.toml schema)",
               "runs": runs}  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
