"""Real datasets as job files: each dataset's rows split horizontally across orgs, one CSV each.

The categorical sets are the MPyC project's (``examples/data/id3`` in the source tree,
MIT-licensed, its licence file beside them); the numeric ones come with scikit-learn (the
``bench`` extra). A job built here is an ordinary job file on disk, so the tests and ``chainmpc
bench mining`` run exactly what a user would (``chainmpc run JOB``, or the launcher).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chainmpc.exceptions import InputError

ID3_DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "id3"
CATEGORICAL = (
    "tennis",
    "balance-scale",
    "car",
    "SPECT",
    "KRKPA7",
    "tic-tac-toe",
    "house-votes-84",
)
NUMERIC = ("iris", "wine", "breast_cancer")


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers and arrays are valid TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def categorical_rows(dataset: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of one of :data:`CATEGORICAL` (the class is the last column, but in
    house-votes-84 the first, named ``class``)."""
    path = ID3_DATA / f"{dataset}.csv"
    try:
        with path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as exc:
        # The data lives in the source tree, not in an installed wheel.
        raise InputError(
            f"{path}: cannot read dataset {dataset!r} ({exc.strerror or exc}); "
            f"the categorical datasets are in a chainmpc source checkout, examples/data/id3"
        ) from None
    return rows[0], rows[1:]


def numeric_rows(dataset: str) -> tuple[list[str], list[list[Any]], list[str]]:
    """The header (features then ``class``), rows and class names of a scikit-learn dataset
    (:data:`NUMERIC`); feature values rounded to 4 decimals, so the CSV is exact."""
    try:
        from sklearn import datasets
    except ImportError:
        raise InputError(
            f"dataset {dataset!r} comes with scikit-learn, which is not installed "
            "(pip install 'chainmpc[bench]')"
        ) from None

    bunch = getattr(datasets, f"load_{dataset}")()
    names = [n.replace(" ", "_").replace("(", "").replace(")", "") for n in bunch.feature_names]
    classes = [str(c) for c in bunch.target_names]
    rows = [
        [round(float(v), 4) for v in x] + [classes[int(y)]]
        for x, y in zip(bunch.data, bunch.target, strict=True)
    ]
    return [*names, "class"], rows, classes


def split(rows: Sequence[Sequence[Any]], orgs: int) -> list[list[Sequence[Any]]]:
    """Contiguous, near-equal blocks of ``rows``, one per org (every org gets at least one)."""
    size, extra = divmod(len(rows), orgs)
    out, start = [], 0
    for k in range(orgs):
        end = start + size + (k < extra)
        out.append(list(rows[start:end]))
        start = end
    return out


def write_job(
    directory: Path,
    kind: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    schema: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
    orgs: int = 3,
    name: str = "dataset",
) -> Path:
    """Write ``rows`` split across ``orgs`` CSVs and a job file naming them; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"[job]\nname = {_toml(name)}\nkind = {_toml(kind)}\n"]
    if params:
        lines.append("[params]")
        lines += [f"{k} = {_toml(v)}" for k, v in params.items()]
        lines.append("")
    lines.append("[schema]")
    lines += [f"columns.{json.dumps(c)} = {_toml(schema[c])}" for c in header]
    lines.append("")
    for k, block in enumerate(split(rows, orgs)):
        csv_path = directory / f"org{k}.csv"
        with csv_path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(block)
        lines.append(f"[orgs.org{k}]\ndata = {_toml(csv_path.name)}\n")
    job = directory / "job.toml"
    job.write_text("\n".join(lines))
    return job


def categorical_job(
    directory: Path, dataset: str, kind: str, params: Mapping[str, Any] | None = None, orgs: int = 3
) -> Path:
    """A job over one of :data:`CATEGORICAL`: every column a category, its values in order of
    first appearance; the last column is the class (pass ``target`` in ``params`` if the kind
    wants it named)."""
    header, rows = categorical_rows(dataset)
    schema = categorical_schema(header, rows)
    return write_job(directory, kind, header, rows, schema, params, orgs, name=dataset)


def categorical_schema(
    header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, dict[str, Any]]:
    """Every column a category, its values in order of first appearance in ``rows`` (pass
    all of a dataset's rows, so a job on a part of them still knows every value)."""
    return {
        col: {"type": "category", "values": list(dict.fromkeys(r[j] for r in rows))}
        for j, col in enumerate(header)
    }


def numeric_schema(
    header: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``fixed`` features with ``rows``' range (pass all of them, as for
    :func:`categorical_schema`) and the last column, ``class``, a category of ``classes``."""
    schema: dict[str, dict[str, Any]] = {}
    for j, col in enumerate(header[:-1]):
        values = [r[j] for r in rows]
        schema[col] = {"type": "fixed", "min": min(values), "max": max(values)}
    schema[header[-1]] = {"type": "category", "values": list(classes)}
    return schema


def numeric_job(
    directory: Path, dataset: str, kind: str, params: Mapping[str, Any] | None = None, orgs: int = 3
) -> Path:
    """A job over one of :data:`NUMERIC`: ``fixed`` features with the data's range, and a
    ``class`` category column."""
    header, rows, classes = numeric_rows(dataset)
    schema = numeric_schema(header, rows, classes)
    return write_job(directory, kind, header, rows, schema, params, orgs, name=dataset)
