"""The ``linear-svm`` kind: a linear SVM of a two-valued category column, trained by
full-batch subgradient descent on the regularised hinge loss over every org's rows.

Each epoch every org evaluates its own rows against the public model and inputs its part of
the subgradient, range-checked; the MPC (:mod:`offchain.mining.linear_svm`) adds the parts and
opens only their totals, from which every org takes the same exact step (``docs/jobs.md``,
"linear-svm").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs import features as feat
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS, TableKind, read_org_table
from chainmpc.jobs.schema import Column, Table
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.mining.linear_svm import F, SvmLayout, plain_linear_svm, secure_linear_svm
from offchain.mining.stats import MAX_ROWS
from offchain.sectypes.array import SecretArray

MAX_EPOCHS = 1000


@dataclass(frozen=True)
class LinearSvmJob(TableKind):
    """``linear-svm`` of ``target`` (two classes) on ``columns``."""

    spec: JobSpec
    target: str
    epochs: int
    learning_rate: float
    regularization: float
    columns: tuple[Column, ...]

    kind: ClassVar[str] = "linear-svm"
    summary: ClassVar[str] = (
        "linear SVM of a two-valued category column by subgradient descent on the hinge "
        "loss: the model is revealed after each epoch"
    )
    parameters: ClassVar[dict[str, str]] = {
        "target": "the class column, a category with exactly 2 values (required)",
        "epochs": f"full-batch steps, 1 to {MAX_EPOCHS} (default 20)",
        "learning_rate": "eta > 0 (default 0.01)",
        "regularization": "lambda >= 0 of lambda/2 |w|^2 (default 0.01)",
        "features": "the int or fixed columns (default: all of them)",
    }

    @classmethod
    def from_spec(cls, spec: JobSpec) -> LinearSvmJob:
        """Validate ``spec.params`` against the schema; :class:`InputError` names the key."""
        p = feat.check_known(spec, cls.parameters, cls.kind)
        target = p.get("target")
        if target is None:
            raise InputError("params.target: required (a category column with 2 values)")
        if not isinstance(target, str) or target not in spec.schema.names:
            raise InputError(f"params.target: {target!r} is not a declared column")
        col = spec.schema[target]
        if col.type != "category" or len(col.values) != 2:
            what = f"{len(col.values)} values" if col.type == "category" else f"a {col.type}"
            raise InputError(
                f"params.target: {target!r} has {what}; linear-svm needs a category with "
                "exactly 2 values"
            )
        job = cls(
            spec,
            target,
            feat.integer(p, "epochs", 20, 1, MAX_EPOCHS),
            feat.number(p, "learning_rate", 0.01, positive=True),
            feat.number(p, "regularization", 0.01),
            tuple(feat.features(spec, p, exclude=(target,))),
        )
        if job.orgs < 2:
            raise InputError(f"orgs: linear-svm needs at least 2 orgs, the job names {job.orgs}")
        if job.output_length > MAX_OUTPUTS:
            raise InputError(
                f"params.features: {len(job.columns)} features; a session reveals at most "
                f"{MAX_OUTPUTS - 2} weights"
            )
        job.refuse_too_wide()
        return job

    @property
    def classes(self) -> tuple[str, ...]:
        """The target's two values: the first is ``y = -1``, the second ``y = +1``."""
        return self.spec.schema[self.target].values

    @property
    def layout(self) -> SvmLayout:
        """The public shape (:class:`~offchain.mining.linear_svm.SvmLayout`)."""
        return SvmLayout(
            feat.bounds(list(self.columns)),
            self.epochs,
            Fraction(self.learning_rate),
            Fraction(self.regularization),
        )

    @property
    def output_length(self) -> int:
        """``b``, one weight per feature, and the number of rows."""
        return self.layout.output_length

    def load_input(self, org: int) -> Table:
        """Org ``org``'s CSV, validated against the schema (file, line, column)."""
        return read_org_table(self.spec, org, self.kind, MAX_ROWS)

    def _data(self, table: Table) -> tuple[list[list[int]], list[int]]:
        if table.schema != self.spec.schema:
            raise InputError("the table's schema is not the job's")
        labels = [2 * v - 1 for v in table.columns[self.target]]  # index 0 -> -1, 1 -> +1
        return feat.rows(table, list(self.columns)), labels

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """:func:`~offchain.mining.linear_svm.secure_linear_svm` on this org's rows."""
        rows, labels = (None, None) if own is None else self._data(own)
        return secure_linear_svm(engine, self.layout, rows, labels, self.orgs)

    def expected(self, inputs: list[Table], opened: Sequence[int] | None = None) -> list[int]:
        """The plaintext algorithm on the union of the rows: equal to the MPC's outputs."""
        rows, labels = [], []
        for t in inputs:
            r, y = self._data(t)
            rows += r
            labels += y
        return plain_linear_svm(self.layout, rows, labels)

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"rows", "model": {"weights", "bias", "classes", ...}}``."""
        if len(opened) != self.output_length:
            raise InputError(
                f"linear-svm outputs: {len(opened)}; this job opens {self.output_length}"
            )
        scale = 1 << F
        model = {
            "kind": "linear-svm",
            "target": self.target,
            "classes": list(self.classes),
            "weights": {c.name: w / scale for c, w in zip(self.columns, opened[1:-1], strict=True)},
            "bias": opened[0] / scale,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "regularization": self.regularization,
            "schema": canonical(self.spec)["schema"],
        }
        return {"rows": int(opened[-1]), "model": model}
