"""Mutations of the ``id3`` kind's checks of what each org inputs (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import Mutation, off

ID3 = "tests/chainmpc/jobs/test_id3.py::"

ID3_MUTATIONS: list[Mutation] = [
    Mutation(
        "id3: node counts input without the range check",
        "offchain/mining/id3.py",
        "sectypes.secret_input(engine, values, owner, k * layout.per_node, w)",
        "sectypes.secret_input_unchecked(engine, values, owner, k * layout.per_node, w)",
        (ID3 + "test_an_org_inputting_negative_and_oversized_counts_is_caught",),
    ),
    off(
        "id3: inconsistent node counts not refused",
        "offchain/mining/id3.py",
        "any(v != 0 for v in f.to_ints(values))",
        (ID3 + "test_an_org_inputting_inconsistent_counts_is_caught",),
    ),
    off(
        "id3: the node budget not enforced",
        "offchain/mining/id3.py",
        "len(codes) + len(frontier) > layout.max_nodes",
        (ID3 + "test_a_tree_over_the_budget_aborts_before_the_level_that_exceeds_it",),
    ),
]
