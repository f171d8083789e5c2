"""Each org's CSV against the job's schema: the values a user wrote, or one error naming
file, line and column; an error never repeats a valid (private) value."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainmpc.exceptions import InputError
from chainmpc.jobs.csvdata import read_table
from chainmpc.jobs.schema import FRACTION_BITS, Column, Schema

SCHEMA = Schema(
    (
        Column("age", "int", min=0, max=120),
        Column("bmi", "fixed", min=10.0, max=60.0),
        Column("sex", "category", values=("f", "m")),
    )
)
GOOD = "age,bmi,sex\n34,22.5,f\n51,27.25,m\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "a.csv"
    path.write_text(text)
    return path


def test_a_csv_reads_as_encoded_columns(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, GOOD), SCHEMA)
    assert table.rows == 2
    assert table.columns["age"] == [34, 51]
    assert table.columns["bmi"] == [round(22.5 * 2**FRACTION_BITS), round(27.25 * 2**FRACTION_BITS)]
    assert table.columns["sex"] == [0, 1]  # category indices in declared order


def test_column_order_and_blank_lines_do_not_matter(tmp_path: Path) -> None:
    shuffled = "sex,age,bmi\nf,34,22.5\n\nm,51,27.25\n\n"
    assert read_table(write(tmp_path, shuffled), SCHEMA) == read_table(
        write(tmp_path, GOOD), SCHEMA
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age,bmi\n34,22.5\n", "a.csv: line 1, column 'sex': missing from the header"),
        (
            "age,bmi,sex,zip\n34,22.5,f,1000\n",
            "a.csv: line 1, column 'zip': not in the job's schema",
        ),
        ("age,bmi,sex\n34,22.5,x\n", "a.csv: line 2, column 'sex': not a category"),
        ("age,bmi,sex\n34,22.5,f\n121,22.5,f\n", "a.csv: line 3, column 'age': a value outside"),
        (
            "age,bmi,sex\n34,9.5,f\n",
            "a.csv: line 2, column 'bmi': a value outside the declared range",
        ),
        ("age,bmi,sex\n3x,22.5,f\n", "a.csv: line 2, column 'age': not an integer"),
        ("age,bmi,sex\n34,fat,f\n", "a.csv: line 2, column 'bmi': not a number"),
        ("age,bmi,sex\n34,nan,f\n", "a.csv: line 2, column 'bmi': not a finite number"),
        ("", "a.csv: line 1: empty file"),
        ("age,bmi,sex\n", "a.csv: line 2: no rows after the header"),
        ("age,bmi,sex\n34,,f\n", "a.csv: line 2, column 'bmi': empty cell"),
        ("age,bmi,sex\n34,22.5\n", "a.csv: line 2: 2 cells; the header has 3"),
        ("age,age,sex\n1,2,f\n", "a.csv: line 1, column 'age': appears twice"),
    ],
)
def test_bad_data_names_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        read_table(write(tmp_path, text), SCHEMA)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("row", ["121,22.5,f", "12x1,22.5,f", "34,22.5,female1"])
def test_an_error_never_repeats_the_cell(tmp_path: Path, row: str) -> None:
    with pytest.raises(InputError) as info:
        read_table(write(tmp_path, f"age,bmi,sex\n{row}\n"), SCHEMA)
    assert all(cell not in str(info.value) for cell in ("121", "12x1", "female1"))


def test_a_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.csv: cannot read"):
        read_table(tmp_path / "missing.csv", SCHEMA)
