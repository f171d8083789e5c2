"""Job files: what a user writes is read as they meant it, every mistake is one error naming
the file and the key, and the job hash is the documented canonical form's (docs/jobs.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_utils import keccak

from chainmpc.exceptions import InputError
from chainmpc.jobs.registry import KINDS, job_from_spec, load_job
from chainmpc.jobs.spec import FORMAT, canonical, load_spec, spec_hash

EXAMPLES = Path(__file__).parents[3] / "examples"

JOB = """\
[job]
name = "cohort"
kind = "sum-product"
[schema]
columns.value = { type = "int", min = -5, max = 50 }
[orgs.a]
data = "a.csv"
[orgs.b]
data = "sub/b.csv"
"""


def write(tmp_path: Path, text: str, name: str = "job.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_job_file_reads_as_written(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, JOB))
    assert (spec.name, spec.kind, spec.orgs) == ("cohort", "sum-product", ("a", "b"))
    assert spec.schema.names == ["value"] and (
        spec.schema["value"].min,
        spec.schema["value"].max,
    ) == (-5, 50)
    assert spec.data == (tmp_path / "a.csv", tmp_path / "sub" / "b.csv")  # relative to the file


def test_the_stats_example_parses_with_its_schema() -> None:
    spec = load_spec(EXAMPLES / "stats.toml")
    assert spec.schema.names == ["age", "bmi", "sex", "outcome"]  # declared order
    assert spec.schema["sex"].values == ("f", "m") and spec.schema["bmi"].type == "fixed"
    assert spec.params == {"contingency": [["sex", "outcome"]]}


def test_the_job_hash_is_keccak_of_the_documented_canonical_json(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, JOB))
    by_hand = {
        "format": FORMAT,
        "name": "cohort",
        "kind": "sum-product",
        "params": {},
        "schema": [{"name": "value", "type": "int", "min": -5, "max": 50}],
        "orgs": ["a", "b"],
    }
    assert canonical(spec) == by_hand
    text = json.dumps(by_hand, sort_keys=True, separators=(",", ":"))
    assert spec_hash(spec) == keccak(text.encode())


def test_data_paths_are_not_in_the_hash_but_everything_else_is(tmp_path: Path) -> None:
    base = spec_hash(load_spec(write(tmp_path, JOB)))
    moved = JOB.replace('"a.csv"', '"elsewhere/x.csv"')
    assert spec_hash(load_spec(write(tmp_path, moved, "moved.toml"))) == base
    for changed in (
        JOB.replace('"cohort"', '"cohort2"'),
        JOB.replace("max = 50", "max = 51"),
        JOB.replace("[orgs.b]", "[orgs.c]"),
        JOB.replace(
            '[orgs.a]\ndata = "a.csv"\n[orgs.b]\ndata = "sub/b.csv"',
            '[orgs.b]\ndata = "sub/b.csv"\n[orgs.a]\ndata = "a.csv"',
        ),  # order
    ):
        assert changed != JOB
        assert spec_hash(load_spec(write(tmp_path, changed, "changed.toml"))) != base


def test_fixed_bounds_hash_the_same_written_as_int_or_float(tmp_path: Path) -> None:
    as_float = load_spec(EXAMPLES / "stats.toml")
    text = (EXAMPLES / "stats.toml").read_text().replace("min = 10.0", "min = 10")
    assert spec_hash(load_spec(write(tmp_path, text))) == spec_hash(as_float)


def test_the_canonical_json_is_a_job_file_too(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, JOB))
    path = write(tmp_path, json.dumps(canonical(spec)), "job.json")
    again = load_spec(path)
    assert spec_hash(again) == spec_hash(spec) and again.data == (None, None)
    edited = {**canonical(spec), "extra": 1}
    with pytest.raises(InputError, match="not in canonical form"):
        load_spec(write(tmp_path, json.dumps(edited), "edited.json"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[job]", "[job", "job.toml: not a TOML job file: .*line 1"),
        ('kind = "sum-product"', "", "job.toml: job.kind: missing"),
        ('name = "cohort"', 'name = "cohort"\ncolour = "red"', "job.toml: job.colour: unknown key"),
        ('name = "cohort"', "name = 3", "job.toml: job.name: expected a non-empty string"),
        ("[schema]", "[schemas]\n[schema]", "job.toml: schemas: unknown key"),
        (
            "min = -5, max = 50",
            "min = 5, max = 3",
            r"job.toml: schema.columns.value: min 5 > max 3",
        ),
        ("min = -5", 'min = "low"', "job.toml: schema.columns.value.min: 'low' is not an integer"),
        ("min = -5, max = 50", "min = 1", "job.toml: schema.columns.value.max: missing"),
        ('type = "int"', 'type = "text"', "job.toml: schema.columns.value.type: 'text' is not one"),
        ("min = -5", "min = -5, step = 1", "job.toml: schema.columns.value.step: unknown key"),
        ('[orgs.a]\ndata = "a.csv"\n[orgs.b]\ndata = "sub/b.csv"\n', "", "job.toml: orgs: missing"),
        ("[orgs.a]", '[orgs."a b"]', "job.toml: orgs.a b: org names are"),
        ('data = "a.csv"', "data = 1", "job.toml: orgs.a.data: expected a non-empty string"),
    ],
)
def test_a_bad_job_file_names_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in JOB
    with pytest.raises(InputError, match=message) as info:
        load_spec(write(tmp_path, JOB.replace(old, new, 1)))
    assert "\n" not in str(info.value)


def test_category_values_must_be_distinct_strings(tmp_path: Path) -> None:
    text = JOB.replace(
        '{ type = "int", min = -5, max = 50 }', '{ type = "category", values = ["f", "f"] }'
    )
    with pytest.raises(InputError, match="schema.columns.value.values: a value is listed twice"):
        load_spec(write(tmp_path, text))


def test_an_unknown_kind_names_job_kind_and_lists_the_known_ones(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, JOB.replace('"sum-product"', '"regression"')))
    with pytest.raises(InputError, match="job.toml: job.kind: unknown kind 'regression'") as info:
        job_from_spec(spec)
    assert all(k in str(info.value) for k in KINDS)


def test_an_unknown_parameter_names_params_key(tmp_path: Path) -> None:
    path = write(tmp_path, JOB.replace("[schema]", "[params]\nrounds = 3\n[schema]"))
    with pytest.raises(
        InputError, match="job.toml: params.rounds: unknown parameter of 'sum-product'"
    ):
        load_job(path)


def test_sum_product_refuses_a_schema_it_cannot_compute(tmp_path: Path) -> None:
    wide = write(tmp_path, JOB.replace("max = 50", "max = 4294967296"))
    with pytest.raises(InputError, match="schema.columns.value: min and max must be within int32"):
        load_job(wide)
    one = write(tmp_path, JOB.replace('[orgs.b]\ndata = "sub/b.csv"\n', ""), "one.toml")
    with pytest.raises(InputError, match="orgs: 1 orgs; this job needs between 2 and 7"):
        load_job(one)


def test_every_kind_documents_its_parameters() -> None:
    for name, kind in KINDS.items():
        assert kind.kind == name and kind.summary
        assert all(isinstance(text, str) and text for text in kind.parameters.values())


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_each_kind_hashes_its_canonical_form(example: Path) -> None:
    """The launcher, the peers, the service and the auditor hash ``job.description()``: for
    every kind it must be the documented canonical form of the job file."""
    spec = load_spec(example)
    if spec.kind not in KINDS:
        pytest.skip(f"kind {spec.kind!r} is not registered")
    job = job_from_spec(spec)
    assert job.description() == canonical(spec) and job.spec == spec
    assert all(job.load_input(k) is not None for k in range(job.orgs))  # its CSVs are valid
