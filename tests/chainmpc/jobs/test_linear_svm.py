"""The ``linear-svm`` kind on breast cancer and on iris (versicolor against virginica) split
across three orgs, computed by the MPC on real engines over TCP: the model equals the
plaintext reference exactly (the same updates on the same grid), and its accuracy is within
0.5 percentage points of the same descent in float64 (numpy); bad parameters are refused."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest

from chainmpc.exceptions import InputError
from chainmpc.jobs.models import predict
from chainmpc.jobs.registry import load_job
from tests.chainmpc.cli.test_run import chainmpc
from tests.helpers.datasets import numeric_rows, write_job
from tests.helpers.jobrun import run_job

PARAMS = {"epochs": 20, "learning_rate": 0.5, "regularization": 0.01}


def standardised(dataset: str, keep: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """The dataset's rows with each feature as a z-score (4 decimals), only ``keep`` classes;
    what a consortium would feed a gradient method after a ``stats`` job."""
    header, rows, classes = numeric_rows(dataset)
    rows = [r for r in rows if keep is None or r[-1] in keep]
    x = np.array([r[:-1] for r in rows], dtype=float)
    z = np.round((x - x.mean(0)) / x.std(0), 4)
    out = [[*map(float, zr), r[-1]] for zr, r in zip(z, rows, strict=True)]
    return header, out, list(keep or classes)


def svm_job(tmp_path: Path, dataset: str, keep: tuple[str, ...] | None, params: dict) -> Path:
    header, rows, classes = standardised(dataset, keep)
    schema = {h: {"type": "fixed", "min": min(r[j] for r in rows), "max": max(r[j] for r in rows)}
              for j, h in enumerate(header[:-1])}  # fmt: skip
    schema["class"] = {"type": "category", "values": classes}
    return write_job(tmp_path, "linear-svm", header, rows, schema, params, name=dataset)


def float_descent(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The same algorithm in float64, without the MPC's grid: w = 0, b = 0, then full-batch
    subgradient steps on the regularised hinge loss."""
    n, eta, lam = len(y), PARAMS["learning_rate"], PARAMS["regularization"]
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(PARAMS["epochs"]):
        active = y * (x @ w + b) < 1
        w = (1 - eta * lam) * w + eta / n * (y[active, None] * x[active]).sum(0)
        b += eta / n * y[active].sum()
    return w, b


@pytest.mark.parametrize(("dataset", "keep"), [("breast_cancer", None),
                                               ("iris", ("versicolor", "virginica"))])  # fmt: skip
def test_model_equals_the_plaintext_and_accuracy_the_float_descent(
    tmp_path: Path, dataset: str, keep: tuple[str, ...] | None
) -> None:
    job = load_job(svm_job(tmp_path, dataset, keep, {"target": "class", **PARAMS}))
    start = time.perf_counter()
    opened, tables, seconds = run_job(job)
    print(f"{dataset}: program {seconds:.2f} s, whole run {time.perf_counter() - start:.2f} s")
    assert opened == [job.expected(tables)] * job.orgs
    result = job.result(opened[0])
    model = result["model"]
    header, rows, classes = standardised(dataset, keep)
    assert result["rows"] == len(rows) and model["classes"] == classes
    x = np.array([r[:-1] for r in rows], dtype=float)
    y = np.array([1 if r[-1] == classes[1] else -1 for r in rows])
    w, b = float_descent(x, y)
    assert np.allclose([model["weights"][h] for h in header[:-1]], w, atol=1e-4)
    assert abs(model["bias"] - b) <= 1e-4
    ours = predict(model, [dict(zip(header, r, strict=True)) for r in rows])
    acc_ours = np.mean([p == r[-1] for p, r in zip(ours, rows, strict=True)])
    acc_float = np.mean(np.where(x @ w + b > 0, 1, -1) == y)
    assert abs(acc_ours - acc_float) <= 0.005, (acc_ours, acc_float)
    assert acc_ours > 0.9


TWO = ("versicolor", "virginica")


@pytest.mark.parametrize(
    ("keep", "params", "message"),
    [
        (TWO, {}, "params.target: required"),
        (None, {"target": "class"}, "params.target: 'class' has 3 values; linear-svm needs a "
                                    "category with exactly 2 values"),
        (TWO, {"target": "sepal_length_cm"}, "params.target: 'sepal_length_cm' has a fixed"),
        (TWO, {"target": "class", "learning_rate": 0}, "params.learning_rate: 0; a number > 0"),
        (TWO, {"target": "class", "epochs": 0}, "params.epochs: 0"),
        (TWO, {"target": "class", "features": ["class"]}, "params.features: 'class' is the "
                                                          "target"),
        (TWO, {"target": "class", "margin": 1}, "params.margin: not a parameter of kind "
                                                "linear-svm"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_naming_the_key(
    tmp_path: Path, keep: tuple[str, ...] | None, params: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_job(svm_job(tmp_path, "iris", keep, params))


def test_predict_cli_classifies_by_the_sign_of_w_x_plus_b(tmp_path: Path) -> None:
    job = load_job(svm_job(tmp_path, "iris", TWO, {"target": "class", **PARAMS}))
    opened, _, _ = run_job(job)
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"kind": "linear-svm", "result": job.result(opened[0])}))
    header, rows, classes = standardised("iris", TWO)
    data = tmp_path / "rows.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    proc = chainmpc("predict", "--model", str(result), "--data", str(data))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    model = job.result(opened[0])["model"]
    w = np.array([model["weights"][h] for h in header[:-1]])
    scores = np.array([r[:-1] for r in rows], dtype=float) @ w + model["bias"]
    labels = [classes[1] if s > 0 else classes[0] for s in scores]
    right = sum(p == r[-1] for p, r in zip(labels, rows, strict=True))
    assert f"accuracy {right / len(rows):.4f} ({right} of {len(rows)} rows)" in proc.stdout
