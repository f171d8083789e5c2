"""Job files: :func:`load_spec` reads one into a :class:`~chainmpc.jobs.base.JobSpec`, and
:func:`canonical` / :func:`spec_hash` give the document and the hash the session's on-chain
``jobHash`` is (``docs/jobs.md``, "Job hash").

A job file is TOML (``docs/jobs.md``, "Job file"). The canonical JSON form (what
:func:`canonical` returns, e.g. from ``chainmpc describe-job``) is accepted too, as a job file
without data: the service and the auditor need no more. Every error is an
:class:`~chainmpc.exceptions.InputError` naming the file and the key.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.schema import Column, Schema
from onchain.commitments import job_hash

#: Bumped whenever the canonical form changes, so an old hash never matches a new reading.
FORMAT = "chainmpc-job/1"
TYPES = ("int", "fixed", "category")
#: Org names are registered on-chain and name each org's cache directory.
_ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SECTIONS = {"job": True, "params": False, "schema": True, "orgs": True}


def load_spec(path: Path | str) -> JobSpec:
    """Read and validate the job file at ``path`` (TOML, or the canonical JSON form)."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot read the job file ({_reason(exc)})") from None
    if path.suffix == ".json":
        return _from_canonical(text, path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not a TOML job file: {exc}") from None
    return _from_doc(doc, path)


def canonical(spec: JobSpec) -> dict[str, Any]:
    """The canonical form of ``spec``: what the on-chain job hash is the hash of.

    ``{"format", "name", "kind", "params", "schema": [columns in declared order], "orgs":
    [names in order]}``; each column is ``{"name", "type", "min", "max"}`` (``int``: integers,
    ``fixed``: floats) or ``{"name", "type": "category", "values"}``. Data paths are not in
    it: the same job over other CSVs has the same hash."""
    return {
        "format": FORMAT,
        "name": spec.name,
        "kind": spec.kind,
        "params": dict(spec.params),
        "schema": [_column_doc(c) for c in spec.schema.columns],
        "orgs": list(spec.orgs),
    }


def spec_hash(spec: JobSpec) -> bytes:
    """``keccak256`` of the canonical form as compact JSON with sorted keys
    (:func:`onchain.commitments.job_hash`)."""
    return job_hash(canonical(spec))


def _column_doc(c: Column) -> dict[str, Any]:
    if c.type == "category":
        return {"name": c.name, "type": c.type, "values": list(c.values)}
    cast = float if c.type == "fixed" else int
    return {"name": c.name, "type": c.type, "min": cast(c.min), "max": cast(c.max)}


def _from_doc(doc: dict[str, Any], path: Path) -> JobSpec:
    where = str(path)
    _keys(doc, where, "", _SECTIONS)
    job = _table(doc["job"], where, "job")
    _keys(job, where, "job.", {"name": True, "kind": True})
    name = _string(job["name"], where, "job.name")
    kind = _string(job["kind"], where, "job.kind")
    params = _table(doc.get("params", {}), where, "params")
    _json_value(params, where, "params")
    schema = _table(doc["schema"], where, "schema")
    _keys(schema, where, "schema.", {"columns": True})
    columns = _table(schema["columns"], where, "schema.columns")
    if not columns:
        raise InputError(f"{where}: schema.columns: no columns declared")
    cols = tuple(_column(n, v, where) for n, v in columns.items())
    orgs = _table(doc["orgs"], where, "orgs")
    if not orgs:
        raise InputError(f"{where}: orgs: no orgs declared")
    names, data = [], []
    for org, entry in orgs.items():
        key = f"orgs.{org}"
        if not _ORG_NAME.fullmatch(org):
            raise InputError(
                f"{where}: {key}: org names are letters, digits, '.', '_' and '-' (at most 64)"
            )
        entry = _table(entry, where, key)
        _keys(entry, where, key + ".", {"data": False})
        file = entry.get("data")
        names.append(org)
        data.append(None if file is None else path.parent / _string(file, where, key + ".data"))
    return JobSpec(name, kind, params, Schema(cols), tuple(names), tuple(data), path)


def _from_canonical(text: str, path: Path) -> JobSpec:
    where = str(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not a JSON job file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{where}: format: not a {FORMAT!r} canonical job document")
    columns = doc.get("schema")
    orgs = doc.get("orgs")
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise InputError(f"{where}: schema: expected a list of columns")
    if not isinstance(orgs, list):
        raise InputError(f"{where}: orgs: expected a list of org names")
    toml_doc = {
        "job": {"name": doc.get("name"), "kind": doc.get("kind")},
        "params": doc.get("params", {}),
        "schema": {
            "columns": {c.get("name"): {k: v for k, v in c.items() if k != "name"} for c in columns}
        },  # fmt: skip
        "orgs": {o: {} for o in orgs if isinstance(o, str)},
    }
    spec = _from_doc(toml_doc, path)
    if canonical(spec) != doc:
        raise InputError(f"{where}: not in canonical form (unknown, repeated or changed fields)")
    return spec


def schema_from_doc(columns: Any, where: str) -> Schema:
    """A :class:`Schema` from the canonical form's ``schema`` list (as ``result.json``'s models
    carry it); :class:`InputError` names ``where`` and the column."""
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise InputError(f"{where}: schema: expected a list of columns")
    return Schema(tuple(
        _column(str(c.get("name", "")), {k: v for k, v in c.items() if k != "name"}, where)
        for c in columns
    ))  # fmt: skip


def _column(name: str, value: Any, where: str) -> Column:
    key = f"schema.columns.{name}"
    if not name:
        raise InputError(f"{where}: {key}: empty column name")
    value = _table(value, where, key)
    kind = value.get("type")
    if kind not in TYPES:
        raise InputError(f"{where}: {key}.type: {kind!r} is not one of {', '.join(TYPES)}")
    if kind == "category":
        _keys(value, where, key + ".", {"type": True, "values": True})
        values = value["values"]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and v for v in values)
        ):
            raise InputError(f"{where}: {key}.values: expected a non-empty list of strings")
        if len(set(values)) != len(values):
            raise InputError(f"{where}: {key}.values: a value is listed twice")
        return Column(name, kind, values=tuple(values))
    _keys(value, where, key + ".", {"type": True, "min": True, "max": True})
    bounds = []
    for side in ("min", "max"):
        v = value[side]
        ok = (isinstance(v, int) if kind == "int" else isinstance(v, int | float)) and not (
            isinstance(v, bool) or (isinstance(v, float) and not math.isfinite(v))
        )
        if not ok:
            want = "an integer" if kind == "int" else "a finite number"
            raise InputError(f"{where}: {key}.{side}: {v!r} is not {want}")
        bounds.append(v)
    lo, hi = bounds
    if lo > hi:
        raise InputError(f"{where}: {key}: min {lo} > max {hi}")
    return Column(name, kind, min=lo, max=hi)


def _keys(doc: dict[str, Any], where: str, prefix: str, allowed: dict[str, bool]) -> None:
    """Refuse unknown keys and missing required ones (``allowed``: key → required)."""
    for k in doc:
        if k not in allowed:
            known = ", ".join(allowed)
            raise InputError(f"{where}: {prefix}{k}: unknown key (expected {known})")
    for k, required in allowed.items():
        if required and k not in doc:
            raise InputError(f"{where}: {prefix}{k}: missing")


def _table(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: {key}: expected a table, not {_type(value)}")
    return value


def _string(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key}: expected a non-empty string, not {_type(value)}")
    return value


def _json_value(value: Any, where: str, key: str) -> None:
    """Parameters are hashed as JSON: refuse TOML dates and non-finite floats."""
    if isinstance(value, dict):
        for k, v in value.items():
            _json_value(v, where, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _json_value(v, where, f"{key}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {key}: {value} is not a finite number")
    elif not isinstance(value, str | int | float | bool):
        raise InputError(f"{where}: {key}: {_type(value)} values are not allowed")


def _type(value: Any) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
