"""``chainmpc run`` of a naive-bayes job and ``chainmpc predict`` on its result.json, as a user
runs them (their own processes, the embedded chain); bad rows fail in one line naming file,
line and column, before anything goes on-chain (``run``) or any prediction (``predict``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainmpc.cli import main
from chainmpc.jobs.models import predict_tree
from chainmpc.jobs.registry import load_job
from onchain.commitments import job_hash
from tests.chainmpc.cli.test_run import chainmpc
from tests.helpers.datasets import categorical_job, categorical_rows

PARAMS = {"target": "Play", "smoothing": 1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tennis job run once through the chain: (job file, result.json)."""
    root = tmp_path_factory.mktemp("tennis")
    job = categorical_job(root / "job", "tennis", "naive-bayes", PARAMS)
    proc = chainmpc("run", str(job), "--out", str(root / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit of session 1: PASS" in proc.stdout
    return job, root / "out" / "result.json"


def test_run_reveals_the_counts_and_predict_applies_them(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    job, result = trained
    doc = json.loads(result.read_text())
    assert doc["kind"] == "naive-bayes"
    assert doc["job_hash"] == "0x" + job_hash(load_job(job).description()).hex()
    model = doc["result"]["model"]
    assert model["class_counts"] == {"No": 5, "Yes": 9}
    assert model["counts"]["Outlook"]["Overcast"] == {"No": 0, "Yes": 4}
    # predict on the training rows (target present): accuracy printed, predictions written
    header, rows = categorical_rows("tennis")
    data = tmp_path / "rows.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    out = tmp_path / "pred.csv"
    proc = chainmpc("predict", "--model", str(result), "--data", str(data), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    predicted = [r[0] for r in csv.reader(out.open())]
    assert predicted[0] == "Play" and len(predicted) == 1 + len(rows)
    right = sum(p == r[-1] for p, r in zip(predicted[1:], rows, strict=True))
    assert f"accuracy {right / len(rows):.4f} ({right} of {len(rows)} rows)" in proc.stdout
    # the textbook's query (Mitchell): sunny, cool, high humidity, strong wind -> No
    query = tmp_path / "query.csv"
    query.write_text("Wind,Humidity,Temperature,Outlook\nStrong,High,Cool,Sunny\n")
    proc = chainmpc("predict", "--model", str(result), "--data", str(query))
    assert proc.returncode == 0 and proc.stdout.split() == ["No"], proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Outlook,Temperature,Humidity\nSunny,Hot,High\n",
         "line 1, column 'Wind': missing from the header"),
        ("Outlook,Temperature,Humidity,Wind\nSunny,Hot,High,Weak\nFoggy,Hot,High,Weak\n",
         "line 3, column 'Outlook': not a category of this column"),
        ("Outlook,Temperature,Humidity,Wind,Play\nSunny,Hot,High,Weak,\n",
         "line 2, column 'Play': empty cell"),
        ("", "line 1: empty file"),
    ],
)  # fmt: skip
def test_predict_refuses_bad_rows_naming_file_line_and_column(
    trained: tuple[Path, Path], tmp_path: Path, text: str, message: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(text)
    # in-process (the same command as above, without a process start per case)
    proc = CliRunner().invoke(main, ["predict", "--model", str(trained[1]), "--data", str(data)])
    assert proc.exit_code == 1
    assert proc.stderr.startswith(f"error: {data}: {message}"), proc.stderr
    assert proc.stderr.count("\n") == 1 and not proc.stdout
    assert "Foggy" not in proc.stderr  # the cell is never quoted


@pytest.mark.parametrize(
    ("org", "edit", "message"),
    [
        (1, lambda t: t.replace(",Play", "", 1), "line 1, column 'Play': missing from the header"),
        (2, lambda t: t.replace("Rain", "Drizzle", 1), "column 'Outlook': not a category"),
    ],
)
def test_run_refuses_bad_rows_before_anything_on_chain(
    tmp_path: Path,
    org: int,
    edit,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    job = categorical_job(tmp_path / "job", "tennis", "naive-bayes", PARAMS)
    path = job.parent / f"org{org}.csv"
    path.write_text(edit(path.read_text()))
    proc = chainmpc("run", str(job), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert f"error: {path}: " in proc.stderr and message in proc.stderr, proc.stderr
    assert "session" not in proc.stdout and not (tmp_path / "out").exists()


def test_a_tree_is_applied_down_its_branches_to_a_leaf() -> None:
    tree = {"attr": "Outlook", "children": {
        "Sunny": {"attr": "Humidity", "children": {"High": {"leaf": "No"},
                                                   "Normal": {"leaf": "Yes"}}},
        "Overcast": {"leaf": "Yes"},
        "Rain": {"attr": "Wind", "children": {"Strong": {"leaf": "No"}, "Weak": {"leaf": "Yes"}}},
    }}  # fmt: skip
    header, rows = categorical_rows("tennis")
    got = [predict_tree(tree, dict(zip(header, r, strict=True))) for r in rows]
    assert got == [r[-1] for r in rows]  # ID3's tree for this data classifies it exactly
