"""The ``random-forest`` kind: the seed is drawn jointly (no org chooses it, a tampered opening
of it is caught), every tree equals the plaintext tree grown from that seed on the union of the
rows (bootstrap within each org), the preprocessing counted before the seed exists covers
whatever subsets it picks, and the recorded forest classifies by majority vote, end to end
through ``chainmpc run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from chainmpc.exceptions import InputError
from chainmpc.jobs.models import decoded_rows, predict
from chainmpc.jobs.random_forest import RandomForestJob
from chainmpc.jobs.registry import load_job
from offchain.engine.core import Engine
from offchain.exceptions import ProtocolAbort
from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import Shared
from offchain.mining.forest import bootstrap, tree_attributes, widen
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.datasets import categorical_job, categorical_rows
from tests.helpers.harness import BN254, M127, MASK_SEED, chain_checkpoint, run_parties

EXAMPLE = Path(__file__).parents[3] / "examples" / "tennis-forest.toml"


def job_for(tmp_path: Path, dataset: str, **params: object) -> RandomForestJob:
    header, _ = categorical_rows(dataset)
    target = "class" if dataset == "house-votes-84" else header[-1]
    path = categorical_job(
        tmp_path / dataset, dataset, "random-forest", {"target": target, **params}
    )
    job = load_job(path)
    assert isinstance(job, RandomForestJob)
    return job


def run_secure(job: RandomForestJob, field: Field, engines: dict | None = None) -> list[list[int]]:
    """Every org runs the job on real engines over TCP with exactly the counted material;
    returns what each org opened."""
    needs = job.needs(field)
    tables = [job.load_input(k) for k in range(job.orgs)]

    def org(e: Engine) -> list[int]:
        assert e.sacrifice(needs.checked_triples, 5) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        outputs = job.program(e, tables[e.index])
        chain_checkpoint(e)
        return [v for out in reveal(*outputs) for v in out]

    return run_parties(Dealer(field, job.orgs).deal(1, needs), org, engines)


def test_tennis_forest_equals_the_plaintext_forest_from_the_drawn_seed(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", trees=4, max_features=2, max_rows=7, max_nodes=13)
    opened = run_secure(job, M127)
    tables = [job.load_input(k) for k in range(job.orgs)]
    assert opened[0] == opened[1] == opened[2]
    assert opened[0] == job.expected(tables, opened[0])  # the seed, then the plaintext trees
    result = job.result(opened[0])
    model = result["model"]
    assert model["seed"] == str(opened[0][0]) and len(model["forest"]) == 4
    plain = [job.to_json(tree) for tree in _widened(job, tables, opened[0][0])]
    assert model["forest"] == plain
    # each tree splits only on its own two attributes
    for t, tree in enumerate(model["forest"]):
        names = {job.attributes[a].name for a in tree_attributes(opened[0][0], t, 4, 2)}
        assert _split_attributes(tree) <= names


def test_car_forest_on_the_session_field_with_subsets_of_unequal_cost(tmp_path: Path) -> None:
    # car's attributes have 3 or 4 values: the dry run counts the costliest subset, and every
    # tree, whichever subset it draws, compares at that width within that budget
    job = job_for(tmp_path, "car", trees=3, max_features=2, max_depth=1, max_rows=576, max_nodes=5)
    opened = run_secure(job, BN254)
    tables = [job.load_input(k) for k in range(job.orgs)]
    assert opened[0] == job.expected(tables, opened[0])
    seed = opened[0][0]
    assert {tree_attributes(seed, t, 6, 2) for t in range(3)} != {job.layout.worst_attributes()}


def test_a_new_session_draws_a_new_seed(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", trees=1, max_features=1, max_rows=7, max_nodes=4)
    seeds = {run_secure(job, M127)[0][0] for _ in range(2)}
    assert len(seeds) == 2


class ChosenContribution(Engine):
    """Org 1 inputs a value of its choosing as its part of the seed (every random element it
    draws is 7): it must not decide the seed."""

    def input(self, values: Vec | None, owner: int, count: int) -> object:
        if values is not None and count == 1 and not getattr(self, "_done", False):
            self._done = True
            values = self.field.from_ints([7])
        return super().input(values, owner, count)


def test_an_org_choosing_its_part_of_the_seed_does_not_choose_the_seed(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", trees=1, max_features=1, max_rows=7, max_nodes=4)
    first = run_secure(job, M127, engines={1: ChosenContribution})[0][0]
    second = run_secure(job, M127, engines={1: ChosenContribution})[0][0]
    assert first != second and 7 not in (first, second)


class SeedShareTamper(Engine):
    """Org 2 adds 1 to its share when the seed is opened, to steer the draws."""

    def open(self, *shared: Shared, label: str) -> list[Vec]:
        if label == "random-forest/seed":
            (s,) = shared
            shared = (Shared(self.field.add(s.x, self.field.from_ints([1])), s.m),)
        return super().open(*shared, label=label)


class Recorder(Engine):
    """Org 0, honest, records every opening (its label) and every input it takes part in."""

    labels: ClassVar[list[str]] = []

    def open(self, *shared: Shared, label: str) -> list[Vec]:
        self.labels.append(label)
        return super().open(*shared, label=label)

    def input(self, values: Vec | None, owner: int, count: int) -> object:
        self.labels.append(f"input/{owner}")
        return super().input(values, owner, count)


def test_a_tampered_opening_of_the_seed_is_caught_before_any_tree(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", trees=1, max_features=1, max_rows=7, max_nodes=4)
    Recorder.labels.clear()
    with pytest.raises(ProtocolAbort, match="MAC check failed"):
        run_secure(job, M127, engines={0: Recorder, 2: SeedShareTamper})
    after = Recorder.labels[Recorder.labels.index("random-forest/seed") + 1 :]
    assert not any(label.startswith("input/") for label in after)  # no tree's counts input


def test_the_draws_are_fixed_by_the_seed_and_bootstrap_keeps_each_org_s_size() -> None:
    assert tree_attributes(12345, 0, 6, 3) == tree_attributes(12345, 0, 6, 3)
    subsets = {tree_attributes(12345, t, 6, 3) for t in range(40)}
    assert len(subsets) > 10 and all(len(s) == 3 and list(s) == sorted(s) for s in subsets)
    sample = bootstrap(-99, 2, 1, 50)
    assert len(sample) == 50 and all(0 <= i < 50 for i in sample)
    assert len(set(sample)) < 50  # with replacement (about 63% distinct)
    assert bootstrap(-99, 2, 1, 50) == sample and bootstrap(-99, 2, 0, 50) != sample
    # every attribute is drawn about equally often (a biased draw would favour low indices)
    counts = [0] * 6
    for t in range(600):
        for a in tree_attributes(7, t, 6, 1):
            counts[a] += 1
    assert min(counts) > 60 and max(counts) < 140


def test_the_forest_votes_ties_to_the_first_class() -> None:
    wind = {"attr": "Wind", "children": {"Weak": {"leaf": "Yes"}, "Strong": {"leaf": "No"}}}
    model = {"classes": ["No", "Yes"], "forest": [{"leaf": "Yes"}, {"leaf": "No"}, wind]}
    assert predict(model, [{"Wind": "Weak"}, {"Wind": "Strong"}]) == ["Yes", "No"]
    assert predict({**model, "forest": model["forest"][:2]}, [{"Wind": "Weak"}]) == ["No"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"target": "Play", "trees": 0}, "params.trees: an integer >= 1"),
        ({"target": "Play", "max_features": 5}, "params.max_features: 5, but the schema has 4"),
        ({"target": "Play", "trees": 70}, r"params.trees, params.max_nodes: 70 trees"),
        ({"target": "Play", "criterion": "entropy"}, "entropy.* not available"),
        ({"target": "Play", "seed": 3}, "params.seed: not a parameter of kind random-forest"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(
    tmp_path: Path, params: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_job(categorical_job(tmp_path, "tennis", "random-forest", params))


def test_the_example_runs_records_the_seed_and_the_forest_and_predict_votes(
    tmp_path: Path,
) -> None:
    path = EXAMPLE  # the README's worked example
    out = tmp_path / "out"
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "chainmpc", "run", str(path), "--out", str(out)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit of session 1: PASS" in proc.stdout
    assert "differs from the plaintext" not in proc.stdout
    doc = json.loads((out / "result.json").read_text())
    model = doc["result"]["model"]
    assert len(model["forest"]) == 3 and doc["result"]["nodes"] == [
        len(_nodes(t)) for t in model["forest"]
    ]
    job = load_job(path)
    tables = [job.load_input(k) for k in range(job.orgs)]
    assert [job.to_json(t) for t in _widened(job, tables, int(model["seed"]))] == model["forest"]
    data = path.parent / "tennis-forest" / "org0.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "chainmpc", "predict", "--model", str(out / "result.json"),
         "--data", str(data)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = decoded_rows(tables[0])
    right = sum(p == r["Play"] for p, r in zip(predict(model, rows), rows, strict=True))
    assert f"accuracy {right / len(rows):.4f} ({right} of {len(rows)} rows)" in proc.stdout


def _widened(job: RandomForestJob, tables: list, seed: int) -> list:
    return [widen(tree, chosen) for chosen, tree in job.plain_forest(tables, seed)]


def _split_attributes(tree: dict) -> set[str]:
    if "leaf" in tree:
        return set()
    return {tree["attr"]} | {a for c in tree["children"].values() for a in _split_attributes(c)}


def _nodes(tree: dict) -> list[dict]:
    if "leaf" in tree:
        return [tree]
    return [tree, *(n for c in tree["children"].values() for n in _nodes(c))]
