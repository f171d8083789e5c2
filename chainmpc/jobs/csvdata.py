"""One org's CSV read against the job's schema: :func:`read_table`.

The whole file is read and checked before anything goes on-chain; the first problem is an
:class:`~chainmpc.exceptions.InputError` naming the file, the line and the column. It never
quotes the cell: even a mistyped value is an org's data, and the line and column find it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from chainmpc.exceptions import InputError
from chainmpc.jobs.schema import Column, Schema, Table, encode


def read_table(path: Path | str, schema: Schema) -> Table:
    """Read ``path`` (a header row, then one row per record) into a validated :class:`Table`.

    Every declared column must be in the header, once, and no other; every cell non-empty;
    ``int`` cells integers and ``fixed`` cells decimals within ``[min, max]``; ``category``
    cells one of the declared values. At least one row."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError(
            f"{path}: line 1: empty file (a header row naming the columns is required)"
        )
    header = [h.strip() for h in rows[0]]
    for h in header:
        if header.count(h) > 1:
            raise InputError(f"{path}: line 1, column {h!r}: appears twice in the header")
    for name in schema.names:
        if name not in header:
            raise InputError(
                f"{path}: line 1, column {name!r}: missing from the header "
                f"(it has {', '.join(header)})"
            )
    for h in header:
        if h not in schema.names:
            raise InputError(
                f"{path}: line 1, column {h!r}: not in the job's schema "
                f"(expected {', '.join(schema.names)})"
            )
    index = {h: i for i, h in enumerate(header)}
    columns: dict[str, list[int]] = {name: [] for name in schema.names}
    records = 0
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line (a trailing newline, a spreadsheet's empty row)
        if len(row) != len(header):
            raise InputError(f"{path}: line {line}: {len(row)} cells; the header has {len(header)}")
        for column in schema.columns:
            cell = row[index[column.name]].strip()
            columns[column.name].append(_value(column, cell, f"{path}: line {line}"))
        records += 1
    if not records:
        raise InputError(f"{path}: line 2: no rows after the header (empty file)")
    return Table(schema, columns)


def _value(column: Column, cell: str, where: str) -> int:
    """The encoded value of one cell, or the error naming its line and column."""
    at = f"{where}, column {column.name!r}"
    if not cell:
        raise InputError(f"{at}: empty cell (a value is required)")
    if column.type == "category":
        if cell not in column.values:
            raise InputError(
                f"{at}: not a category of this column (expected one of {', '.join(column.values)})"
            )
        return column.values.index(cell)
    number: int | float
    try:
        number = int(cell) if column.type == "int" else float(cell)
    except ValueError:
        want = "an integer" if column.type == "int" else "a number"
        raise InputError(f"{at}: not {want}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InputError(f"{at}: not a finite number")
    if not column.min <= number <= column.max:
        raise InputError(f"{at}: a value outside the declared range [{column.min}, {column.max}]")
    return encode(column, number)
