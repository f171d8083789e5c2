"""The ``sum-product`` kind: the sum and the product of one private integer per org.

Each org's CSV holds one row of one ``int`` column (within int32); the session reveals
``[sum, product]`` and nothing else. ``chainmpc demo`` runs this kind with in-memory inputs
(:meth:`SumProductJob.in_memory`), through the same path as ``chainmpc run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import mul
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec, param_error
from chainmpc.jobs.csvdata import read_table
from chainmpc.jobs.schema import Column, Schema
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.hazmat.field import Field
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.material import Needs
from offchain.sectypes.array import SecretArray, secret_input

INPUT_BITS = 32  # signed inputs in [-2^31, 2^31)
MAX_ORGS = 7  # the product of 7 such inputs (< 2^224) fits the BN254 field's signed range
MIN_ORGS = 2
_BOUND = 1 << (INPUT_BITS - 1)


@dataclass(frozen=True)
class SumProductJob:
    """Each org inputs one signed 32-bit integer; the session outputs their sum and product.

    ``values`` holds every org's input when they are given in memory (the demo); otherwise
    :meth:`load_input` reads each org's CSV named in the job file."""

    spec: JobSpec
    values: tuple[int, ...] | None = None

    kind: ClassVar[str] = "sum-product"
    summary: ClassVar[str] = "the sum and the product of one int32 per org (one row, one column)"
    parameters: ClassVar[dict[str, str]] = {}
    output_length: ClassVar[int] = 2  # [sum, product]: a session parameter, fixed at open

    @classmethod
    def from_spec(cls, spec: JobSpec) -> SumProductJob:
        """Validate ``spec`` for this kind: no parameters, one ``int`` column within int32,
        2 to 7 orgs."""
        where = spec.source or "job"
        for key in spec.params:
            raise param_error(spec, key, cls)
        if not MIN_ORGS <= len(spec.orgs) <= MAX_ORGS:
            raise InputError(
                f"{where}: orgs: {len(spec.orgs)} orgs; this job needs between {MIN_ORGS} and "
                f"{MAX_ORGS} orgs"
            )
        cols = spec.schema.columns
        if len(cols) != 1 or cols[0].type != "int":
            raise InputError(f"{where}: schema.columns: {cls.kind} takes exactly one int column")
        if not -_BOUND <= cols[0].min <= cols[0].max < _BOUND:
            raise InputError(
                f"{where}: schema.columns.{cols[0].name}: min and max must be within int32 "
                f"[{-_BOUND}, {_BOUND - 1}]"
            )
        return cls(spec)

    @classmethod
    def in_memory(cls, values: list[int], name: str = "demo") -> SumProductJob:
        """The demo's job: orgs ``org1..orgN``, one int32 each, given in memory."""
        spec = JobSpec(
            name,
            cls.kind,
            {},
            Schema((Column("value", "int", min=-_BOUND, max=_BOUND - 1),)),
            tuple(f"org{k + 1}" for k in range(len(values))),
        )
        job = cls.from_spec(spec)
        checked = tuple(check_value(v, k) for k, v in enumerate(values))
        return cls(job.spec, checked)

    @property
    def orgs(self) -> int:
        """How many orgs take part."""
        return len(self.spec.orgs)

    def description(self) -> dict[str, Any]:
        """The canonical form of the job file (:func:`chainmpc.jobs.spec.canonical`)."""
        return canonical(self.spec)

    def load_input(self, org: int) -> int:
        """Org ``org``'s value: from memory, or the one row of its CSV."""
        if self.values is not None:
            return self.values[org]
        path = self.spec.data[org] if org < len(self.spec.data) else None
        if path is None:
            where = self.spec.source or "job"
            raise InputError(f"{where}: orgs.{self.spec.orgs[org]}.data: missing (no CSV)")
        table = read_table(path, self.spec.schema)
        if table.rows != 1:
            raise InputError(
                f"{path}: line {table.rows + 1}: {table.rows} rows; {self.kind} takes exactly "
                "one row per org"
            )
        (column,) = table.columns.values()
        return column[0]

    def compute(self, inputs: list[SecretArray]) -> list[SecretArray]:
        """The job itself, written as the plaintext algorithm would be: ``[sum, product]``."""
        return [sum(inputs[1:], inputs[0]), reduce(mul, inputs)]

    def program(self, engine: Engine, own: int | None = None) -> list[SecretArray]:
        """Input every org's value (``own`` at this org) and compute the outputs.

        Rounds: 5 (bounded input, all orgs at once) + ``orgs - 1`` multiplications; openings:
        the input masks and one per multiplication; preprocessing: ``32`` masks and checked
        triples per org for the bounded input, ``orgs - 1`` triples for the product."""
        inputs = [
            secret_input(engine, [own] if o == engine.index and own is not None else None, o, 1)
            for o in range(self.orgs)
        ]
        return self.compute(inputs)

    def needs(self, field: Field) -> Needs:
        """Exactly the preprocessing one session of this job consumes, counted by a dry run."""
        return count_needs(self.program, self.orgs, field)

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"sum": s, "product": p}`` from the opened ``[sum, product]``."""
        return {"sum": opened[0], "product": opened[1]}

    def expected(self, inputs: list[int], opened: Sequence[int] | None = None) -> list[int]:
        """The plaintext answer (for runs that hold every input, to check against)."""
        return [sum(inputs), reduce(mul, inputs, 1)]


def check_value(item: str | int, org: int) -> int:
    """One org's in-memory input as an int32; the error names the org and the value (typed on
    the command line by whoever runs every org)."""
    try:
        value = int(item)
    except (TypeError, ValueError):
        raise InputError(f"input of org {org + 1} ({item!r}) is not an integer") from None
    if not -_BOUND <= value < _BOUND:
        raise InputError(
            f"input of org {org + 1} ({value}) is outside the int{INPUT_BITS} range "
            f"[{-_BOUND}, {_BOUND - 1}]"
        )
    return value
