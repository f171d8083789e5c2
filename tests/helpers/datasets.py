"""The datasets as job files, for the tests: :mod:`chainmpc.bench.datasets` (one copy, which
``chainmpc bench mining`` uses too)."""

from chainmpc.bench.datasets import (
    CATEGORICAL,
    ID3_DATA,
    NUMERIC,
    categorical_job,
    categorical_rows,
    categorical_schema,
    numeric_job,
    numeric_rows,
    numeric_schema,
    split,
    write_job,
)

__all__ = [
    "CATEGORICAL",
    "ID3_DATA",
    "NUMERIC",
    "categorical_job",
    "categorical_rows",
    "categorical_schema",
    "numeric_job",
    "numeric_rows",
    "numeric_schema",
    "split",
    "write_job",
]
