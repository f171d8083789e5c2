"""Mutations of ``chainmpc bench mining``'s honesty checks, and of the gas margin its wine run
found missing (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import Mutation, off

BENCH = "tests/chainmpc/cli/test_bench_mining.py::"

BENCH_MUTATIONS: list[Mutation] = [
    off(
        "bench: an aborted session's model scored",
        "chainmpc/bench/mining.py",
        "outcome.abort is not None or outcome.result is None",
        (BENCH + "test_an_aborted_session_gives_no_figures",),
    ),
    Mutation(
        "bench: scored on the training rows",
        "chainmpc/bench/mining.py",
        "csv.writer(f).writerows([header, *test])",
        "csv.writer(f).writerows([header, *train])",
        (
            BENCH + "test_naive_bayes_on_tennis_json_png_and_the_secure_model_scores_as_the_plain",
            BENCH + "test_test_rows_are_written_apart_from_the_orgs_rows",
        ),
    ),
    Mutation(
        "onchain: the final reveal carries no gas for the outputs it emits",
        "onchain/clients.py",
        "FINALISE_GAS = 64 * 3_000",
        "FINALISE_GAS = 0",
        (
            "tests/contracts/test_gas_and_clients.py::"
            "test_a_final_reveal_estimated_before_the_others_were_mined_still_finalises",
        ),
    ),
]
