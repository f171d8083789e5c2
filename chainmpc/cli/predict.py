"""``chainmpc predict --model result.json --data rows.csv``: apply a revealed model in the clear.

The rows are checked against the model's schema (``result.model.schema``, or ``--job`` for a
model without one) exactly as a job's CSV is: the first problem ends the run in one line
naming file, line and column. If the rows have the target column, the accuracy is printed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from chainmpc.cli.common import console, fail, writable_file
from chainmpc.exceptions import InputError
from chainmpc.jobs.csvdata import read_table
from chainmpc.jobs.models import decoded_rows, model_target, predict, prediction_schema
from chainmpc.jobs.registry import load_job
from chainmpc.jobs.schema import Schema
from chainmpc.jobs.spec import schema_from_doc

_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)


def load_model(path: Path) -> dict[str, Any]:
    """``result.model`` of a ``result.json`` (or a bare model document)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable result.json ({exc})") from None
    model = doc.get("result", {}).get("model") if isinstance(doc, dict) else None
    if (
        model is None
        and isinstance(doc, dict)
        and any(k in doc for k in ("tree", "forest", "variant"))
    ):
        model = doc
    if not isinstance(model, dict):
        raise InputError(f"{path}: result.model: missing (not a model's result.json)")
    return model


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return [h.strip() for h in first]


def model_schema(model: dict[str, Any], model_path: Path, job_file: Path | None) -> Schema:
    """The columns the model was trained on: ``--job``'s schema if given, else the model's."""
    if job_file is not None:
        return load_job(job_file).spec.schema
    if "schema" not in model:
        raise InputError(f"{model_path}: result.model.schema: missing; pass --job JOB.toml")
    return schema_from_doc(model["schema"], f"{model_path}: result.model")


@click.command("predict")
@click.option("--model", "model_path", type=_FILE, required=True, help="A session's result.json.")
@click.option("--data", type=_FILE, required=True, help="CSV of rows to classify (header row).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the predictions here (a CSV, one column named after the target).",
)
@click.option("--job", "job_file", type=_FILE, default=None, help="The job file (if the model "
              "has no schema, as a tree may not).")  # fmt: skip
def predict_cmd(model_path: Path, data: Path, out: Path | None, job_file: Path | None) -> None:
    """Classify the rows of DATA with a revealed model (naive-bayes, an id3 tree, a random
    forest's vote, kmeans: the nearest centroid, linear-svm), in the clear; print the
    accuracy if DATA has the target column."""
    if out is not None:
        writable_file(out, "--out")
    try:
        model = load_model(model_path)
        schema = model_schema(model, model_path, job_file)
        columns = prediction_schema(schema, model, _header(data))
        rows = decoded_rows(read_table(data, columns))
        predicted = predict(model, rows)
    except InputError as exc:
        fail(str(exc))
    target = model_target(model) or ("cluster" if model.get("kind") == "kmeans" else "class")
    if out is not None:
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([target])
            writer.writerows([p] for p in predicted)
        console.print(f"wrote {len(predicted)} predictions to {out}")
    if target in columns.names:
        right = sum(p == r[target] for p, r in zip(predicted, rows, strict=True))
        console.print(f"accuracy {right / len(rows):.4f} ({right} of {len(rows)} rows)")
    elif out is None:
        for p in predicted:
            console.print(p)
