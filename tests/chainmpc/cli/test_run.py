"""``chainmpc run JOB.toml``: a session of a job file over each org's CSV, as a user runs it
(its own process). Bad input fails in one line naming file, line and column (or the job
file's key) before anything goes on-chain: no new block on a real node, no file touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from web3 import Web3

from chainmpc.jobs.registry import KINDS
from onchain.clients import ConsortiumClient, SessionClient

EXAMPLES = Path(__file__).parents[3] / "examples"


def chainmpc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def copy_example(tmp_path: Path, name: str) -> Path:
    """``examples/NAME.toml`` and its CSVs, copied under ``tmp_path``."""
    shutil.copytree(EXAMPLES / name, tmp_path / name)
    shutil.copy(EXAMPLES / f"{name}.toml", tmp_path / f"{name}.toml")
    return tmp_path / f"{name}.toml"


def plaintext_sum_product() -> tuple[int, int]:
    values = [int((EXAMPLES / "sum-product" / f"{o}.csv").read_text().split()[1]) for o in "abc"]
    return sum(values), values[0] * values[1] * values[2]


def check_result(out: Path, proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit of session 1: PASS" in proc.stdout
    doc = json.loads((out / "result.json").read_text())
    total, product = plaintext_sum_product()
    assert doc["kind"] == "sum-product" and doc["result"] == {"sum": total, "product": product}
    assert doc["session"] == 1 and doc["consortium"].startswith("0x")
    hashed = chainmpc("job", "hash", str(EXAMPLES / "sum-product.toml"))
    assert hashed.returncode == 0 and doc["job_hash"] == hashed.stdout.strip()
    return doc


def test_run_the_example_on_the_embedded_chain(tmp_path: Path) -> None:
    proc = chainmpc("run", str(EXAMPLES / "sum-product.toml"), "--out", str(tmp_path / "out"))
    check_result(tmp_path / "out", proc)
    assert "sum" in proc.stdout and "product" in proc.stdout  # the printed table


@pytest.mark.ganache
def test_run_the_example_on_ganache_then_audit_it_against_the_job_file(
    ganache_url: str, tmp_path: Path
) -> None:
    example = str(EXAMPLES / "sum-product.toml")
    out = tmp_path / "out"
    doc = check_result(out, chainmpc("run", example, "--rpc", ganache_url, "--out", str(out)))
    assert doc["chain_id"] == Web3(Web3.HTTPProvider(ganache_url)).eth.chain_id
    # The job hash on-chain is `chainmpc job hash` of the file.
    w3 = Web3(Web3.HTTPProvider(ganache_url))
    sessions = SessionClient(w3, ConsortiumClient(w3, doc["consortium"]).session_manager())
    assert "0x" + sessions.session(doc["session"]).job_hash.hex() == doc["job_hash"]
    audit = chainmpc("audit", "--rpc", ganache_url, "--consortium", doc["consortium"],
                     "--session", "1", "--job", example, "--json")  # fmt: skip
    report = json.loads(audit.stdout)
    assert audit.returncode == 0 and report["passed"] and not report["unchecked"]
    other = copy_example(tmp_path, "sum-product")
    other.write_text(other.read_text().replace("max = 1000", "max = 999"))
    changed = chainmpc("audit", "--rpc", ganache_url, "--consortium", doc["consortium"],
                       "--session", "1", "--job", str(other))  # fmt: skip
    assert changed.returncode == 1 and "FAIL job hash matches the job file" in changed.stdout


def _csv(org: str, text: str) -> Callable[[Path], None]:
    return lambda job: (job.parent / "sum-product" / f"{org}.csv").write_text(text)


def _toml(old: str, new: str) -> Callable[[Path], None]:
    def edit(job: Path) -> None:
        assert old in job.read_text()
        job.write_text(job.read_text().replace(old, new, 1))

    return edit


#: (id, how the copied example is broken, what the one line must say)
BAD_INPUT = [
    ("missing-column", _csv("b", "amount\n5\n"),
     "sum-product/b.csv: line 1, column 'value': missing from the header"),
    ("extra-column", _csv("c", "value,note\n5,x\n"),
     "sum-product/c.csv: line 1, column 'note': not in the job's schema"),
    ("out-of-range", _csv("b", "value\n1001\n"),
     "sum-product/b.csv: line 2, column 'value': a value outside the declared range [-1000, 1000]"),
    ("non-number", _csv("a", "value\n12.5\n"),
     "sum-product/a.csv: line 2, column 'value': not an integer"),
    ("empty-file", _csv("c", ""), "sum-product/c.csv: line 1: empty file"),
    ("header-only", _csv("c", "value\n"), "sum-product/c.csv: line 2: no rows after the header"),
    ("two-rows", _csv("a", "value\n1\n2\n"),
     "sum-product/a.csv: line 3: 2 rows; sum-product takes exactly one row per org"),
    ("missing-target", _toml('"sum-product/b.csv"', '"sum-product/gone.csv"'),
     "sum-product/gone.csv: cannot read (No such file or directory)"),
    ("no-data", _toml('data = "sum-product/c.csv"', ""),
     "sum-product.toml: orgs.bank-c.data: missing"),
    ("unknown-kind", _toml('kind = "sum-product"', 'kind = "regresion"'),
     "sum-product.toml: job.kind: unknown kind 'regresion' (known kinds: "),
    ("unknown-parameter", _toml("[schema]", "[params]\nrounds = 2\n[schema]"),
     "sum-product.toml: params.rounds: unknown parameter of 'sum-product'"),
    ("bad-key", _toml("min = -1000", "minimum = -1000"),
     "sum-product.toml: schema.columns.value.minimum: unknown key"),
    ("toml-syntax", _toml("[orgs.bank-a]", "[orgs.bank-a"),
     "sum-product.toml: not a TOML job file: Expected ']' at the end of a table declaration "
     "(at line 9"),
]  # fmt: skip


@pytest.mark.ganache
@pytest.mark.parametrize(("breaks", "message"), [c[1:] for c in BAD_INPUT],
                         ids=[c[0] for c in BAD_INPUT])  # fmt: skip
def test_bad_input_fails_in_one_line_before_any_block(
    ganache_url: str, tmp_path: Path, breaks: Callable[[Path], None], message: str
) -> None:
    job = copy_example(tmp_path, "sum-product")
    breaks(job)
    _fails_before_any_block(ganache_url, job, tmp_path, message)


STATS_BAD_INPUT = [
    ("unknown-category", "stats/b.csv", "38,23.9,f,no", "38,23.9,x,no",
     "stats/b.csv: line 3, column 'sex': not a category of this column"),
    ("empty-cell", "stats/a.csv", "29,19.8,f,no", "29,,f,no",
     "stats/a.csv: line 5, column 'bmi': empty cell"),
    ("fixed-out-of-range", "stats/c.csv", "25,18.9,m,no", "25,61.0,m,no",
     "stats/c.csv: line 3, column 'bmi': a value outside the declared range"),
]  # fmt: skip


@pytest.mark.ganache
@pytest.mark.skipif("stats" not in KINDS, reason="the stats kind is not registered")
@pytest.mark.parametrize(("csv", "old", "new", "message"), [c[1:] for c in STATS_BAD_INPUT],
                         ids=[c[0] for c in STATS_BAD_INPUT])  # fmt: skip
def test_bad_rows_of_the_stats_example_fail_before_any_block(
    ganache_url: str, tmp_path: Path, csv: str, old: str, new: str, message: str
) -> None:
    job = copy_example(tmp_path, "stats")
    path = tmp_path / csv
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    _fails_before_any_block(ganache_url, job, tmp_path, message)


def _fails_before_any_block(ganache_url: str, job: Path, tmp_path: Path, message: str) -> None:
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    w3 = Web3(Web3.HTTPProvider(ganache_url))
    before = w3.eth.block_number
    proc = chainmpc("run", str(job), "--rpc", ganache_url, "--out", str(tmp_path / "out"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert w3.eth.block_number == before
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    assert not (tmp_path / "out").exists()


def plaintext_stats() -> dict:
    """The stats example's columns over the three CSVs concatenated, computed in the clear."""
    rows = [
        dict(zip(lines[0].split(","), line.split(","), strict=True))
        for org in "abc"
        for lines in [(EXAMPLES / "stats" / f"{org}.csv").read_text().split()]
        for line in lines[1:]
    ]
    ages = [int(r["age"]) for r in rows]
    bmis = [float(r["bmi"]) for r in rows]
    return {"rows": rows, "ages": ages, "bmis": bmis}


@pytest.mark.skipif("stats" not in KINDS, reason="the stats kind is not registered")
def test_run_the_stats_example(tmp_path: Path) -> None:
    # On the embedded chain; `run` against a node is the sum-product example's test, above.
    out = tmp_path / "out"
    proc = chainmpc("run", str(EXAMPLES / "stats.toml"), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit of session 1: PASS" in proc.stdout
    doc = json.loads((out / "result.json").read_text())
    hashed = chainmpc("job", "hash", str(EXAMPLES / "stats.toml")).stdout.strip()
    assert doc["kind"] == "stats" and doc["job_hash"] == hashed
    plain, result = plaintext_stats(), doc["result"]
    age = result["columns"]["age"]
    assert (age["count"], age["sum"], age["min"], age["max"]) == (
        len(plain["ages"]), sum(plain["ages"]), min(plain["ages"]), max(plain["ages"])
    )  # fmt: skip
    assert result["columns"]["bmi"]["sum"] == pytest.approx(sum(plain["bmis"]), abs=1e-3)
    sexes = [r["sex"] for r in plain["rows"]]
    assert result["columns"]["sex"]["counts"] == {"f": sexes.count("f"), "m": sexes.count("m")}
    (table,) = result["contingency"]
    f_yes = sum(1 for r in plain["rows"] if (r["sex"], r["outcome"]) == ("f", "yes"))
    assert table["table"]["f"]["yes"] == f_yes
