"""Mutation check: every security check must have a test that fails without it.

Each entry of :data:`MUTATIONS` removes or weakens one check in the contracts, the engine, the
cache, the transport, the peer or the auditor: an exact text substitution in one file. For each
mutation this script copies the working tree to a scratch directory, applies the change,
recompiles the contracts when a ``.sol`` file changed, and runs the tests chosen to catch it.
A mutation is *caught* when those tests fail (or time out); it *survives* when they pass. The
unmutated tree must pass the same tests first, so that a failure means the mutation, not a
broken test.

    python scripts/mutation_check.py                # all, two at a time
    python scripts/mutation_check.py --list
    python scripts/mutation_check.py -k sacrifice   # the mutations whose name contains this
    python scripts/mutation_check.py --json mutation.json

It prints a table and exits non-zero if any mutation survives or no longer applies (its text is
not in the file exactly ``count`` times: the check moved, so the mutation must be updated).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from contract_mutations import CONTRACT_MUTATIONS
from mutations import MUTATIONS as OFFCHAIN_MUTATIONS
from mutations import Mutation

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = OFFCHAIN_MUTATIONS + CONTRACT_MUTATIONS
TIMEOUT = 300  # seconds per mutation; a hang is a failing test in CI too


@dataclass
class Outcome:
    """What happened to one mutation."""

    mutation: Mutation
    status: str  # "caught", "timeout", "SURVIVED", "NOT APPLIED"
    seconds: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("caught", "timeout")


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


def make_scratch(parent: Path, name: str) -> Path:
    """A copy of the working tree (tracked and untracked-but-not-ignored files)."""
    scratch = parent / name
    for rel in _tracked_files():
        target = scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    if (ROOT / "node_modules").exists():
        (scratch / "node_modules").symlink_to(ROOT / "node_modules")
    return scratch


def _env(scratch: Path) -> dict[str, str]:
    # The scratch copy's packages must win over the editable install of the real tree.
    env = dict(os.environ, PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_tests(scratch: Path, tests: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    """Run the tests in ``scratch``; return (exit code or None on timeout, tail of output)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        proc = subprocess.run(
            cmd,
            cwd=scratch,
            env=_env(scratch),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, "timed out"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, lines[-1] if lines else ""


def _compile(scratch: Path) -> str | None:
    proc = subprocess.run(
        [sys.executable, "-m", "onchain.compile"],
        cwd=scratch,
        env=_env(scratch),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr)[-300:]


def apply(scratch: Path, m: Mutation) -> Outcome:
    """Apply ``m`` in ``scratch``, run its tests, restore the file (and the artifacts)."""
    start = time.perf_counter()
    path = scratch / m.path
    original = path.read_text()
    found = original.count(m.old)
    if found != m.count:
        return Outcome(m, "NOT APPLIED", 0.0, f"text found {found} times, expected {m.count}")
    artifacts = scratch / "onchain" / "artifacts"
    saved = {p: p.read_bytes() for p in artifacts.glob("*.json")} if m.is_contract else {}
    try:
        path.write_text(original.replace(m.old, m.new))
        if m.is_contract and (error := _compile(scratch)) is not None:
            return Outcome(m, "NOT APPLIED", time.perf_counter() - start, f"compile: {error}")
        code, tail = run_tests(scratch, m.tests, TIMEOUT)
    finally:
        path.write_text(original)
        for p, data in saved.items():
            p.write_bytes(data)
    seconds = time.perf_counter() - start
    if code is None:
        return Outcome(m, "timeout", seconds, tail)
    if code == 0:
        return Outcome(m, "SURVIVED", seconds, tail)
    if code in (4, 5):  # usage error / no tests collected: the test ids are wrong
        return Outcome(m, "NOT APPLIED", seconds, f"pytest exit {code}: {tail}")
    return Outcome(m, "caught", seconds, tail)


#: Rough seconds per mutation by the tests it runs (measured in CI), to schedule long ones first.
_SLOW_TESTS = (
    ("test_processes.py", 60),
    ("test_netns.py", 60),
    ("test_node_faults.py", 30),
    ("test_demo.py", 20),
    ("test_soundness.py", 15),
)


def _expected_seconds(m: Mutation) -> float:
    slow = [s for t in m.tests for name, s in _SLOW_TESTS if name in t]
    return max(slow, default=10 if m.is_contract else 5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", metavar="TEXT", help="only mutations whose name contains TEXT")
    parser.add_argument("--jobs", type=int, default=2, help="mutations run at once (default 2)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results")
    parser.add_argument(
        "--after-suite",
        action="store_true",
        help="skip the baseline run: the whole suite has just passed on this very tree "
        "(scripts/test.sh runs pytest first), and it contains every selected test",
    )
    args = parser.parse_args()
    console = Console(highlight=False, width=160)

    chosen = [m for m in MUTATIONS if not args.k or args.k in m.name]
    if args.list or not chosen:
        for m in chosen:
            console.print(f"{m.name:40} {m.path}  ->  {' '.join(m.tests)}")
        return 0 if chosen else 1
    names = [m.name for m in MUTATIONS]
    if len(set(names)) != len(names):
        console.print("[red]duplicate mutation names[/]")
        return 1

    with tempfile.TemporaryDirectory(prefix="chainmpc-mutants-") as tmp:
        jobs = max(1, min(args.jobs, len(chosen)))
        scratches = [make_scratch(Path(tmp), f"tree{j}") for j in range(jobs)]
        baseline = sorted({t for m in chosen for t in m.tests})
        if args.after_suite:
            console.print("baseline: the whole suite passed just before on this tree")
        else:
            console.print(
                f"baseline: the {len(baseline)} selected test targets on the unmutated tree"
            )
            code, tail = run_tests(scratches[0], tuple(baseline), 30 * 60)
            if code != 0:
                console.print(
                    f"[red]the unmutated tree fails its tests ({tail}); fix that first[/]"
                )
                return 1

        start = time.perf_counter()
        pool_of_trees = list(scratches)

        def work(m: Mutation) -> Outcome:
            tree = pool_of_trees.pop()
            try:
                out = apply(tree, m)
            finally:
                pool_of_trees.append(tree)
            mark = "[green]caught[/]" if out.ok else f"[bold red]{out.status}[/]"
            console.print(f"{mark:>22} {m.name} ({out.seconds:.0f} s)")
            return out

        # The slowest first (those that run OS processes or whole sessions), so that two at
        # a time do not end with one long mutation running alone; the table keeps list order.
        order = sorted(range(len(chosen)), key=lambda i: -_expected_seconds(chosen[i]))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            done = dict(zip(order, pool.map(work, [chosen[i] for i in order]), strict=True))
        outcomes = [done[i] for i in range(len(chosen))]

    table = Table(title=f"mutation check: {len(outcomes)} mutations")
    for col in ("mutation", "where", "result", "s", "detail"):
        table.add_column(col)
    for o in outcomes:
        style = None if o.ok else "bold red"
        table.add_row(
            o.mutation.name,
            o.mutation.path,
            o.status,
            f"{o.seconds:.0f}",
            o.detail[:70],
            style=style,
        )
    console.print(table)
    bad = [o for o in outcomes if not o.ok]
    console.print(
        f"{len(outcomes) - len(bad)}/{len(outcomes)} caught in {time.perf_counter() - start:.0f} s"
        + (f"; [bold red]{len(bad)} not caught[/]" if bad else "")
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "name": o.mutation.name,
                        "path": o.mutation.path,
                        "tests": list(o.mutation.tests),
                        "status": o.status,
                        "seconds": round(o.seconds, 1),
                        "detail": o.detail,
                    }
                    for o in outcomes
                ],
                indent=2,
            )
            + "\n"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
