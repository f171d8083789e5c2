"""The forest's budget: the preprocessing counted before the seed exists (a dry run of the
costliest subset per tree) covers a tree on any subset the seed can draw, kind by kind and
width by width; a budget that misses one would stop a session midway for want of material."""

from __future__ import annotations

from itertools import combinations

import pytest

from offchain.hazmat.field import BN254_SCALAR, field_for
from offchain.mining.forest import ForestLayout, secure_forest
from offchain.mining.id3 import secure_id3
from offchain.mining.id3_plain import TreeRules
from offchain.preprocessing.counting import count_needs


@pytest.mark.parametrize("values", [(4, 4, 4, 3, 3, 3), (2, 3, 5, 2), (3, 2, 4)])
def test_the_counted_budget_covers_a_tree_on_every_subset(values: tuple[int, ...]) -> None:
    field = field_for(BN254_SCALAR)
    layout = ForestLayout(TreeRules(values, 3, 2, 1), 9, 3, 6, 1, 2)
    forest = count_needs(lambda e: secure_forest(e, layout, None), 3, field)
    budget = dict(forest.items)
    for subset in combinations(range(len(values)), 2):
        tree = count_needs(lambda e, s=subset: secure_id3(e, layout.tree_layout(s), None), 3, field)
        assert tree.triples <= forest.triples, subset
        for key, count in tree.items:
            assert count <= budget.get(key, 0), (subset, key.describe())
