"""Mutations of the ``id3`` kind's checks of what each org inputs (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import Mutation, off

ID3 = "tests/chainmpc/jobs/test_id3.py::"
FOREST = "tests/chainmpc/jobs/test_random_forest.py::"
BUDGET = "tests/offchain/mining/test_forest.py"

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
    Mutation(
        "random-forest: the seed is one org's element, not the sum",
        "offchain/protocols/coin.py",
        "total = sum(parts[1:], parts[0])",
        "total = parts[1]",
        (FOREST + "test_an_org_choosing_its_part_of_the_seed_does_not_choose_the_seed",),
    ),
    Mutation(
        "random-forest: the seed steers the trees before its MAC check",
        "offchain/protocols/coin.py",
        "(value,) = reveal(total, label=label)",
        "value = [f.to_signed(v) for v in f.to_ints(engine.open(total.shared, label=label)[0])]",
        (FOREST + "test_a_tampered_opening_of_the_seed_is_caught_before_any_tree",),
    ),
    Mutation(
        "random-forest: each tree compares at its own width (outside the counted budget)",
        "offchain/mining/forest.py",
        "return Id3Layout(rules, self.width, self.orgs, self.max_nodes, widest)",
        "return Id3Layout(rules, self.width, self.orgs, self.max_nodes)",
        (BUDGET,),
    ),
    Mutation(
        "random-forest: the dry run counts the cheapest subset",
        "offchain/mining/forest.py",
        "key=lambda a: (-values[a], a))",
        "key=lambda a: (values[a], a))",
        (BUDGET,),
    ),
]
