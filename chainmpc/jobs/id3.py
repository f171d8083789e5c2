"""The ``id3`` kind: a decision tree (Gini) on the union of every org's rows.

Every column is a category; ``params.target`` names the class. The MPC
(:mod:`offchain.mining.id3`) grows the tree one level at a time from each org's counts at each
node; only the tree is revealed, as ``result.model.tree`` (``docs/jobs.md``, "id3"): nested
``{"attr": NAME, "children": {VALUE: subtree}}`` with leaves ``{"leaf": CLASS}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from chainmpc.exceptions import InputError
from chainmpc.jobs.base import JobSpec
from chainmpc.jobs.common import MAX_OUTPUTS, TableKind, read_org_table
from chainmpc.jobs.schema import Column, Table
from offchain.engine.core import Engine
from offchain.exceptions import OffchainError
from offchain.hazmat.field import BN254_SCALAR, field_for
from offchain.mining.id3 import Id3Layout, secure_id3
from offchain.mining.id3_plain import (
    Leaf,
    Row,
    Tree,
    TreeRules,
    pack_codes,
    plain_id3,
    tree_codes,
    tree_from_codes,
    unpack_codes,
)
from offchain.sectypes.array import SecretArray

DEFAULT_MAX_NODES = 128
DEFAULT_MAX_ROWS = 4095


class TreeKind(TableKind):
    """What ``id3`` and ``random-forest`` share: category columns, a target, ``max_rows``, the
    rows as ``(attribute value indices, class index)`` and the tree's documented JSON."""

    spec: JobSpec
    target: str
    max_rows: int

    kind: ClassVar[str]

    @staticmethod
    def tree_parameters(default_nodes: int) -> dict[str, str]:
        """The parameters every tree kind takes."""
        return {
            "target": "the category column to predict (required)",
            "criterion": '"gini" (default); "entropy" is not available in the secure job yet',
            "max_depth": "a node at this depth is a leaf; the root is at depth 0 (default: the "
            "number of attributes, i.e. no limit)",
            "min_node_size": "a node with at most this many rows is a leaf (default 1)",
            "max_nodes": f"the budget: the most nodes a tree may have; the run aborts if it "
            f"needs more (default {default_nodes})",
            "max_rows": f"the most rows one org may hold; sizes the range checks and "
            f"comparisons (default {DEFAULT_MAX_ROWS})",
        }

    @classmethod
    def parse_tree(
        cls, spec: JobSpec, default_nodes: int
    ) -> tuple[str, TreeRules, int, int, dict[str, Any]]:
        """``(target, rules, max_nodes, max_rows, params)`` from ``spec``, validated; an
        :class:`InputError` names the key."""
        params = dict(spec.params)
        known = cls.parameters  # type: ignore[attr-defined]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InputError(
                f"params.{unknown[0]}: not a parameter of kind {cls.kind} "
                f"(known: {', '.join(known)})"
            )
        if len(spec.orgs) < 2:
            raise InputError(
                f"orgs: {cls.kind} needs at least 2 orgs, the job file names {len(spec.orgs)}"
            )
        target = params.get("target")
        if not isinstance(target, str) or target not in spec.schema.names:
            raise InputError(f"params.target: {target!r} is not a declared column (required)")
        for c in spec.schema.columns:
            if c.type != "category":
                raise InputError(f"schema.columns.{c.name}: {cls.kind} takes category columns "
                                 f"only, not {c.type}")  # fmt: skip
        attrs = [c for c in spec.schema.columns if c.name != target]
        if not attrs:
            raise InputError(f"schema: {cls.kind} needs at least one column besides params.target")
        criterion = params.get("criterion", "gini")
        if criterion not in ("gini", "entropy"):
            raise InputError(f'params.criterion: "gini" or "entropy", not {criterion!r}')
        if criterion == "entropy":
            raise InputError('params.criterion: "entropy" is not available in the secure job yet')
        rules = TreeRules(
            tuple(len(c.values) for c in attrs),
            len(spec.schema[target].values),
            int_param(params, "max_depth", len(attrs), 0),
            int_param(params, "min_node_size", 1, 0),
            criterion,
        )
        max_nodes = int_param(params, "max_nodes", default_nodes, 1)
        max_rows = int_param(params, "max_rows", DEFAULT_MAX_ROWS, 1)
        return target, rules, max_nodes, max_rows, params

    def refuse_unfit(self) -> None:
        """Refuse a job whose comparisons do not fit the field sessions run on, naming
        ``params.max_rows``."""
        try:
            self.needs(field_for(BN254_SCALAR))
        except (ValueError, OffchainError) as exc:
            raise InputError(f"params.max_rows: too large for this schema ({exc})") from None

    @property
    def attributes(self) -> list[Column]:
        """The attribute columns, in schema order (every column but the target)."""
        return [c for c in self.spec.schema.columns if c.name != self.target]

    def load_input(self, org: int) -> Table:
        """Org ``org``'s CSV, read and validated against the schema."""
        return self.check_table(read_org_table(self.spec, org, self.kind), str(self.spec.data[org]))

    def check_table(self, table: Table, where: str) -> Table:
        """Refuse a table of another schema or with more than ``params.max_rows`` rows."""
        if table.schema != self.spec.schema:
            raise InputError(f"{where}: the table's schema is not the job's")
        if table.rows > self.max_rows:
            raise InputError(
                f"{where}: {table.rows} rows; params.max_rows allows {self.max_rows} per org"
            )
        return table

    def rows(self, table: Table) -> list[Row]:
        """The table as ``(attribute value indices, class index)`` rows."""
        attrs = [table.columns[c.name] for c in self.attributes]
        return [
            (tuple(col[i] for col in attrs), table.columns[self.target][i])
            for i in range(table.rows)
        ]

    def to_json(self, tree: Tree) -> dict[str, Any]:
        """The documented nested form of ``tree``, with column and value names."""
        if isinstance(tree, Leaf):
            return {"leaf": self.spec.schema[self.target].values[tree.cls]}
        col = self.attributes[tree.attr]
        return {
            "attr": col.name,
            "children": {
                v: self.to_json(child) for v, child in zip(col.values, tree.children, strict=True)
            },
        }


@dataclass(frozen=True)
class Id3Job(TreeKind):
    """``id3`` over ``spec``: the tree grown by the rules of :mod:`offchain.mining.id3_plain`."""

    spec: JobSpec
    target: str
    max_rows: int
    layout: Id3Layout

    kind: ClassVar[str] = "id3"
    summary: ClassVar[str] = "a decision tree (ID3, Gini) on every org's category columns"
    parameters: ClassVar[dict[str, str]] = TreeKind.tree_parameters(DEFAULT_MAX_NODES)

    @classmethod
    def from_spec(cls, spec: JobSpec) -> Id3Job:
        """Validate ``spec.params`` and the schema; :class:`InputError` names the key."""
        target, rules, max_nodes, max_rows, _ = cls.parse_tree(spec, DEFAULT_MAX_NODES)
        layout = Id3Layout(rules, max_rows.bit_length(), len(spec.orgs), max_nodes)
        if layout.output_length > MAX_OUTPUTS:
            per = max_nodes // layout.output_length
            raise InputError(
                f"params.max_nodes: {max_nodes} nodes take {layout.output_length} outputs "
                f"(about {per} per output); a session reveals at most {MAX_OUTPUTS}"
            )
        job = cls(spec, target, max_rows, layout)
        job.refuse_unfit()
        return job

    # -- the Job protocol ----------------------------------------------------------------

    @property
    def output_length(self) -> int:
        """The packed tree's field elements (:attr:`Id3Layout.output_length`)."""
        return self.layout.output_length

    def program(self, engine: Engine, own: Table | None = None) -> list[SecretArray]:
        """Grow the tree (:func:`~offchain.mining.id3.secure_id3`); the packed tree is the
        output."""
        _, packed = secure_id3(engine, self.layout, None if own is None else self.rows(own))
        return [packed]

    def plain_tree(self, inputs: list[Table]) -> Tree:
        """The tree grown in the clear on every org's rows together."""
        return plain_id3(self.layout.rules, [r for t in inputs for r in self.rows(t)])

    def expected(self, inputs: list[Table], opened: Sequence[int] | None = None) -> list[int]:
        """The packed plaintext tree (what the session must open)."""
        rules = self.layout.rules
        return pack_codes(rules, tree_codes(rules, self.plain_tree(inputs)), self.output_length)

    def result(self, opened: list[int]) -> dict[str, Any]:
        """``{"model": {"tree": ...}, "nodes": N}`` from the opened packed tree."""
        if len(opened) != self.output_length:
            raise InputError(f"{len(opened)} outputs; this id3 job has {self.output_length}")
        tree, nodes = decode_tree(self.layout.rules, opened)
        return {"model": {"tree": self.to_json(tree)}, "nodes": nodes}


def decode_tree(rules: TreeRules, packed: Sequence[int]) -> tuple[Tree, int]:
    """The tree (and its node count) a packed output opens to; :class:`InputError` if it is
    not a whole tree."""
    codes = unpack_codes(rules, packed)
    try:
        return tree_from_codes(rules, codes), len(codes)
    except ValueError as exc:
        raise InputError(f"the opened outputs are not a tree: {exc}") from None


def int_param(params: dict[str, Any], key: str, default: int, lowest: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise InputError(f"params.{key}: an integer >= {lowest}, not {value!r}")
    return value
