"""The ``stats`` kind on real data: scikit-learn's diabetes and iris data split unevenly across
orgs, computed by the MPC on real engines, equal numpy/scipy on the concatenated rows (counts
and integer sums exactly, fixed-point columns within the bound of ``docs/jobs.md``)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2, chi2_contingency
from sklearn.datasets import load_diabetes, load_iris

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.schema import FRACTION_BITS, Column, Schema, Table, encode
from chainmpc.jobs.stats import MAX_OUTPUTS, StatsJob, chi2_sf, chi_squared
from offchain.engine.core import Engine
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties

ROOT = Path(__file__).resolve().parents[3]
DELTA = 2.0 ** -(FRACTION_BITS + 1)  # the largest rounding error of one fixed-point encoding


def spec(columns: list[Column], orgs: int, **params) -> JobSpec:  # type: ignore[no-untyped-def]
    names = tuple(f"org-{k}" for k in range(orgs))
    return JobSpec("test", "stats", params, Schema(tuple(columns)), names)


def split(schema: Schema, raw: dict[str, list], cuts: list[int]) -> list[Table]:
    """Rows ``cuts[k]:cuts[k+1]`` to org ``k``, encoded as the CSV reader would."""

    def enc(c: Column, v: object) -> int:
        return c.values.index(v) if c.type == "category" else encode(c, v)  # type: ignore[arg-type]

    return [
        Table(schema, {c.name: [enc(c, v) for v in raw[c.name][a:b]] for c in schema.columns})
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]


def run_job(job: StatsJob, tables: list[Table]) -> dict:
    needs = job.needs(M127)

    def org(e: Engine):
        assert e.sacrifice(needs.checked_triples, 5) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        outputs = job.program(e, tables[e.index])
        chain_checkpoint(e)
        return [v for out in reveal(*outputs) for v in out]

    opened = run_parties(Dealer(M127, job.orgs).deal(1, needs), org)
    assert opened == [job.expected(tables)] * job.orgs
    return job.result(opened[0])


def check_numeric(got: dict, values: np.ndarray, fixed: bool) -> None:
    n = len(values)
    err = DELTA if fixed else 0.0
    s = values.std(ddof=1)
    var_bound = 2 * DELTA * s * math.sqrt(n / (n - 1)) + DELTA**2 * n / (n - 1) if fixed else 0
    assert got["count"] == n
    if fixed:
        assert abs(got["sum"] - values.sum()) <= n * DELTA + 1e-9
    else:
        assert got["sum"] == int(values.sum())  # exactly
    assert abs(got["mean"] - values.mean()) <= err + 1e-12 * abs(values.mean())
    assert abs(got["variance"] - values.var(ddof=1)) <= var_bound + 1e-12 * values.var(ddof=1)
    assert abs(got["min"] - values.min()) <= err and abs(got["max"] - values.max()) <= err


DIABETES_COLUMNS = [
    Column("age", "int", 0, 120),
    Column("sex", "category", values=("1", "2")),
    Column("bmi", "fixed", 10.0, 60.0),
    Column("bp", "fixed", 40.0, 200.0),
    Column("s1", "int", 0, 400),
    Column("s2", "fixed", 0.0, 400.0),
    Column("s3", "fixed", 0.0, 200.0),
    Column("s4", "fixed", 0.0, 20.0),
    Column("s5", "fixed", 0.0, 10.0),
    Column("s6", "int", 0, 200),
    Column("target", "int", 0, 400),
    Column("outcome", "category", values=("no", "yes")),
]


def test_diabetes_split_across_three_orgs_equals_numpy_and_scipy() -> None:
    data = load_diabetes(scaled=False)
    raw: dict[str, list] = {}
    for k, name in enumerate(data.feature_names):
        col = data.data[:, k]
        raw[name] = [str(int(v)) for v in col] if name == "sex" else col.tolist()
    for name in ("age", "s1", "s6"):
        raw[name] = [int(v) for v in raw[name]]
    raw["target"] = [int(v) for v in data.target]
    raw["outcome"] = ["yes" if t > 140 else "no" for t in data.target]
    job = StatsJob.from_spec(spec(DIABETES_COLUMNS, 3, contingency=[["sex", "outcome"]]))
    assert job.output_length == 1 + 4 * 10 + 2 + 2 + 4
    result = run_job(job, split(job.spec.schema, raw, [0, 203, 351, 442]))  # 203, 148, 91 rows

    assert result["rows"] == 442
    for c in DIABETES_COLUMNS:
        if c.type != "category":
            check_numeric(result["columns"][c.name], np.array(raw[c.name]), c.type == "fixed")
    assert result["columns"]["sex"] == {"counts": {"1": 235, "2": 207}}
    yes = int((data.target > 140).sum())
    assert result["columns"]["outcome"] == {"counts": {"no": 442 - yes, "yes": yes}}

    (table,) = result["contingency"]
    sex = np.array(raw["sex"])
    outcome = np.array(raw["outcome"])
    cells = [[int(((sex == a) & (outcome == b)).sum()) for b in ("no", "yes")] for a in ("1", "2")]
    assert table["table"] == {"1": dict(zip(("no", "yes"), cells[0], strict=True)),
                              "2": dict(zip(("no", "yes"), cells[1], strict=True))}  # fmt: skip
    stat, p, dof, _ = chi2_contingency(cells, correction=False)
    assert (table["rows"], table["columns"], table["dof"]) == ("sex", "outcome", dof)
    assert table["chi2"] == pytest.approx(stat, rel=1e-12)
    assert table["p_value"] == pytest.approx(p, rel=1e-9)


def test_iris_split_across_two_orgs_with_a_three_by_two_table() -> None:
    data = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    columns = [Column(n, "fixed", 0.0, 10.0) for n in names]
    columns += [
        Column("species", "category", values=tuple(data.target_names)),
        Column("wide", "category", values=("no", "yes")),
    ]
    raw: dict[str, list] = {n: data.data[:, k].tolist() for k, n in enumerate(names)}
    raw["species"] = [data.target_names[t] for t in data.target]
    raw["wide"] = ["yes" if w > 3.0 else "no" for w in raw["sepal_width"]]
    job = StatsJob.from_spec(spec(columns, 2, contingency=[["species", "wide"]]))
    result = run_job(job, split(job.spec.schema, raw, [0, 97, 150]))
    for n in names:
        check_numeric(result["columns"][n], np.array(raw[n]), fixed=True)
    assert result["columns"]["species"]["counts"] == dict.fromkeys(data.target_names, 50)
    (table,) = result["contingency"]
    cells = [list(row.values()) for row in table["table"].values()]
    stat, p, dof, _ = chi2_contingency(cells, correction=False)
    assert dof == 2 and table["dof"] == dof
    assert table["chi2"] == pytest.approx(stat, rel=1e-12)
    assert table["p_value"] == pytest.approx(p, rel=1e-9)


EXAMPLE = [  # examples/stats.toml's schema
    Column("age", "int", 0, 120),
    Column("bmi", "fixed", 10.0, 60.0),
    Column("sex", "category", values=("f", "m")),
    Column("outcome", "category", values=("no", "yes")),
]


def test_the_example_job_is_accepted_and_describes_what_it_reveals() -> None:
    job = StatsJob.from_spec(spec(EXAMPLE, 3, contingency=[["sex", "outcome"]]))
    assert job.output_length == 1 + 8 + 4 + 4
    doc = job.description()
    assert doc["kind"] == "stats" and doc["params"] == {"contingency": [["sex", "outcome"]]}
    assert "data" not in str(doc)  # data paths are not part of the job hash
    assert StatsJob.from_spec(spec(EXAMPLE, 3)).output_length == 13  # contingency is optional


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"contingencies": []}, "params.contingencies: not a parameter of kind stats"),
        ({"contingency": "sex,outcome"}, "params.contingency: a list of"),
        ({"contingency": [["sex"]]}, r"params.contingency\[0\]: a pair"),
        ({"contingency": [["sex", "age"]]}, r"params.contingency\[0\]: 'age' is a int column"),
        ({"contingency": [["sex", "smoker"]]}, r"'smoker' is not a declared column"),
        ({"contingency": [["sex", "sex"]]}, "a column against itself"),
        ({"contingency": [["sex", "outcome"]] * 2}, "a pair is listed twice"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        StatsJob.from_spec(spec(EXAMPLE, 3, **params))


def test_a_schema_revealing_more_than_the_contract_accepts_is_refused_with_the_count() -> None:
    columns = [Column(f"x{k}", "int", 0, 9) for k in range(16)]  # 1 + 64 outputs
    with pytest.raises(InputError, match="reveals 65 values .* at most 64"):
        StatsJob.from_spec(spec(columns, 3))
    StatsJob.from_spec(spec(columns[:15], 3))  # 61: fits


def test_a_single_org_is_refused() -> None:
    with pytest.raises(InputError, match="orgs: stats needs at least 2 orgs"):
        StatsJob.from_spec(spec(EXAMPLE, 1))


def test_max_outputs_is_the_contracts() -> None:
    source = (ROOT / "contracts" / "SessionManager.sol").read_text()
    (declared,) = re.findall(r"uint32 public constant MAX_OUTPUTS = (\d+);", source)
    assert int(declared) == MAX_OUTPUTS


def test_bounds_too_wide_for_the_field_are_refused() -> None:
    with pytest.raises(InputError, match="schema.columns.x: bounds too wide: .* needs 131 bits"):
        StatsJob.from_spec(spec([Column("x", "int", 0, 2**52)], 3))


def test_chi_squared_and_p_value_match_scipy_on_small_tables() -> None:
    for cells in ([[10, 20, 30], [6, 9, 17]], [[5, 0], [0, 5]], [[1, 2], [3, 4], [5, 60]]):
        stat, p, dof, _ = chi2_contingency(cells, correction=False)
        assert chi_squared(cells) == (pytest.approx(stat, rel=1e-12), dof)
        assert chi2_sf(stat, dof) == pytest.approx(p, rel=1e-9)
    assert chi_squared([[3, 0], [4, 0]]) == (0.0, 0)  # one non-empty column: no statistic
    for dof in range(1, 12):
        assert chi2_sf(7.5, dof) == pytest.approx(chi2.sf(7.5, dof), rel=1e-12)


def test_load_input_reads_the_orgs_csv_through_the_reader_and_checks_its_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = Schema(tuple(EXAMPLE))
    (tmp_path / "a.csv").write_text("age,bmi,sex,outcome\n1,20,f,no\n2,30,m,yes\n3,40,f,yes\n")
    paths = (tmp_path / "a.csv", None)
    job = StatsJob.from_spec(replace(spec(EXAMPLE, 2), data=paths))
    assert job.load_input(0).columns["age"] == [1, 2, 3]
    with pytest.raises(InputError, match="orgs.org-1.data: no data file"):
        job.load_input(1)
    monkeypatch.setattr("chainmpc.jobs.stats.MAX_ROWS", 2)
    with pytest.raises(InputError, match=r"a.csv: 3 rows; stats takes at most 2 per org"):
        job.load_input(0)
    other = Schema((Column("age", "int", 0, 99),))
    with pytest.raises(InputError, match="the table's schema is not the job's"):
        job.check_table(Table(other, {"age": [1]}), "b.csv")
    assert schema == job.spec.schema
