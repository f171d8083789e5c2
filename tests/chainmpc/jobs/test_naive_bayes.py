"""The ``naive-bayes`` kind on real data split across three orgs, computed by the MPC on real
engines over TCP: the categorical counts equal the plaintext counts exactly and the
predictions equal scikit-learn's ``CategoricalNB``; the gaussian means and variances are
within the bound of ``docs/jobs.md`` of numpy's and the predictions match ``GaussianNB``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.naive_bayes import CategoricalNB, GaussianNB

from chainmpc.exceptions import InputError
from chainmpc.jobs.models import decoded_rows, predict
from chainmpc.jobs.naive_bayes import NaiveBayesJob
from chainmpc.jobs.registry import load_job
from chainmpc.jobs.schema import FRACTION_BITS
from offchain.engine.core import Engine
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.datasets import categorical_job, categorical_rows, numeric_job, numeric_rows
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties

DELTA = 2.0 ** -(FRACTION_BITS + 1)  # the largest rounding error of one fixed-point encoding
TARGET = {"tennis": "Play", "car": "class", "house-votes-84": "class"}


def run_job(job: NaiveBayesJob) -> dict:
    """The session's program on real engines (one per org, over TCP), each org its own CSV;
    the opened outputs must equal the plaintext ones at every org."""
    tables = [job.load_input(k) for k in range(job.orgs)]
    needs = job.needs(M127)

    def org(e: Engine) -> list[int]:
        assert e.sacrifice(needs.checked_triples, 5) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        outputs = job.program(e, tables[e.index])
        chain_checkpoint(e)
        return [v for out in reveal(*outputs) for v in out]

    opened = run_parties(Dealer(M127, job.orgs).deal(1, needs), org)
    assert opened == [job.expected(tables)] * job.orgs
    assert len(opened[0]) == job.output_length
    result = job.result(opened[0])
    rows = [r for t in tables for r in decoded_rows(t)]
    return {**result, "rows_used": rows}


@pytest.mark.parametrize("dataset", ["tennis", "car", "house-votes-84"])
def test_categorical_counts_equal_the_plaintext_and_predictions_equal_sklearn(
    tmp_path: Path, dataset: str
) -> None:
    alpha = 0.5 if dataset == "car" else 1.0
    target = TARGET[dataset]
    job = load_job(categorical_job(tmp_path, dataset, "naive-bayes",
                                   {"target": target, "smoothing": alpha}))  # fmt: skip
    out = run_job(job)
    model = out["model"]
    header, rows = categorical_rows(dataset)
    t = header.index(target)
    # the counts, recomputed from the union of the CSV rows by hand
    assert model["class_counts"] == {c: sum(r[t] == c for r in rows) for c in model["classes"]}
    for j, attr in enumerate(header):
        if attr == target:
            continue
        for v, by_class in model["counts"][attr].items():
            assert by_class == {
                c: sum(r[j] == v and r[t] == c for r in rows) for c in model["classes"]
            }
    assert out["rows"] == len(rows) and model["smoothing"] == alpha
    # the predictions: scikit-learn on the union, the same categories in the same order
    attrs = [c for c in model["schema"] if c["name"] != target]
    x = np.array([[a["values"].index(r[header.index(a["name"])]) for a in attrs] for r in rows])
    y = np.array([model["classes"].index(r[t]) for r in rows])
    sk = CategoricalNB(alpha=alpha, min_categories=[len(a["values"]) for a in attrs]).fit(x, y)
    ours = predict(model, [dict(zip(header, r, strict=True)) for r in rows])
    assert ours == [model["classes"][k] for k in sk.predict(x)]


@pytest.mark.parametrize("dataset", ["iris", "wine"])
def test_gaussian_moments_within_the_bound_and_accuracy_equals_sklearn(
    tmp_path: Path, dataset: str
) -> None:
    job = load_job(numeric_job(tmp_path, dataset, "naive-bayes",
                               {"target": "class", "variant": "gaussian"}))  # fmt: skip
    model = run_job(job)["model"]
    header, rows, classes = numeric_rows(dataset)
    x = np.array([r[:-1] for r in rows], dtype=float)
    y = np.array([classes.index(r[-1]) for r in rows])
    for k, c in enumerate(classes):
        assert model["class_counts"][c] == int((y == k).sum())
        for j, attr in enumerate(header[:-1]):
            values = x[y == k, j]
            s = values.std()  # population, as the model's variance
            mean, var = model["mean"][attr][c], model["variance"][attr][c]
            assert abs(mean - values.mean()) <= DELTA + 1e-12 * abs(values.mean())
            assert abs(var - values.var()) <= 2 * DELTA * s + DELTA**2 + 1e-12 * values.var()
    ours = predict(model, [dict(zip(header, r, strict=True)) for r in rows])
    sk = GaussianNB(var_smoothing=model["var_smoothing"]).fit(x, y).predict(x)
    acc_ours = np.mean([p == r[-1] for p, r in zip(ours, rows, strict=True)])
    acc_sk = np.mean(sk == y)
    assert abs(acc_ours - acc_sk) <= 0.005, (acc_ours, acc_sk)
    assert sum(p != classes[k] for p, k in zip(ours, sk, strict=True)) <= 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "params.target: required"),
        ({"target": "nope"}, "params.target: 'nope' is not a declared column"),
        ({"target": "sepal_length_cm"}, "params.target: 'sepal_length_cm' is a fixed column"),
        ({"target": "class"}, "schema.columns.sepal_length_cm: a fixed column; naive-bayes "
                              "variant categorical takes category attributes"),
        ({"target": "class", "variant": "poisson"}, "params.variant: 'poisson'"),
        ({"target": "class", "variant": "gaussian", "smoothing": 1},
         "params.smoothing: not a parameter of variant gaussian"),
        ({"target": "class", "variant": "gaussian", "var_smoothing": -1},
         "params.var_smoothing: a number >= 0"),
        ({"target": "class", "depth": 3}, "params.depth: not a parameter of kind naive-bayes"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_naming_the_key(
    tmp_path: Path, params: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_job(numeric_job(tmp_path, "iris", "naive-bayes", params))


def test_a_category_attribute_in_a_gaussian_job_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="schema.columns.Outlook: a category column"):
        load_job(categorical_job(tmp_path, "tennis", "naive-bayes",
                                 {"target": "Play", "variant": "gaussian"}))  # fmt: skip
