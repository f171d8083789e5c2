"""``chainmpc bench mining``: accuracy and cost of each data-mining algorithm without and with
MPC, on the same data and split (:mod:`chainmpc.bench.mining` says what is measured)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
from rich.table import Table

from chainmpc.bench.mining import CASES, TRAIN_FRACTION, Measurement, measure, select
from chainmpc.cli.common import can_fund_session, connect_or_fail, console, fail, writable_file
from chainmpc.exceptions import BenchError, InputError

_OUT = click.Path(dir_okay=False, path_type=Path)
MAX_ORGS = 8  # a local run: every org is a thread of this process


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@click.group("bench")
def bench_group() -> None:
    """Measure chainmpc on real data."""


@bench_group.command("mining")
@click.option("--json", "json_path", type=_OUT, help="Write the results as JSON.")
@click.option(
    "--plot", "plot_path", type=_OUT, help="Draw accuracy and seconds, plain vs MPC, as a PNG."
)
@click.option("--datasets", metavar="A,B", help="Only these datasets (default: all of the table).")
@click.option("--algorithms", metavar="X,Y", help="Only these algorithms (default: all).")
@click.option("--orgs", type=int, default=3, show_default=True,
              help="Orgs the training rows are split across.")  # fmt: skip
def mining(
    json_path: Path | None,
    plot_path: Path | None,
    datasets: str | None,
    algorithms: str | None,
    orgs: int,
) -> None:
    """Train each algorithm on each dataset without MPC and through a whole session on the
    embedded chain, on the same stratified 70/30 split; print accuracy, seconds, bytes,
    rounds and gas of each."""
    if not 2 <= orgs <= MAX_ORGS:
        fail(f"--orgs {orgs}: between 2 and {MAX_ORGS}")
    for path, option in ((json_path, "--json"), (plot_path, "--plot")):
        if path is not None:
            writable_file(path, option)
    try:
        cases = select(_names(algorithms), _names(datasets))
        if plot_path is not None:
            from chainmpc.bench.plot import require_matplotlib

            require_matplotlib()
    except InputError as exc:
        fail(str(exc))
    if not cases:
        known = ", ".join(f"{c.algorithm}/{c.dataset}" for c in CASES)
        fail(f"--algorithms/--datasets: no case of the table is both (it has: {known})")
    chain = connect_or_fail(None)
    can_fund_session(chain, orgs, "the benchmark")
    console.print(
        f"{len(cases)} runs, {orgs} orgs, split {TRAIN_FRACTION:.0%} train / "
        f"{1 - TRAIN_FRACTION:.0%} test (stratified, seeded), chain: {chain.description}"
    )
    results: list[Measurement] = []
    with console.status("") as status:
        for n, case in enumerate(cases, 1):
            status.update(f"[{n}/{len(cases)}] {case.algorithm} on {case.dataset}: session ...")
            if n > 1:
                # A fresh embedded chain per run: on one that grows run after run, reading the
                # session's logs slowed each later session (wine took 14 s alone, 85 s 5th).
                chain = connect_or_fail(None)
            try:
                # The job's CSVs hold the dataset's rows: not kept past the run.
                with tempfile.TemporaryDirectory(prefix="chainmpc-bench-") as directory:
                    m = measure(case, chain, Path(directory), orgs)
            except (BenchError, InputError) as exc:
                fail(str(exc))
            results.append(m)
            console.print(
                f"[{n}/{len(cases)}] {m.algorithm} on {m.dataset}: accuracy "
                f"{m.accuracy_plain:.4f} plain, {m.accuracy_mpc:.4f} MPC; "
                f"{m.seconds_mpc:.1f} s, {m.bytes:,} bytes, {m.gas:,} gas"
            )
    _print_table(results)
    if json_path is not None:
        doc = {"results": [m.as_dict() for m in results]}
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
        console.print(f"wrote {json_path}")
    if plot_path is not None:
        from chainmpc.bench.plot import plot

        plot(results, plot_path)
        console.print(f"wrote {plot_path}")


def _print_table(results: list[Measurement]) -> None:
    table = Table(title="data mining, plaintext vs MPC (same training rows, same test rows)")
    columns = ("algorithm", "dataset", "acc. plain", "acc. MPC", "s plain", "s MPC", "bytes",
               "rounds", "gas")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col in ("algorithm", "dataset") else "right")
    for m in results:
        table.add_row(m.algorithm, m.dataset, f"{m.accuracy_plain:.4f}", f"{m.accuracy_mpc:.4f}",
                      f"{m.seconds_plain:.6f}", f"{m.seconds_mpc:.2f}", f"{m.bytes:,}",
                      str(m.rounds), f"{m.gas:,}")  # fmt: skip
    console.print(table)
