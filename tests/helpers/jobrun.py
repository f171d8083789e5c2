"""Run a job's session program on real engines (one per org, over real TCP), each org its own
CSV, with the preprocessing its dry run counted: what the session does between the
preprocessing and the output, without the chain."""

from __future__ import annotations

import time
from typing import Any

from offchain.engine.core import Engine, ProtocolAbort
from offchain.preprocessing.dealer import Dealer
from offchain.sectypes.array import reveal
from tests.helpers.harness import M127, MASK_SEED, chain_checkpoint, run_parties


def run_job(job: Any, engines: dict | None = None) -> tuple[list, list[Any], float]:
    """``(what each org opened, the tables, seconds of the program)``; an org whose program
    aborts returns the abort's text instead of its outputs."""
    tables = [job.load_input(k) for k in range(job.orgs)]
    needs = job.needs(M127)

    def org(e: Engine) -> tuple[Any, float]:
        assert e.sacrifice(needs.checked_triples, 5) == 0
        assert e.check_bits() == 0
        assert e.check_masks(MASK_SEED)
        e.check_between_peers()
        start = time.perf_counter()
        try:
            outputs = job.program(e, tables[e.index])
        except ProtocolAbort as exc:  # e.g. a refused input: every org stops
            return str(exc), time.perf_counter() - start
        chain_checkpoint(e)
        return [v for out in reveal(*outputs) for v in out], time.perf_counter() - start

    results = run_parties(Dealer(M127, job.orgs).deal(1, needs), org, engines=engines)
    return [r for r, _ in results], tables, max(t for _, t in results)
