"""The ``id3`` kind on the MPyC project's categorical data split across orgs: the secure tree
equals the plaintext tree grown on the union of the rows (and the classic tree on tennis), end
to end through ``chainmpc run``; cheating orgs and an oversized tree abort before any node is
revealed from their counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import offchain.mining.id3 as id3
from chainmpc.exceptions import InputError
from chainmpc.jobs.id3 import Id3Job
from chainmpc.jobs.registry import load_job
from offchain.engine.core import Engine
from offchain.exceptions import ProtocolAbort
from offchain.hazmat.field import Field, Vec
from offchain.mining.id3_plain import Leaf, Split, TreeRules, plain_id3
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.datasets import categorical_job, categorical_rows
from tests.helpers.harness import BN254, M127, MASK_SEED, chain_checkpoint, run_parties

TENNIS_TREE = {  # Quinlan's classic tree for PlayTennis (Mitchell, Machine Learning, fig. 3.1)
    "attr": "Outlook",
    "children": {
        "Sunny": {
            "attr": "Humidity",
            "children": {"High": {"leaf": "No"}, "Normal": {"leaf": "Yes"}},
        },
        "Overcast": {"leaf": "Yes"},
        "Rain": {"attr": "Wind", "children": {"Weak": {"leaf": "Yes"}, "Strong": {"leaf": "No"}}},
    },
}


def job_for(tmp_path: Path, dataset: str, **params: object) -> Id3Job:
    header, _ = categorical_rows(dataset)
    path = categorical_job(tmp_path / dataset, dataset, "id3", {"target": header[-1], **params})
    job = load_job(path)
    assert isinstance(job, Id3Job)
    return job


def run_secure(job: Id3Job, field: Field, engines: dict | None = None) -> list[dict]:
    """Every org runs the job on real engines over TCP; returns each org's result."""
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

    opened = run_parties(Dealer(field, job.orgs).deal(1, needs), org, engines)
    assert opened == [job.expected(tables)] * job.orgs  # every org opens the plaintext tree
    return [job.result(o) for o in opened]


def test_tennis_secure_tree_is_the_classic_tree_and_the_plaintext_tree(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", max_rows=7, max_nodes=8)
    results = run_secure(job, M127)
    assert results[0]["model"]["tree"] == TENNIS_TREE
    assert results[0]["nodes"] == 8
    tables = [job.load_input(k) for k in range(3)]
    assert job.to_json(job.plain_tree(tables)) == TENNIS_TREE


def test_car_secure_tree_equals_the_plaintext_tree_on_the_union_of_three_orgs(
    tmp_path: Path,
) -> None:
    # BN254 (the field sessions run on): car's Gini fractions need 95-bit comparisons here
    job = job_for(tmp_path, "car", max_depth=2, max_rows=576, max_nodes=10)
    (result, *_) = run_secure(job, BN254)
    tables = [job.load_input(k) for k in range(3)]
    tree = result["model"]["tree"]
    assert tree == job.to_json(job.plain_tree(tables))
    assert tree["attr"] == "safety" and tree["children"]["low"] == {"leaf": "unacc"}
    assert result["nodes"] == 10


def test_tic_tac_toe_a_shallow_tree_with_ties_and_empty_branches(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tic-tac-toe", max_depth=1, max_rows=511, max_nodes=4)
    (result, *_) = run_secure(job, M127)
    tables = [job.load_input(k) for k in range(3)]
    assert result["model"]["tree"] == job.to_json(job.plain_tree(tables))
    assert result["model"]["tree"]["attr"] == "middle-middle-square"


def test_plaintext_rules_ties_empty_branches_and_stops() -> None:
    rules = TreeRules((2, 3), 2, 5, 1)
    # attribute 0 and 1 separate the classes equally well: the tie goes to attribute 0
    rows = [((0, 0), 0), ((0, 0), 0), ((1, 1), 1), ((1, 1), 1)]
    tree = plain_id3(rules, rows)
    assert tree == Split(0, (Leaf(0), Leaf(1)))
    # attribute 1 separates the classes: its value 2 has no rows and takes the root's majority
    rows = [((0, 0), 0), ((0, 1), 1), ((1, 0), 0), ((1, 1), 1), ((0, 0), 0)]
    assert plain_id3(rules, rows) == Split(1, (Leaf(0), Leaf(1), Leaf(0)))
    assert plain_id3(TreeRules((2, 3), 2, 0, 0), rows) == Leaf(0)  # max_depth 0: a leaf
    assert plain_id3(TreeRules((2, 3), 2, 5, 5), rows) == Leaf(0)  # at most 5 rows: a leaf
    # a class tie goes to the first class; a split without gain still splits
    assert plain_id3(TreeRules((2, 3), 2, 5, 2), [((0, 0), 1), ((0, 0), 0)]) == Leaf(0)
    mixed = [((0, 0), 1), ((0, 0), 0), ((1, 0), 1)]
    assert plain_id3(rules, mixed) == Split(0, (Split(1, (Leaf(0), Leaf(0), Leaf(0))), Leaf(1)))


def test_a_tree_over_the_budget_aborts_before_the_level_that_exceeds_it(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", max_rows=7, max_nodes=7)  # the tree has 8 nodes
    with pytest.raises(ProtocolAbort, match=r"more than params.max_nodes = 7 nodes \(level 2"):
        run_secure(job, M127)


class CountCheater(Engine):
    """Org 1 shifts ``delta`` from one count to another of its first input (same attribute and
    class, so its totals still add up): as bits, a bounded input carries non-bits."""

    delta = 1 << 40

    def input(self, values: Vec | None, owner: int, count: int) -> object:
        if values is not None and not getattr(self, "_done", False):
            self._done = True
            f = self.field
            c = 2  # tennis: two classes; the cells start after n and the class counts
            bump = [0] * count
            bump[1 + c], bump[1 + 2 * c] = self.delta, -self.delta
            values = f.add(values, f.from_ints(x % f.p for x in bump))
        return super().input(values, owner, count)


def test_an_org_inputting_negative_and_oversized_counts_is_caught(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", max_rows=7, max_nodes=8)
    with pytest.raises(ProtocolAbort, match="input of org 1: a value is outside"):
        run_secure(job, M127, engines={1: CountCheater})


def test_an_org_inputting_inconsistent_counts_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(tmp_path, "tennis", max_rows=7, max_nodes=8)
    cheater = job.rows(job.load_input(1))
    honest = id3.node_counts

    def lying(layout, rows, path):  # type: ignore[no-untyped-def]
        counts = honest(layout, rows, path)
        if rows == cheater:
            counts[1 + layout.rules.classes] += 1  # one more row in one cell only
        return counts

    monkeypatch.setattr(id3, "node_counts", lying)
    with pytest.raises(ProtocolAbort, match="org 1's counts at tree level 0 are inconsistent"):
        run_secure(job, M127)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "params.target: None is not a declared column"),
        ({"target": "Colour"}, "params.target: 'Colour' is not a declared column"),
        ({"target": "Play", "criterion": "log"}, 'params.criterion: "gini" or "entropy"'),
        ({"target": "Play", "criterion": "entropy"}, "entropy.* not available"),
        ({"target": "Play", "max_depth": -1}, "params.max_depth: an integer >= 0"),
        ({"target": "Play", "max_nodes": 0}, "params.max_nodes: an integer >= 1"),
        ({"target": "Play", "max_nodes": 5000}, "params.max_nodes: 5000 nodes take 125 outputs"),
        ({"target": "Play", "depth": 3}, "params.depth: not a parameter of kind id3"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(
    tmp_path: Path, params: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_job(categorical_job(tmp_path, "tennis", "id3", params))


def test_more_rows_than_max_rows_are_refused_naming_the_file(tmp_path: Path) -> None:
    job = job_for(tmp_path, "tennis", max_rows=4)
    with pytest.raises(InputError, match=r"org0.csv: 5 rows; params.max_rows allows 4 per org"):
        job.load_input(0)


def test_chainmpc_run_records_the_tennis_tree(tmp_path: Path) -> None:
    path = categorical_job(
        tmp_path / "job", "tennis", "id3", {"target": "Play", "max_nodes": 8, "max_rows": 7}
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "chainmpc", "run", str(path), "--out", str(out)],
        capture_output=True, text=True, timeout=600, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit of session 1: PASS" in proc.stdout
    doc = json.loads((out / "result.json").read_text())
    assert doc["kind"] == "id3" and doc["result"]["model"]["tree"] == TENNIS_TREE
