"""What the numeric mining kinds (``kmeans``, ``linear-svm``) share: validating their
parameters, choosing the feature columns, and turning an org's table into rows of integers on
one grid (``round(v 2^16)`` for every feature, ``int`` columns shifted), so the MPC sees one
encoding whatever the column types."""

from __future__ import annotations

from typing import Any

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.schema import FRACTION_BITS, Column, Table

NUMERIC = ("int", "fixed")


def check_known(spec: JobSpec, parameters: dict[str, str], kind: str) -> dict[str, Any]:
    """``spec.params`` as a dict, refusing a key the kind does not have (named)."""
    p = dict(spec.params)
    unknown = sorted(set(p) - set(parameters))
    if unknown:
        raise InputError(
            f"params.{unknown[0]}: not a parameter of kind {kind} (known: {', '.join(parameters)})"
        )
    return p


def integer(p: dict[str, Any], key: str, default: int | None, lo: int, hi: int) -> int:
    """``p[key]`` as an int in ``[lo, hi]`` (required if ``default`` is None)."""
    value = p.get(key, default)
    if value is None:
        raise InputError(f"params.{key}: required (an integer from {lo} to {hi})")
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"params.{key}: {value!r}; an integer from {lo} to {hi}")
    return value


def number(p: dict[str, Any], key: str, default: float, positive: bool = False) -> float:
    """``p[key]`` as a finite float ``>= 0`` (``> 0`` if ``positive``)."""
    value = p.get(key, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not (value > 0 if positive else value >= 0) or value == float("inf"):
        raise InputError(f"params.{key}: {value!r}; a number {'>' if positive else '>='} 0")
    return float(value)


def features(spec: JobSpec, p: dict[str, Any], exclude: tuple[str, ...] = ()) -> list[Column]:
    """``params.features`` (default: every ``int`` or ``fixed`` column but ``exclude``), in
    the order given; an unknown, repeated, excluded or category column is refused, named."""
    names = p.get("features")
    if names is None:
        chosen = [c for c in spec.schema.columns if c.type in NUMERIC and c.name not in exclude]
        if not chosen:
            raise InputError("schema: no int or fixed column to use as a feature")
        return chosen
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError("params.features: a non-empty list of column names")
    if len(set(names)) != len(names):
        raise InputError("params.features: a column is named twice")
    out = []
    for name in names:
        if name not in spec.schema.names:
            raise InputError(f"params.features: {name!r} is not a declared column")
        col = spec.schema[name]
        if name in exclude:
            raise InputError(f"params.features: {name!r} is the target, not a feature")
        if col.type not in NUMERIC:
            raise InputError(
                f"params.features: {name!r} is a {col.type} column; features are int or fixed"
            )
        out.append(col)
    return out


def shift(column: Column) -> int:
    """Bits a column's encoded values move up to sit on the 2^-16 grid."""
    return 0 if column.type == "fixed" else FRACTION_BITS


def bounds(columns: list[Column]) -> tuple[tuple[int, int], ...]:
    """Each feature's declared ``(lo, hi)`` on the 2^-16 grid."""
    return tuple((c.lo << shift(c), c.hi << shift(c)) for c in columns)


def rows(table: Table, columns: list[Column]) -> list[list[int]]:
    """``table``'s rows as the features' values on the 2^-16 grid."""
    cols = [[v << shift(c) for v in table.columns[c.name]] for c in columns]
    return [list(r) for r in zip(*cols, strict=True)] if cols else []
