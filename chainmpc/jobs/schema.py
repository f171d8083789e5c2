"""The columns every org's CSV has, as the job file's ``[schema]`` declares them.

Three types (``docs/jobs.md``, "Schema"):

* ``int`` with ``min`` and ``max`` (inclusive);
* ``fixed`` with ``min`` and ``max``: decimals, encoded as integers ``round(v * 2^FRACTION_BITS)``
  before they are shared, so sums and products of encoded values are exact integers;
* ``category`` with its ``values`` in declared order: a value is held as its index.

A :class:`Table` is one org's rows after validation: every value is an ``int`` (the integer,
the fixed-point encoding or the category index), so the MPC never sees a string or a float.
"""

from __future__ import annotations

from dataclasses import dataclass

FRACTION_BITS = 16  # fixed-point columns: resolution 2^-16, about 1.5e-5


@dataclass(frozen=True)
class Column:
    """One declared column: ``type`` is ``int``, ``fixed`` or ``category``."""

    name: str
    type: str
    min: int | float | None = None
    max: int | float | None = None
    values: tuple[str, ...] = ()

    @property
    def lo(self) -> int:
        """The smallest encoded value."""
        if self.type == "category":
            return 0
        return encode(self, self.min)

    @property
    def hi(self) -> int:
        """The largest encoded value."""
        if self.type == "category":
            return len(self.values) - 1
        return encode(self, self.max)


def encode(column: Column, value: int | float) -> int:
    """The integer a numeric value is shared as (fixed point: ``round(v * 2^16)``)."""
    if column.type == "fixed":
        return round(value * (1 << FRACTION_BITS))
    return int(value)


def decode(column: Column, encoded: int | float) -> float | int:
    """The inverse of :func:`encode` (for a fixed column, any sum of encodings too)."""
    if column.type == "fixed":
        return encoded / (1 << FRACTION_BITS)
    return encoded


@dataclass(frozen=True)
class Schema:
    """The declared columns, in declaration order."""

    columns: tuple[Column, ...]

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Table:
    """One org's validated rows: ``columns[name]`` is that column's encoded values, one per
    row, all ``int`` (see the module docstring)."""

    schema: Schema
    columns: dict[str, list[int]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()), []))
