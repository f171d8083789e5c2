"""The ``naive-bayes`` kind: a Naive Bayes model of a category column on every org's rows.

Rows are split horizontally. Each org counts its own rows in the clear; the MPC
(:mod:`offchain.mining.naive_bayes`) adds the counts (categorical) or the per-class sums and
sums of squares (gaussian) and reveals only the totals. The model is built from them in the
clear (``docs/jobs.md``, "naive-bayes"); smoothing is applied when predicting
(:mod:`chainmpc.jobs.models`) and changes nothing that is revealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS, TableKind, read_org_table
from chainmpc.jobs.schema import FRACTION_BITS, Column, Table
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.exceptions import OffchainError
from offchain.hazmat.field import Mersenne127
from offchain.mining.naive_bayes import (
    MAX_ROWS,
    VARIANTS,
    NaiveBayesLayout,
    local_counts,
    plain_naive_bayes,
    secure_naive_bayes,
)
from offchain.sectypes.array import SecretArray

NUMERIC = ("int", "fixed")
DEFAULT_VAR_SMOOTHING = 1e-9  # scikit-learn's GaussianNB default


@dataclass(frozen=True)
class NaiveBayesJob(TableKind):
    """``naive-bayes`` of ``target`` on every other column of ``spec``'s schema."""

    spec: JobSpec
    target: str
    variant: str = "categorical"
    smoothing: float = 1.0
    var_smoothing: float = DEFAULT_VAR_SMOOTHING

    kind: ClassVar[str] = "naive-bayes"
    summary: ClassVar[str] = (
        "Naive Bayes of a category column: only the counts (categorical) or the per-class "
        "means and variances (gaussian) are revealed"
    )
    parameters: ClassVar[dict[str, str]] = {
        "target": "the class column, a declared category (required)",
        "variant": '"categorical" (category attributes) or "gaussian" (int/fixed attributes); '
        'default "categorical"',
        "smoothing": "Laplace alpha >= 0, categorical only, applied when predicting (default 1)",
        "var_smoothing": "gaussian only: var_smoothing x the largest attribute variance is "
        "added to every variance when predicting, as scikit-learn does (default 1e-9)",
    }

    @classmethod
    def from_spec(cls, spec: JobSpec) -> NaiveBayesJob:
        """Validate ``spec.params`` against the schema; :class:`InputError` names the key."""
        p = dict(spec.params)
        unknown = sorted(set(p) - set(cls.parameters))
        if unknown:
            raise InputError(
                f"params.{unknown[0]}: not a parameter of kind naive-bayes "
                f"(known: {', '.join(cls.parameters)})"
            )
        target = p.get("target")
        if target is None:
            raise InputError("params.target: required (the class column, a category)")
        if not isinstance(target, str) or target not in spec.schema.names:
            raise InputError(f"params.target: {target!r} is not a declared column")
        if spec.schema[target].type != "category":
            raise InputError(
                f"params.target: {target!r} is a {spec.schema[target].type} column, not a category"
            )
        variant = p.get("variant", "categorical")
        if variant not in VARIANTS:
            raise InputError(f"params.variant: {variant!r}; one of {', '.join(VARIANTS)}")
        other = "var_smoothing" if variant == "categorical" else "smoothing"
        if other in p:
            raise InputError(f"params.{other}: not a parameter of variant {variant}")
        smoothing = _number(p, "smoothing", 1.0)
        var_smoothing = _number(p, "var_smoothing", DEFAULT_VAR_SMOOTHING)
        want = ("category",) if variant == "categorical" else NUMERIC
        for c in spec.schema.columns:
            if c.name != target and c.type not in want:
                raise InputError(
                    f"schema.columns.{c.name}: a {c.type} column; naive-bayes variant "
                    f"{variant} takes {' or '.join(want)} attributes"
                )
        job = cls(spec, target, variant, smoothing, var_smoothing)
        if job.orgs < 2:
            raise InputError(f"orgs: naive-bayes needs at least 2 orgs, the job names {job.orgs}")
        try:
            length = job.output_length
            job.needs(Mersenne127())
        except (ValueError, OffchainError) as exc:
            raise InputError(f"schema: the declared bounds are too wide ({exc})") from None
        if length > MAX_OUTPUTS:
            raise InputError(
                f"schema: naive-bayes on these columns reveals {job.layout.size} totals, packed "
                f"into {length} values; a session reveals at most {MAX_OUTPUTS}"
            )
        return job

    # -- the Job protocol ----------------------------------------------------------------

    @property
    def classes(self) -> tuple[str, ...]:
        """The target's values, in declared order (ties go to the first)."""
        return self.spec.schema[self.target].values

    @property
    def attributes(self) -> list[Column]:
        """Every column but the target, in declared order."""
        return [c for c in self.spec.schema.columns if c.name != self.target]

    @property
    def layout(self) -> NaiveBayesLayout:
        """The public shape of the counting (:class:`~offchain.mining.naive_bayes.
        NaiveBayesLayout`)."""
        if self.variant == "categorical":
            sizes = tuple(len(c.values) for c in self.attributes)
            return NaiveBayesLayout("categorical", len(self.classes), categories=sizes)
        bounds = tuple((c.lo, c.hi) for c in self.attributes)
        return NaiveBayesLayout("gaussian", len(self.classes), numeric=bounds)

    @property
    def output_length(self) -> int:
        """Field elements revealed: the totals, packed (``docs/jobs.md``)."""
        return self.layout.output_length(self.orgs)

    def load_input(self, org: int) -> Table:
        """Org ``org``'s CSV, read and validated against the schema (file, line, column)."""
        return read_org_table(self.spec, org, self.kind, MAX_ROWS)

    def aggregate(self, table: Table) -> tuple[int, ...]:
        """This org's counts (and sums), in the clear."""
        if table.schema != self.spec.schema:
            raise InputError("the table's schema is not the job's")
        return local_counts(
            self.layout,
            table.columns[self.target],
            [table.columns[c.name] for c in self.attributes],
        )

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """Count ``own`` locally and run :func:`~offchain.mining.naive_bayes.secure_naive_bayes`."""
        mine = None if own is None else self.aggregate(own)
        return secure_naive_bayes(engine, self.layout, mine, self.orgs)

    def expected(self, inputs: list[Table], opened: Sequence[int] | None = None) -> list[int]:
        """The packed outputs, from the plaintext totals of the union of every org's rows."""
        target = [v for t in inputs for v in t.columns[self.target]]
        columns = [[v for t in inputs for v in t.columns[c.name]] for c in self.attributes]
        totals = plain_naive_bayes(self.layout, target, columns)
        return pack(self.layout, totals, self.orgs)

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"rows", "model": {...}}`` (``docs/jobs.md``, "naive-bayes")."""
        try:
            totals = self.layout.unpack(opened, self.orgs)
        except ValueError as exc:
            raise InputError(f"naive-bayes outputs: {exc}") from None
        k, classes = len(self.classes), self.classes
        counts = totals[:k]
        model: dict[str, Any] = {
            "variant": self.variant,
            "target": self.target,
            "classes": list(classes),
            "class_counts": dict(zip(classes, counts, strict=True)),
        }
        rest = iter(totals[k:])
        if self.variant == "categorical":
            model["counts"] = {
                c.name: {v: {cls: next(rest) for cls in classes} for v in c.values}
                for c in self.attributes
            }
            model["smoothing"] = self.smoothing
        else:
            model["mean"], model["variance"] = {}, {}
            for c in self.attributes:
                sums = [next(rest) for _ in range(k)]
                squares = [next(rest) for _ in range(k)]
                moments = [
                    _moments(c, n, s, q) for n, s, q in zip(counts, sums, squares, strict=True)
                ]
                model["mean"][c.name] = dict(zip(classes, (m for m, _ in moments), strict=True))
                model["variance"][c.name] = dict(zip(classes, (v for _, v in moments), strict=True))
            model["var_smoothing"] = self.var_smoothing
        model["schema"] = canonical(self.spec)["schema"]  # what `predict` checks rows against
        return {"rows": sum(counts), "model": model}


def pack(layout: NaiveBayesLayout, totals: list[int], orgs: int) -> list[int]:
    """The opened elements :func:`~offchain.mining.naive_bayes.secure_naive_bayes` packs
    ``totals`` into (the inverse of :meth:`NaiveBayesLayout.unpack`)."""
    out = [0] * layout.output_length(orgs)
    for t, (lo, _), (element, offset, _) in zip(
        totals, layout.ranges(), layout.slots(orgs), strict=True
    ):
        out[element] += (t - orgs * lo) << offset
    return out


def _moments(c: Column, n: int, total: int, squares: int) -> tuple[float | None, float | None]:
    """Mean and population variance (divisor n, as Gaussian Naive Bayes fits them) from the
    exact totals of the encodings: exact rationals, scaled and rounded once."""
    if n == 0:
        return None, None
    scale = 1 << (FRACTION_BITS if c.type == "fixed" else 0)
    mean = Fraction(total, n * scale)
    var = Fraction(n * squares - total * total, n * n * scale * scale)
    return float(mean), float(var)


def _number(params: dict[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InputError(f"params.{key}: a number >= 0")
    return float(value)
