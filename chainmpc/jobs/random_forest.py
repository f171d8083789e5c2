"""The ``random-forest`` kind: ID3 (Gini) trees on bootstrap samples and random attribute
subsets, the randomness drawn jointly during the session (:mod:`offchain.mining.forest`).

Only the seed and the trees are revealed: ``result.model`` is ``{"forest": [tree, ...],
"seed", "classes", "target", "schema"}``, each tree in the ``id3`` form, and ``chainmpc
predict`` takes the majority vote (ties to the first class in declared order). The plaintext
forest (:func:`~offchain.mining.forest.plain_forest`) needs the seed, which exists only once
the session has drawn it: :meth:`RandomForestJob.expected` takes it from the opened outputs
and recomputes every tree in the clear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS
from chainmpc.jobs.id3 import TreeKind, decode_tree, int_param
from chainmpc.jobs.schema import Table
from chainmpc.jobs.spec import canonical
from offchain.engine.core import Engine
from offchain.mining.forest import (
    ForestLayout,
    plain_forest,
    secure_forest,
    tree_attributes,
    widen,
)
from offchain.mining.id3_plain import Tree, pack_codes, tree_codes
from offchain.sectypes.array import SecretArray

DEFAULT_TREES = 5
DEFAULT_MAX_NODES = 32


@dataclass(frozen=True)
class RandomForestJob(TreeKind):
    """``random-forest`` over ``spec``: :class:`ForestLayout` says the trees' shape."""

    spec: JobSpec
    target: str
    max_rows: int
    layout: ForestLayout

    kind: ClassVar[str] = "random-forest"
    summary: ClassVar[str] = (
        "a random forest (ID3 Gini trees, bootstrap per org, random attribute subsets, a joint "
        "seed) on every org's category columns"
    )
    parameters: ClassVar[dict[str, str]] = {
        **TreeKind.tree_parameters(DEFAULT_MAX_NODES),
        "trees": f"how many trees (default {DEFAULT_TREES})",
        "max_features": "attributes per tree, drawn without replacement (default: the square "
        "root of the number of attributes, rounded down, at least 1)",
    }

    @classmethod
    def from_spec(cls, spec: JobSpec) -> RandomForestJob:
        """Validate ``spec.params`` and the schema; :class:`InputError` names the key."""
        target, rules, max_nodes, max_rows, params = cls.parse_tree(spec, DEFAULT_MAX_NODES)
        attrs = len(rules.values)
        trees = int_param(params, "trees", DEFAULT_TREES, 1)
        features = int_param(params, "max_features", max(1, math.isqrt(attrs)), 1)
        if features > attrs:
            raise InputError(
                f"params.max_features: {features}, but the schema has {attrs} attributes"
            )
        layout = ForestLayout(
            rules, max_rows.bit_length(), len(spec.orgs), max_nodes, trees, features
        )
        if layout.output_length > MAX_OUTPUTS:
            raise InputError(
                f"params.trees, params.max_nodes: {trees} trees of {max_nodes} nodes take "
                f"{layout.output_length} outputs (the seed and {layout.tree_outputs} per tree); "
                f"a session reveals at most {MAX_OUTPUTS}"
            )
        job = cls(spec, target, max_rows, layout)
        job.refuse_unfit()
        return job

    # -- the Job protocol ----------------------------------------------------------------

    @property
    def output_length(self) -> int:
        """The seed, then every tree packed (:attr:`ForestLayout.output_length`)."""
        return self.layout.output_length

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """Draw the seed, grow the trees (:func:`~offchain.mining.forest.secure_forest`)."""
        _, outputs = secure_forest(engine, self.layout, None if own is None else self.rows(own))
        return outputs

    def plain_forest(self, inputs: list[Table], seed: int) -> list[tuple[tuple[int, ...], Tree]]:
        """The forest grown in the clear from ``seed`` on every org's rows: each tree's
        attributes and the tree over them."""
        return plain_forest(self.layout, seed, [self.rows(t) for t in inputs])

    def expected(
        self, inputs: list[Table], opened: Sequence[int] | None = None
    ) -> list[int] | None:
        """The seed the session drew (``opened[0]``), then the plaintext trees from it packed:
        what the session must open. ``None`` without ``opened``: there is no seed yet."""
        if not opened:
            return None
        seed = int(opened[0])
        out = [seed]
        for chosen, tree in self.plain_forest(inputs, seed):
            rules = self.layout.tree_layout(chosen).rules
            out += pack_codes(rules, tree_codes(rules, tree), self.layout.tree_outputs)
        return out

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"model": {"forest", "seed", ...}, "nodes": [per tree]}`` from the opened
        outputs."""
        if len(opened) != self.output_length:
            raise InputError(
                f"{len(opened)} outputs; this random-forest job has {self.output_length}"
            )
        seed, per = int(opened[0]), self.layout.tree_outputs
        attrs, forest, nodes = len(self.layout.rules.values), [], []
        for t in range(self.layout.trees):
            chosen = tree_attributes(seed, t, attrs, self.layout.features)
            packed = opened[1 + t * per : 1 + (t + 1) * per]
            tree, count = decode_tree(self.layout.tree_layout(chosen).rules, packed)
            forest.append(self.to_json(widen(tree, chosen)))
            nodes.append(count)
        model = {
            "forest": forest,
            "seed": str(seed),
            "classes": list(self.spec.schema[self.target].values),
            "target": self.target,
            "schema": canonical(self.spec)["schema"],  # what `predict` checks rows against
        }
        return {"model": model, "nodes": nodes}
