"""The ``kmeans`` kind: Lloyd's k-means over every org's rows (split horizontally).

Each iteration every org assigns its own rows to the public centroids and inputs per-cluster
counts and sums, range-checked; the MPC (:mod:`offchain.mining.kmeans`) divides securely and
opens only the new centroids. The last iteration opens each cluster's size and sums, from which
the final centroids follow exactly (``docs/jobs.md``, "kmeans").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs import features as feat
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS, TableKind, read_org_table
from chainmpc.jobs.schema import Column, Table
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.mining.kmeans import (
    BITS,
    F,
    KMeansLayout,
    decode_outputs,
    plain_kmeans,
    secure_kmeans,
)
from offchain.sectypes.array import SecretArray

MAX_ITERATIONS = 100


@dataclass(frozen=True)
class KMeansJob(TableKind):
    """``kmeans`` with ``k`` clusters and ``iterations`` Lloyd updates on ``columns``."""

    spec: JobSpec
    k: int
    iterations: int
    columns: tuple[Column, ...]
    init: tuple[tuple[float, ...], ...] | None  # None: "first-k"

    kind: ClassVar[str] = "kmeans"
    summary: ClassVar[str] = (
        "Lloyd's k-means on numeric columns: the centroids are revealed after each "
        "iteration, the cluster sizes at the end"
    )
    parameters: ClassVar[dict[str, str]] = {
        "k": "the number of clusters, 1 to 32 (required)",
        "iterations": f"Lloyd updates, 1 to {MAX_ITERATIONS} (default 10)",
        "init": '"first-k" (the first org\'s first k rows: revealed) or k lists of one '
        "number per feature (required)",
        "features": "the int or fixed columns to cluster on (default: all of them)",
    }

    @classmethod
    def from_spec(cls, spec: JobSpec) -> KMeansJob:
        """Validate ``spec.params`` against the schema; :class:`InputError` names the key."""
        p = feat.check_known(spec, cls.parameters, cls.kind)
        k = feat.integer(p, "k", None, 1, 32)
        iterations = feat.integer(p, "iterations", 10, 1, MAX_ITERATIONS)
        columns = tuple(feat.features(spec, p))
        init = _init(p.get("init"), k, columns)
        job = cls(spec, k, iterations, columns, init)
        if job.orgs < 2:
            raise InputError(f"orgs: kmeans needs at least 2 orgs, the job names {job.orgs}")
        layout = job.layout
        if layout.output_length > MAX_OUTPUTS:
            raise InputError(
                f"params.k: {k} clusters of {len(columns)} features reveal "
                f"{layout.output_length} values; a session reveals at most {MAX_OUTPUTS}"
            )
        for c, (lo, hi) in zip(columns, layout.bounds, strict=True):
            one = KMeansLayout(1, 1, ((lo, hi),), job.orgs)
            if one.sum_bits() > BITS - 1:
                raise InputError(
                    f"schema.columns.{c.name}: bounds too wide: {job.orgs} orgs' sums need "
                    f"{one.sum_bits()} bits, the division takes {BITS - 1}"
                )
        job.refuse_too_wide()
        return job

    @property
    def layout(self) -> KMeansLayout:
        """The public shape (:class:`~offchain.mining.kmeans.KMeansLayout`)."""
        init = None
        if self.init is not None:
            init = tuple(tuple(round(v * (1 << F)) for v in c) for c in self.init)
        return KMeansLayout(
            self.k, self.iterations, feat.bounds(list(self.columns)), self.orgs, init
        )

    @property
    def output_length(self) -> int:
        """``k (d + 1)`` field elements: the sums per cluster and feature, then the sizes."""
        return self.layout.output_length

    def load_input(self, org: int) -> Table:
        """Org ``org``'s CSV, validated; ``first-k`` needs ``k`` rows at the first org."""
        table = read_org_table(self.spec, org, self.kind, self.layout.cap)
        if org == 0 and self.init is None and table.rows < self.k:
            raise InputError(
                f"{self.spec.data[0]}: {table.rows} rows; init first-k takes the first "
                f"{self.k} rows of the first org"
            )
        return table

    def _rows(self, table: Table) -> list[list[int]]:
        if table.schema != self.spec.schema:
            raise InputError("the table's schema is not the job's")
        return feat.rows(table, list(self.columns))

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """:func:`~offchain.mining.kmeans.secure_kmeans` on this org's rows."""
        rows = None if own is None else self._rows(own)
        return secure_kmeans(engine, self.layout, rows, self.orgs)

    def expected(self, inputs: list[Table], opened: Sequence[int] | None = None) -> list[int]:
        """The plaintext algorithm's outputs on the union of the rows (the MPC's equal them
        unless a row is within the division's error of two centroids)."""
        return plain_kmeans(self.layout, [r for t in inputs for r in self._rows(t)])

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"rows", "model": {"centroids", "features", "sizes", ...}}``."""
        try:
            centroids, sizes = decode_outputs(self.layout, opened)
        except ValueError as exc:
            raise InputError(f"kmeans outputs: {exc}") from None
        model = {
            "kind": "kmeans",
            "centroids": centroids,
            "features": [c.name for c in self.columns],
            "sizes": sizes,
            "k": self.k,
            "iterations": self.iterations,
            "init": "first-k" if self.init is None else [list(c) for c in self.init],
            "schema": canonical(self.spec)["schema"],
        }
        return {"rows": sum(sizes), "model": model}


def _init(value: Any, k: int, columns: tuple[Column, ...]) -> tuple[tuple[float, ...], ...] | None:
    if value is None:
        raise InputError('params.init: required ("first-k" or k lists of numbers)')
    if value == "first-k":
        return None
    if not isinstance(value, list) or len(value) != k:
        raise InputError(f'params.init: "first-k" or a list of k = {k} centroids')
    out = []
    for j, c in enumerate(value):
        ok = isinstance(c, list) and len(c) == len(columns)
        if ok:
            ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in c)
        if not ok or not all(math.isfinite(v) and abs(v) < 2 ** (BITS - F - 8) for v in c):
            raise InputError(
                f"params.init[{j}]: {len(columns)} finite numbers, one per feature "
                f"({', '.join(x.name for x in columns)})"
            )
        out.append(tuple(float(v) for v in c))
    return tuple(out)
