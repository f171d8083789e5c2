"""What the auditor takes from its own copy of a job (``chainmpc audit --job``): the job hash,
the material counts, the output length, the fixed-point error bound of what is revealed, and
the kind's reading of the opened outputs (:class:`onchain.audit.receipt.JobFacts`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from chainmpc.jobs.base import Job
from chainmpc.jobs.registry import load_job
from chainmpc.jobs.schema import FRACTION_BITS
from offchain.hazmat.field import FieldError, field_for
from onchain.audit.receipt import JobFacts
from onchain.commitments import job_hash

#: Each kind's bounds on its results' error from fixed-point encoding (docs/jobs.md,
#: "Accuracy"); delta is the per-value rounding, 2^-(FRACTION_BITS + 1).
_BOUNDS = {
    "stats": {
        "sum": "n * delta (n rows)",
        "mean, min, max": "delta",
        "variance": "2 delta s sqrt(n/(n-1)) + delta^2 n/(n-1) (s: sample standard deviation)",
    },
    "naive-bayes": {
        "mean": "delta",
        "variance": "2 delta s + delta^2 (s: the class's population standard deviation)",
    },
}


def fixed_point_bound(job: Job) -> dict[str, Any] | None:
    """The error bound of the revealed values where a ``fixed`` column enters them; None when
    every revealed value is an exact integer (no fixed-point column)."""
    columns = [c.name for c in job.spec.schema.columns if c.type == "fixed"]
    if not columns:
        return None
    return {
        "columns": columns,
        "fraction_bits": FRACTION_BITS,
        "delta": 2.0 ** -(FRACTION_BITS + 1),
        "bounds": _BOUNDS.get(job.kind, {"each value": "delta"}),
        "reference": "docs/jobs.md, Accuracy",
    }


def job_facts(job: Job, modulus: int) -> JobFacts:
    """The facts of ``job`` for a session over ``modulus`` (material counts None if the
    modulus is no known field: the audit's modulus check fails and says why)."""
    try:
        counts: list[int] | None = job.needs(field_for(modulus)).counts()
    except FieldError:
        counts = None
    description = job.description()
    return JobFacts(
        json.loads(json.dumps(description)),
        job_hash(description),
        counts,
        job.output_length,
        fixed_point_bound(job),
        job.result,
    )


def job_from_canonical(description: Any) -> Job:
    """The job a receipt's canonical job form describes (as ``describe-job`` prints it);
    raises :class:`~chainmpc.exceptions.InputError` naming what is wrong."""
    with tempfile.TemporaryDirectory(prefix="chainmpc-receipt-") as tmp:
        path = Path(tmp) / "job.json"
        path.write_text(json.dumps(description))
        return load_job(path)
