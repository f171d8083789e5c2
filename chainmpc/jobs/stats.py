"""The ``stats`` kind: descriptive statistics and contingency tables over every org's rows.

Rows are split horizontally: each org's CSV has the schema's columns. Each org aggregates its
own rows in the clear, and the MPC (:mod:`offchain.mining.stats`) adds the aggregates and finds
the global minima and maxima; only the totals are revealed. Mean, sample variance and χ² are
then computed in the clear from what was revealed (``docs/jobs.md``, "stats").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS, TableKind, read_org_table
from chainmpc.jobs.schema import FRACTION_BITS, Column, Table, decode
from offchain.engine.core import Engine
from offchain.hazmat.field import Mersenne127
from offchain.mining.stats import (
    MAX_ROWS,
    LocalAggregates,
    StatsLayout,
    local_aggregates,
    plain_stats,
    secure_stats,
)
from offchain.sectypes.array import SecretArray

NUMERIC = ("int", "fixed")


@dataclass(frozen=True)
class StatsJob(TableKind):
    """``stats`` over ``spec``'s schema: per numeric column count, sum, mean, sample variance,
    min and max; per category column its counts; per ``contingency`` pair its table and χ²."""

    spec: JobSpec
    contingency: tuple[tuple[str, str], ...] = ()

    kind: ClassVar[str] = "stats"
    summary: ClassVar[str] = (
        "count, sum, mean, variance, min, max per numeric column; counts per category column; "
        "contingency tables with Pearson's chi-squared"
    )
    parameters: ClassVar[dict[str, str]] = {
        "contingency": "pairs [a, b] of category columns: the table of a against b and its χ² "
        "(optional, default none)",
    }

    @classmethod
    def from_spec(cls, spec: JobSpec) -> StatsJob:
        """Validate ``spec.params`` against the schema; :class:`InputError` names the key."""
        unknown = sorted(set(spec.params) - set(cls.parameters))
        if unknown:
            raise InputError(
                f"params.{unknown[0]}: not a parameter of kind stats "
                f"(known: {', '.join(cls.parameters)})"
            )
        job = cls(spec, _contingency(spec))
        if job.orgs < 2:
            raise InputError(f"orgs: stats needs at least 2 orgs, the job file names {job.orgs}")
        for c in spec.schema.columns:
            if c.type in NUMERIC and (c.min is None or c.max is None or c.min > c.max):
                raise InputError(f"schema.columns.{c.name}: needs min <= max")
        if job.output_length > MAX_OUTPUTS:
            raise InputError(
                f"schema: stats on these columns reveals {job.output_length} values (1, 4 per "
                f"numeric column, one per category value, one per contingency cell); "
                f"a session reveals at most {MAX_OUTPUTS}"
            )
        room = Mersenne127().bits - 2  # the smaller field bounds what fits (BN254 holds more)
        for c in job._numeric:
            need = StatsLayout(((c.lo, c.hi),), ()).total_bits(job.orgs)
            if need > room:
                raise InputError(
                    f"schema.columns.{c.name}: bounds too wide: the sum of squares of "
                    f"{job.orgs} orgs' rows needs {need} bits, the field holds {room}"
                )
        job.refuse_too_wide()
        return job

    # -- the Job protocol ----------------------------------------------------------------

    @property
    def layout(self) -> StatsLayout:
        """The public shape of the aggregation (:class:`~offchain.mining.stats.StatsLayout`)."""
        cats = self._categories
        index = {c.name: k for k, c in enumerate(cats)}
        return StatsLayout(
            numeric=tuple((c.lo, c.hi) for c in self._numeric),
            categories=tuple(len(c.values) for c in cats),
            tables=tuple((index[a], index[b]) for a, b in self.contingency),
        )

    @property
    def output_length(self) -> int:
        """``1 + 4 numeric + category values + table cells`` field elements."""
        return self.layout.output_length

    def load_input(self, org: int) -> Table:
        """Org ``org``'s CSV, read and validated against the schema."""
        return self.check_table(read_org_table(self.spec, org, self.kind), str(self.spec.data[org]))

    def check_table(self, table: Table, where: str) -> Table:
        """Refuse a table this kind cannot aggregate (``where`` names it in the error)."""
        if table.schema != self.spec.schema:
            raise InputError(f"{where}: the table's schema is not the job's")
        if table.rows > MAX_ROWS:
            raise InputError(f"{where}: {table.rows} rows; stats takes at most {MAX_ROWS} per org")
        return table

    def aggregate(self, table: Table) -> LocalAggregates:
        """This org's aggregates, in the clear (they never leave the org unshared)."""
        return local_aggregates(
            self.layout,
            [table.columns[c.name] for c in self._numeric],
            [table.columns[c.name] for c in self._categories],
        )

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """Aggregate ``own`` locally and run :func:`~offchain.mining.stats.secure_stats`."""
        mine = None if own is None else self.aggregate(own)
        return secure_stats(engine, self.layout, mine, self.orgs)

    def expected(self, inputs: list[Table], opened: Sequence[int] | None = None) -> list[int]:
        """The outputs computed in the clear from every org's table."""
        return plain_stats(self.layout, [self.aggregate(t) for t in inputs])

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"rows", "columns": {name: ...}, "contingency": [...]}`` (``docs/jobs.md``)."""
        if len(opened) != self.output_length:
            raise InputError(
                f"{len(opened)} outputs; stats on this schema has {self.output_length}"
            )
        n, rest = opened[0], iter(opened[1:])
        columns: dict[str, dict[str, Any]] = {}
        for c in self._numeric:
            columns[c.name] = _numeric_result(c, n, *(next(rest) for _ in range(4)))
        tallies: dict[str, list[int]] = {}
        for c in self._categories:
            tallies[c.name] = [next(rest) for _ in c.values]
            columns[c.name] = {"counts": dict(zip(c.values, tallies[c.name], strict=True))}
        columns = {name: columns[name] for name in self.spec.schema.names}  # declared order
        tables = []
        for a, b in self.contingency:
            va, vb = self.spec.schema[a].values, self.spec.schema[b].values
            cells = [[next(rest) for _ in vb] for _ in va]
            stat, dof = chi_squared(cells)
            tables.append({
                "rows": a,
                "columns": b,
                "table": {x: dict(zip(vb, r, strict=True)) for x, r in zip(va, cells, strict=True)},
                "chi2": stat,
                "dof": dof,
                "p_value": chi2_sf(stat, dof) if dof else None,
            })  # fmt: skip
        return {"rows": n, "columns": columns, "contingency": tables}

    @property
    def _numeric(self) -> list[Column]:
        return [c for c in self.spec.schema.columns if c.type in NUMERIC]

    @property
    def _categories(self) -> list[Column]:
        return [c for c in self.spec.schema.columns if c.type == "category"]


def _contingency(spec: JobSpec) -> tuple[tuple[str, str], ...]:
    raw = spec.params.get("contingency", [])
    if not isinstance(raw, list | tuple):
        raise InputError("params.contingency: a list of [category, category] pairs")
    pairs = []
    for k, pair in enumerate(raw):
        key = f"params.contingency[{k}]"
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise InputError(f"{key}: a pair [category, category], not {pair!r}")
        for name in pair:
            if not isinstance(name, str) or name not in spec.schema.names:
                raise InputError(f"{key}: {name!r} is not a declared column")
            if spec.schema[name].type != "category":
                raise InputError(f"{key}: {name!r} is a {spec.schema[name].type} column, "
                                 "not a category")  # fmt: skip
        if pair[0] == pair[1]:
            raise InputError(f"{key}: a column against itself")
        pairs.append((pair[0], pair[1]))
    if len(set(pairs)) != len(pairs):
        raise InputError("params.contingency: a pair is listed twice")
    return tuple(pairs)


def _numeric_result(c: Column, n: int, total: int, squares: int, lo: int, hi: int) -> dict:
    """Mean and sample variance from ``n``, ``Σx``, ``Σx²`` of the encodings: exact rationals
    in encoded units, scaled once at the end (no cancellation error)."""
    scale = 1 << (FRACTION_BITS if c.type == "fixed" else 0)
    mean = float(Fraction(total, n * scale)) if n else None
    var = (
        float(Fraction(n * squares - total * total, n * (n - 1) * scale * scale)) if n > 1 else None
    )
    return {
        "count": n,
        "sum": decode(c, total),
        "mean": mean,
        "variance": var,
        "min": decode(c, lo) if n else None,
        "max": decode(c, hi) if n else None,
    }


def chi_squared(table: Sequence[Sequence[int]]) -> tuple[float, int]:
    """Pearson's χ² (no continuity correction) and its degrees of freedom, on the rows and
    columns with a non-zero total (an empty one has no expected count): ``(0.0, 0)`` if fewer
    than two of either remain."""
    rows = [r for r in table if sum(r)]
    keep = [j for j in range(len(table[0])) if any(r[j] for r in rows)] if rows else []
    rows = [[r[j] for j in keep] for r in rows]
    if len(rows) < 2 or len(keep) < 2:
        return 0.0, 0
    n = sum(map(sum, rows))
    rs, cs = [sum(r) for r in rows], [sum(col) for col in zip(*rows, strict=True)]
    # Σ (O - E)² / E = n Σ O² / (r c) - n, exactly
    s = sum(Fraction(o * o, rs[i] * cs[j]) for i, r in enumerate(rows) for j, o in enumerate(r))
    return float(n * s - n), (len(rows) - 1) * (len(keep) - 1)


def chi2_sf(x: float, dof: int) -> float:
    """P(χ²_dof > x), the p-value, in closed form for integer ``dof`` (no SciPy needed)."""
    if x <= 0:
        return 1.0
    h = x / 2
    if dof % 2 == 0:
        term = total = 1.0
        for k in range(1, dof // 2):
            term *= h / k
            total += term
        return math.exp(-h) * total
    total, term = 0.0, math.sqrt(x) * math.sqrt(2 / math.pi) * math.exp(-h)
    for k in range(1, (dof + 1) // 2):
        total += term
        term *= x / (2 * k + 1)
    return math.erfc(math.sqrt(h)) + total
