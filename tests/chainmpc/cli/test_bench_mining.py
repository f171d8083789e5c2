"""``chainmpc bench mining``, as a user runs it (its own process, the embedded chain), on the
smallest case: the JSON has the documented fields, the secure Naive Bayes scores exactly as the
plaintext one, the plaintext score is scikit-learn's on the same split, and a session that
aborts gives no figures."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from sklearn.naive_bayes import CategoricalNB

from chainmpc.bench.datasets import categorical_rows
from chainmpc.bench.mining import Case, measure, prepare, select, stratified_split
from chainmpc.cheats import roles_for
from chainmpc.exceptions import BenchError
from onchain.connection import connect
from tests.chainmpc.cli.test_run import chainmpc

FIELDS = {
    "algorithm": str,
    "dataset": str,
    "accuracy_plain": float,
    "accuracy_mpc": float,
    "seconds_plain": float,
    "seconds_mpc": float,
    "bytes": int,
    "rounds": int,
    "gas": int,
}


def sklearn_accuracy(dataset: str, target: str) -> float:
    """CategoricalNB (alpha 1, as the job's default smoothing) on the bench's split."""
    header, rows = categorical_rows(dataset)
    t = header.index(target)
    codes = [{v: i for i, v in enumerate(dict.fromkeys(r[j] for r in rows))}
             for j in range(len(header))]  # fmt: skip
    train, test = stratified_split(rows, t)

    def x(part: list) -> list[list[int]]:
        return [[codes[j][r[j]] for j in range(len(header)) if j != t] for r in part]

    nb = CategoricalNB(alpha=1.0, min_categories=[len(codes[j]) for j in range(len(header))
                                                  if j != t])  # fmt: skip
    nb.fit(x(train), [r[t] for r in train])
    return float(nb.score(x(test), [r[t] for r in test]))


def test_naive_bayes_on_tennis_json_png_and_the_secure_model_scores_as_the_plain(
    tmp_path: Path,
) -> None:
    out, png = tmp_path / "mining.json", tmp_path / "mining.png"
    proc = chainmpc("bench", "mining", "--algorithms", "naive-bayes", "--datasets", "tennis",
                    "--json", str(out), "--plot", str(png))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert list(doc) == ["results"]
    (row,) = doc["results"]
    assert set(row) == set(FIELDS)
    for key, kind in FIELDS.items():
        assert isinstance(row[key], kind) and not isinstance(row[key], bool), key
    assert (row["algorithm"], row["dataset"]) == ("naive-bayes", "tennis")
    # The secure model is the plaintext model: the same counts, so the same predictions.
    assert row["accuracy_mpc"] == row["accuracy_plain"]
    # ... and that model is scikit-learn's, scored on the held-out rows (not the training ones).
    assert row["accuracy_plain"] == pytest.approx(sklearn_accuracy("tennis", "Play"))
    assert row["seconds_mpc"] > row["seconds_plain"] > 0
    assert row["bytes"] > 0 and row["rounds"] > 0 and row["gas"] > 21_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[1/1] naive-bayes on tennis" in proc.stdout


def test_the_split_is_stratified_disjoint_complete_and_seeded() -> None:
    header, rows = categorical_rows("car")
    t = header.index("class")
    train, test = stratified_split(rows, t)
    assert sorted(map(tuple, train + test)) == sorted(map(tuple, rows))
    assert len(train) + len(test) == len(rows)
    assert stratified_split(rows, t) == (train, test)  # the same rows every run
    whole, part = Counter(r[t] for r in rows), Counter(r[t] for r in train)
    for cls, n in whole.items():
        assert abs(part[cls] - 0.7 * n) <= 1, cls  # every class in proportion
    # the blocks the orgs get mix the classes: the training rows are not in class order
    assert len({r[t] for r in train[: len(train) // 3]}) == len(whole)


def test_an_aborted_session_gives_no_figures(tmp_path: Path) -> None:
    # An org alters its share of the revealed counts: the model would be wrong, and the final
    # MAC check aborts the session after the reveal; the bench must not score that model.
    (case,) = select(["naive-bayes"], ["tennis"])
    with pytest.raises(BenchError, match=r"naive-bayes on tennis: session \d+ aborted"):
        measure(case, connect(None), tmp_path, 3, roles_for("output", 1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--datasets", "nope"], "--datasets: unknown 'nope' (known: tennis, car"),
        (["--algorithms", "svm"], "--algorithms: unknown 'svm' (known: naive-bayes, id3-gini"),
        (["--orgs", "1"], "--orgs 1: between 2 and 8"),
        (["--algorithms", "id3-gini", "--datasets", "iris"], "no case of the table is both"),
        (["--json", "/nonexistent/x.json"], "--json /nonexistent/x.json: its directory does"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_run(args: list[str], message: str) -> None:
    proc = chainmpc("bench", "mining", *args)
    assert proc.returncode != 0
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "runs," not in proc.stdout


def test_a_case_of_an_unregistered_kind_is_left_out() -> None:
    later = Case("kmeans", "no-such-kind-yet", "iris", {"target": "class"})
    assert select(None, None, [later]) == []


def test_test_rows_are_written_apart_from_the_orgs_rows(tmp_path: Path) -> None:
    (case,) = select(["id3-gini"], ["tennis"])
    job, test_rows = prepare(case, tmp_path, 3)
    header, rows = categorical_rows("tennis")
    org_rows = [
        r for k in range(3) for r in list(csv.reader((tmp_path / f"org{k}.csv").open()))[1:]
    ]
    assert len(org_rows) + len(test_rows) == len(rows) and len(test_rows) == 4
    held = {tuple(str(r[h]) for h in header) for r in test_rows}
    assert not held & {tuple(r) for r in org_rows}
    assert job.orgs == 3


def test_a_session_revealing_many_outputs_finalises(tmp_path: Path) -> None:
    # Gaussian Naive Bayes on wine reveals 40 packed totals: the last reveal of the final
    # checkpoint emits them all, and its gas, estimated before the other reveals were mined,
    # fell short (revealSigma "failed on-chain (status 0)") until reveals carried a margin.
    (case,) = select(["naive-bayes"], ["wine"])
    m = measure(case, connect(None), tmp_path, 3)
    assert m.gas > 0 and m.accuracy_mpc == m.accuracy_plain > 0.9
