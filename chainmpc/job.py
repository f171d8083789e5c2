"""The first job: the sum and the product of one private integer per org.

Its description is hashed into the session's ``jobHash`` on-chain, so an auditor can tell what
was computed. Inputs are validated here, before anything is posted on-chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import mul
from typing import Any

from chainmpc.exceptions import InputError
from offchain.engine.core import Engine
from offchain.hazmat.field import Field
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.material import Needs
from offchain.sectypes.array import SecretArray, secret_input

INPUT_BITS = 32  # signed inputs in [-2^31, 2^31)
MAX_ORGS = 7  # the product of 7 such inputs (< 2^224) fits the BN254 field's signed range
MIN_ORGS = 2


@dataclass(frozen=True)
class SumProductJob:
    """Each of ``orgs`` orgs inputs one signed 32-bit integer; output their sum and product."""

    orgs: int
    name = "sum-product"
    output_length = 2  # [sum, product]: a session parameter, fixed when the session opens

    def __post_init__(self) -> None:
        if not MIN_ORGS <= self.orgs <= MAX_ORGS:
            raise InputError(
                f"--orgs {self.orgs}: this job needs between {MIN_ORGS} and {MAX_ORGS} orgs"
            )

    def compute(self, inputs: list[SecretArray]) -> list[SecretArray]:
        """The job itself, written as the plaintext algorithm would be: ``[sum, product]``."""
        return [sum(inputs[1:], inputs[0]), reduce(mul, inputs)]

    def program(self, engine: Engine, own: int | None = None) -> list[SecretArray]:
        """Input every org's value (``own`` at this org) and compute the outputs."""
        inputs = [
            secret_input(engine, [own] if o == engine.index and own is not None else None, o, 1)
            for o in range(self.orgs)
        ]
        return self.compute(inputs)

    def needs(self, field: Field) -> Needs:
        """Exactly the preprocessing one session of this job consumes, counted by a dry run."""
        return count_needs(self.program, self.orgs, field)

    def description(self) -> dict[str, Any]:
        """What is computed, on which schema: the document behind the on-chain job hash."""
        return {
            "job": "sum-and-product",
            "version": 1,
            "orgs": self.orgs,
            "input": {"per_org": 1, "type": f"int{INPUT_BITS}"},
            "outputs": ["sum", "product"],
        }

    def parse_inputs(self, text: str) -> list[int]:
        """Parse ``"12,-7,30"``: exactly one signed 32-bit integer per org."""
        items = [t.strip() for t in text.split(",")]
        if len(items) != self.orgs:
            raise InputError(
                f"--inputs has {len(items)} values; expected one per org ({self.orgs})"
            )
        return [self.check_input(item, k) for k, item in enumerate(items)]

    def check_input(self, item: str | int, org: int) -> int:
        """Validate one org's input; the error names the org and the value."""
        try:
            value = int(item)
        except (TypeError, ValueError):
            raise InputError(f"input of org {org + 1} ({item!r}) is not an integer") from None
        bound = 1 << (INPUT_BITS - 1)
        if not -bound <= value < bound:
            raise InputError(
                f"input of org {org + 1} ({value}) is outside the int{INPUT_BITS} range "
                f"[{-bound}, {bound - 1}]"
            )
        return value

    def expected(self, inputs: list[int]) -> list[int]:
        """The plaintext answer (for the demo, which plays every org, to check against)."""
        product = 1
        for v in inputs:
            product *= v
        return [sum(inputs), product]


JOBS = {SumProductJob.name: SumProductJob}
