"""``chainmpc bench mining``: each data-mining algorithm trained without MPC and with it, on the
same training rows, and both models scored on the same held-out rows.

For each :class:`Case` (an algorithm, a dataset, the job's parameters):

* the dataset is split once, train/test :data:`TRAIN_FRACTION`, stratified by class and
  seeded with :data:`SEED` (:func:`stratified_split`), so every run and both models see the
  same rows; the schema (every category's values, every feature's range) is the whole
  dataset's, so a test row is always encodable;
* the training rows are shuffled (same seed) and split into contiguous blocks, one CSV per org;
* **plain**: the kind's plaintext reference on the union of the orgs' rows (``job.expected``,
  i.e. ``plain_naive_bayes``, ``plain_id3`` or ``plain_forest``, the forest from the seed the
  session drew), turned into the model by ``job.result``;
* **MPC**: a whole session through the in-process launcher on the given chain (deploy, open,
  preprocess, sacrifice, input, compute, MAC checks, output, audit), its model from the
  opened, MAC-checked outputs;
* both models classify the test rows with :func:`chainmpc.jobs.models.predict`.

Reported: the two accuracies; ``seconds_plain`` (the plaintext training); ``seconds_mpc`` (the
session from opening it to finalised: preprocessing, chain transactions and checks included;
deploying the consortium and the audit left out, being once per consortium or after the
fact); ``bytes`` (on the wire, framing and crypto included, sent by all orgs over the
session); ``rounds`` (communication rounds of one org, the same at every org); ``gas`` (every
transaction of the session, opening it included, deployment and registration left out).
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chainmpc.bench.datasets import (
    CATEGORICAL,
    categorical_rows,
    categorical_schema,
    numeric_rows,
    numeric_schema,
    write_job,
)
from chainmpc.exceptions import BenchError, InputError
from chainmpc.jobs.base import Job
from chainmpc.jobs.csvdata import read_table
from chainmpc.jobs.models import decoded_rows, predict
from chainmpc.jobs.registry import KINDS, job_from_spec
from chainmpc.jobs.spec import load_spec
from chainmpc.roles.launcher import Roles, run_session
from chainmpc.roles.peer import OrgPeer
from offchain.transport.framing import TransportStats
from onchain.connection import Chain

TRAIN_FRACTION = 0.7
SEED = 13
#: Launcher phases that are not the session itself (see the module docstring).
NOT_SESSION_GAS = ("deploy & register",)
NOT_SESSION_TIME = ("deploy & register", "audit")


@dataclass(frozen=True)
class Case:
    """One benchmark entry: ``algorithm`` (the label shown), the job ``kind`` it runs, the
    ``dataset`` and the job's ``params`` (``target`` among them)."""

    algorithm: str
    kind: str
    dataset: str
    params: Mapping[str, Any] = field(default_factory=dict)


#: The benchmark's entries: adding an algorithm or a dataset is one line. Budgets (``max_rows``
#: per org, ``max_nodes``) cover the 70% training split across 3 orgs.
CASES: tuple[Case, ...] = (
    Case("naive-bayes", "naive-bayes", "tennis", {"target": "Play"}),
    Case("naive-bayes", "naive-bayes", "car", {"target": "class"}),
    Case("naive-bayes", "naive-bayes", "house-votes-84", {"target": "class"}),
    Case("naive-bayes", "naive-bayes", "iris", {"target": "class", "variant": "gaussian"}),
    Case("naive-bayes", "naive-bayes", "wine", {"target": "class", "variant": "gaussian"}),
    Case("id3-gini", "id3", "tennis", {"target": "Play", "max_rows": 7, "max_nodes": 16}),
    Case(
        "id3-gini",
        "id3",
        "car",
        {"target": "class", "max_depth": 2, "max_rows": 511, "max_nodes": 21},
    ),  # fmt: skip
    Case(
        "random-forest",
        "random-forest",
        "car",
        {
            "target": "class",
            "trees": 5,
            "max_features": 3,
            "max_depth": 2,
            "max_rows": 511,
            "max_nodes": 21,
        },
    ),  # fmt: skip
)


@dataclass(frozen=True)
class Measurement:
    """One row of the results (the JSON's ``results`` entries, in this order)."""

    algorithm: str
    dataset: str
    accuracy_plain: float
    accuracy_mpc: float
    seconds_plain: float
    seconds_mpc: float
    bytes: int
    rounds: int
    gas: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: plaintext seconds to the microsecond (they are that short), session
        seconds to the millisecond, accuracies unrounded."""
        d = asdict(self)
        d["seconds_plain"] = round(self.seconds_plain, 6)
        d["seconds_mpc"] = round(self.seconds_mpc, 3)
        return d


def select(
    algorithms: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    cases: Sequence[Case] = CASES,
) -> list[Case]:
    """The cases of ``algorithms`` on ``datasets`` (all if ``None``), those whose kind is not
    registered left out; an unknown name is an :class:`InputError` listing the known ones."""
    for option, wanted, known in (
        ("--algorithms", algorithms, [c.algorithm for c in cases]),
        ("--datasets", datasets, [c.dataset for c in cases]),
    ):
        unknown = sorted(set(wanted or ()) - set(known))
        if unknown:
            raise InputError(
                f"{option}: unknown {unknown[0]!r} (known: {', '.join(dict.fromkeys(known))})"
            )
    return [
        c
        for c in cases
        if c.kind in KINDS
        and (algorithms is None or c.algorithm in algorithms)
        and (datasets is None or c.dataset in datasets)
    ]


def stratified_split(
    rows: Sequence[Sequence[Any]], target: int, fraction: float = TRAIN_FRACTION, seed: int = SEED
) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
    """``(train, test)``: of each class's rows, ``round(fraction × n)`` (at least one, and one
    left for the test while the class has two) drawn for training by a ``seed``ed shuffle; the
    training rows shuffled again, so each org's block mixes the classes."""
    rng = random.Random(seed)
    by_class: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        by_class.setdefault(r[target], []).append(i)
    train: list[int] = []
    test: list[int] = []
    for indices in by_class.values():
        rng.shuffle(indices)
        n = len(indices)
        k = min(max(1, round(fraction * n)), n - 1) if n > 1 else n
        train += indices[:k]
        test += indices[k:]
    rng.shuffle(train)
    return [rows[i] for i in train], [rows[i] for i in sorted(test)]


def prepare(case: Case, directory: Path, orgs: int) -> tuple[Job, list[dict[str, Any]]]:
    """Write ``case``'s job (training rows split across ``orgs`` CSVs) and its test CSV under
    ``directory``; return the job and the test rows, decoded as ``chainmpc predict`` does."""
    if case.dataset in CATEGORICAL:
        header, rows = categorical_rows(case.dataset)
        schema = categorical_schema(header, rows)
    else:
        header, rows, classes = numeric_rows(case.dataset)
        schema = numeric_schema(header, rows, classes)
    target = case.params.get("target")
    if target not in header:
        raise InputError(f"case {case.algorithm}/{case.dataset}: params.target {target!r} "
                         f"is not a column of {case.dataset}")  # fmt: skip
    train, test = stratified_split(rows, header.index(target))
    job_file = write_job(directory, case.kind, header, train, schema, case.params, orgs,
                         name=case.dataset)  # fmt: skip
    job = job_from_spec(load_spec(job_file))
    test_csv = directory / "test.csv"
    with test_csv.open("w", newline="") as f:
        csv.writer(f).writerows([header, *test])
    return job, decoded_rows(read_table(test_csv, job.spec.schema))


def accuracy(model: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], target: str) -> float:
    """The fraction of ``rows`` whose ``target`` ``model`` predicts."""
    predicted = predict(model, rows)
    return sum(p == r[target] for p, r in zip(predicted, rows, strict=True)) / len(rows)


def counting(roles: Roles, sink: dict[int, TransportStats]) -> Roles:
    """``roles`` with each org's traffic counters kept in ``sink`` (org index → stats) when
    it closes its channels: the launcher's peers are gone once the session ends."""

    def peer(org: int) -> type[OrgPeer]:
        base = roles.peer(org)

        class Counting(base):  # type: ignore[misc, valid-type]
            def close(self) -> None:
                if self.network is not None:
                    sink[self.me.index] = self.network.stats
                super().close()

        return Counting

    return Roles(peer=peer, engine=roles.engine, dealer=roles.dealer,
                 service_command=roles.service_command)  # fmt: skip


def measure(
    case: Case,
    chain: Chain,
    directory: Path,
    orgs: int = 3,
    roles: Roles | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Measurement:
    """Train ``case`` in the clear and through one session on ``chain``, score both models on
    the held-out rows. Raises :class:`BenchError` if the session does not finalise with a
    passing audit: an aborted run has no MPC model, and its figures are not a training's."""
    job, test_rows = prepare(case, directory, orgs)
    tables = [job.load_input(k) for k in range(job.orgs)]
    target = str(case.params["target"])

    stats: dict[int, TransportStats] = {}
    with tempfile.TemporaryDirectory(prefix="chainmpc-bench-") as workdir:
        outcome = run_session(chain, job, counting(roles or Roles(), stats), Path(workdir),
                              progress, tables)  # fmt: skip
    where = f"{case.algorithm} on {case.dataset}"
    if outcome.abort is not None or outcome.result is None:
        raise BenchError(f"{where}: session {outcome.session} aborted ({outcome.message})")
    if outcome.audit is None or not outcome.audit.passed:
        raise BenchError(f"{where}: the audit of session {outcome.session} failed")

    # After the session: a kind that draws its randomness jointly (random-forest) trains in the
    # clear from the seed the session recorded; the others ignore the outputs.
    start = time.perf_counter()
    plain = job.expected(tables, outcome.result)
    if plain is None:
        raise BenchError(f"{where}: no plaintext model to compare")
    plain_model = job.result(plain)["model"]
    seconds_plain = time.perf_counter() - start
    mpc_model = job.result(outcome.result)["model"]
    return Measurement(
        case.algorithm,
        case.dataset,
        accuracy(plain_model, test_rows, target),
        accuracy(mpc_model, test_rows, target),
        seconds_plain,
        sum(p.seconds for p in outcome.phases if p.name not in NOT_SESSION_TIME),
        sum(s.wire_bytes_sent for s in stats.values()),
        max((s.rounds for s in stats.values()), default=0),
        sum(p.gas for p in outcome.phases if p.name not in NOT_SESSION_GAS),
    )
