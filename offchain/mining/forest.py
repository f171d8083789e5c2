"""Random forest: ID3 (Gini) trees on bootstrap samples and random attribute subsets, the
randomness drawn jointly.

1. **Seed.** The orgs draw a public seed with the joint coin
   (:func:`~offchain.protocols.coin.joint_random`): uniform if one org is honest, chosen by
   nobody. It is the forest's first output, so the chain records it and anyone can re-derive
   every draw below from it.
2. **Draws** (public, from the seed alone: :class:`Draws`, SHA-256 in counter mode with
   rejection sampling, so every org and the auditor derive the same numbers whatever their
   library versions). Tree ``t`` uses ``features`` attributes drawn without replacement (the
   random-subspace forest: one subset per tree; a subset per node would cost every node every
   attribute's counts). Its sample is a **bootstrap within each org**: an org of ``n_o`` rows
   draws ``n_o`` of its own rows with replacement. Every org's sample keeps its size, so no
   org's row count is revealed and every count stays in the bounded input's range.
3. **Trees.** Each tree is :func:`~offchain.mining.id3.secure_id3` on the org's resampled rows
   projected on the tree's attributes. All trees compare at the width of the widest subset
   (:meth:`ForestLayout.tree_layout`), so the preprocessing counted before the seed exists
   (:meth:`ForestLayout.worst_attributes`, the costliest subset, in the dry run) covers every
   subset the seed can pick.

:func:`plain_forest` is the same algorithm in the clear on every org's rows (kept per org for
the bootstrap): the secure forest equals it. The draws of one seed also decode the opened
trees (:meth:`ForestLayout.tree_layout` of :func:`tree_attributes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from offchain.engine.core import Engine
from offchain.mining.id3 import Id3Layout, secure_id3
from offchain.mining.id3_plain import Leaf, Row, Split, Tree, TreeRules, plain_id3
from offchain.protocols.coin import joint_random
from offchain.sectypes.array import SecretArray


class Draws:
    """Uniform integers derived from ``seed`` for one ``purpose``: SHA-256 of (domain, seed,
    purpose, counter), read 64 bits at a time, rejection-sampled below the bound."""

    def __init__(self, seed: int, purpose: str) -> None:
        self._prefix = f"chainmpc/random-forest/v1/{seed}/{purpose}/".encode()
        self._counter = 0
        self._pool: list[int] = []

    def _word(self) -> int:
        if not self._pool:
            digest = hashlib.sha256(self._prefix + str(self._counter).encode()).digest()
            self._counter += 1
            self._pool = [int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8)]
        return self._pool.pop(0)

    def below(self, bound: int) -> int:
        """A uniform integer in ``[0, bound)``."""
        limit = (1 << 64) - (1 << 64) % bound  # reject the top, which would favour low values
        while True:
            word = self._word()
            if word < limit:
                return word % bound


def tree_attributes(seed: int, tree: int, attrs: int, features: int) -> tuple[int, ...]:
    """Tree ``tree``'s ``features`` attributes out of ``attrs``, in schema order (a partial
    Fisher-Yates shuffle)."""
    draws, pool = Draws(seed, f"attributes/{tree}"), list(range(attrs))
    for i in range(features):
        j = i + draws.below(attrs - i)
        pool[i], pool[j] = pool[j], pool[i]
    return tuple(sorted(pool[:features]))


def bootstrap(seed: int, tree: int, org: int, rows: int) -> list[int]:
    """Org ``org``'s sample for tree ``tree``: ``rows`` indices into its own rows, drawn with
    replacement."""
    draws = Draws(seed, f"bootstrap/{tree}/{org}")
    return [draws.below(rows) for _ in range(rows)] if rows else []


@dataclass(frozen=True)
class ForestLayout:
    """What is public: the rules over every attribute, the counts' ``width``, ``orgs``, the
    node budget per tree, the number of trees and of attributes per tree."""

    rules: TreeRules
    width: int
    orgs: int
    max_nodes: int
    trees: int
    features: int

    def worst_attributes(self) -> tuple[int, ...]:
        """The costliest subset: the ``features`` attributes with the most values."""
        values = self.rules.values
        order = sorted(range(len(values)), key=lambda a: (-values[a], a))
        return tuple(sorted(order[: self.features]))

    def tree_layout(self, attrs: Sequence[int]) -> Id3Layout:
        """The ID3 layout of a tree on ``attrs``, comparing at the costliest subset's width."""
        values = self.rules.values
        rules = replace(self.rules, values=tuple(values[a] for a in attrs))
        worst = replace(self.rules, values=tuple(values[a] for a in self.worst_attributes()))
        widest = Id3Layout(worst, self.width, self.orgs, self.max_nodes).score_bits()
        return Id3Layout(rules, self.width, self.orgs, self.max_nodes, widest)

    @property
    def tree_outputs(self) -> int:
        """Field elements of one packed tree (the same for every subset of this size)."""
        return self.tree_layout(self.worst_attributes()).output_length

    @property
    def output_length(self) -> int:
        """The seed, then each tree packed."""
        return 1 + self.trees * self.tree_outputs


def project(rows: Sequence[Row], sample: Sequence[int], attrs: Sequence[int]) -> list[Row]:
    """The rows ``sample`` picks, keeping only the attributes ``attrs``."""
    return [(tuple(rows[i][0][a] for a in attrs), rows[i][1]) for i in sample]


def widen(tree: Tree, attrs: Sequence[int]) -> Tree:
    """``tree`` over a subset's indices, renamed to the attribute indices ``attrs`` name."""
    if isinstance(tree, Leaf):
        return tree
    return Split(attrs[tree.attr], tuple(widen(c, attrs) for c in tree.children))


def secure_forest(
    engine: Engine, layout: ForestLayout, rows: Sequence[Row] | None
) -> tuple[int, list[SecretArray]]:
    """Grow the forest (``rows`` at this org; ``None`` in the counting dry run, where every
    tree is the costliest subset's budget). Returns the seed and the outputs: the seed's
    sharing, then each tree packed (:attr:`ForestLayout.tree_outputs` elements each).

    Rounds: the coin's ``orgs + 3``, then each tree's (:func:`secure_id3`). Preprocessing:
    one input mask per org, then each tree's.
    """
    shared_seed, seed = joint_random(engine, label="random-forest/seed")
    outputs = [shared_seed]
    attrs = len(layout.rules.values)
    for t in range(layout.trees):
        if rows is None:
            chosen = layout.worst_attributes()
            mine = None
        else:
            chosen = tree_attributes(seed, t, attrs, layout.features)
            mine = project(rows, bootstrap(seed, t, engine.index, len(rows)), chosen)
        _, packed = secure_id3(engine, layout.tree_layout(chosen), mine)
        outputs.append(packed)
    return seed, outputs


def plain_forest(
    layout: ForestLayout, seed: int, org_rows: Sequence[Sequence[Row]]
) -> list[tuple[tuple[int, ...], Tree]]:
    """The forest in the clear from ``seed`` on every org's rows (``org_rows[o]``, in file
    order): each tree's attributes and the tree over them (:func:`widen` names them)."""
    attrs = len(layout.rules.values)
    forest = []
    for t in range(layout.trees):
        chosen = tree_attributes(seed, t, attrs, layout.features)
        sample = [
            r
            for o, rows in enumerate(org_rows)
            for r in project(rows, bootstrap(seed, t, o, len(rows)), chosen)
        ]
        forest.append((chosen, plain_id3(layout.tree_layout(chosen).rules, sample)))
    return forest
