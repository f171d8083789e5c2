"""The job kinds: :data:`KINDS` (kind name → class) and :func:`job_from_spec`.

Each kind class has ``kind``, ``summary``, ``parameters`` (name → description, saying the
default) and a ``from_spec(spec)`` classmethod that validates the job file's ``[params]`` and
``[schema]`` for that kind, its errors naming the key; :func:`job_from_spec` adds the file.
Registering a kind is one line here.
"""

from __future__ import annotations

from pathlib import Path

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import Job, JobSpec
from chainmpc.jobs.id3 import Id3Job
from chainmpc.jobs.kmeans import KMeansJob
from chainmpc.jobs.linear_svm import LinearSvmJob
from chainmpc.jobs.naive_bayes import NaiveBayesJob
from chainmpc.jobs.random_forest import RandomForestJob
from chainmpc.jobs.spec import load_spec
from chainmpc.jobs.stats import StatsJob
from chainmpc.jobs.sum_product import SumProductJob

KINDS: dict[str, type] = {
    "sum-product": SumProductJob,
    "stats": StatsJob,
    "naive-bayes": NaiveBayesJob,
    "id3": Id3Job,
    "random-forest": RandomForestJob,
    "kmeans": KMeansJob,
    "linear-svm": LinearSvmJob,
}


def job_from_spec(spec: JobSpec) -> Job:
    """The job ``spec`` describes, validated by its kind; an unknown kind names ``job.kind``
    and lists the known ones."""
    kind = KINDS.get(spec.kind)
    if kind is None:
        raise InputError(
            f"{spec.source or 'job'}: job.kind: unknown kind {spec.kind!r} "
            f"(known kinds: {', '.join(sorted(KINDS))}; see `chainmpc jobs`)"
        )
    try:
        return kind.from_spec(spec)
    except InputError as exc:
        where = f"{spec.source or 'job'}: "
        if str(exc).startswith(where):
            raise
        raise InputError(where + str(exc)) from None


def load_job(path: Path | str) -> Job:
    """Read the job file at ``path`` (:func:`~chainmpc.jobs.spec.load_spec`) and build its job."""
    return job_from_spec(load_spec(path))
