"""ID3 in the clear: the reference the secure tree must equal, and the tree's public form.

A tree is ``Leaf(cls)`` or ``Split(attr, children)`` over value indices (attribute ``a`` has
``values[a]`` values, the class ``classes``). Rules (``docs/jobs.md``, "id3"), shared with
:mod:`offchain.mining.id3`:

* **split** on the unused attribute maximising ``Σ_v Σ_c n_vc² / n_v`` (Gini; a value with no
  rows adds 0) or minimising the conditional entropy ``Σ_v Σ_c -n_vc log(n_vc / n_v)``; ties
  to the first attribute in schema order;
* **stop** when the node is pure, no attribute is left, it holds at most ``min_node_size`` rows,
  or it is at depth ``max_depth`` (the root at depth 0);
* **leaves** take the majority class (ties to the first class); a node with no rows takes its
  parent's majority (the root's is class 0).

:func:`tree_codes` lists a tree breadth first, one code per node: ``cls`` for a leaf, ``classes
+ attr`` for a split, children in value order; :func:`tree_from_codes` inverts it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

PACK_BITS = 120  # tree bits per output element: fits the signed range of either field
Row = tuple[tuple[int, ...], int]  # (attribute value indices, class index)


@dataclass(frozen=True)
class Leaf:
    """A leaf predicting class index ``cls``."""

    cls: int


@dataclass(frozen=True)
class Split:
    """A split on attribute index ``attr``; ``children[v]`` for its value ``v``."""

    attr: int
    children: tuple[Leaf | Split, ...]


Tree = Leaf | Split


@dataclass(frozen=True)
class TreeRules:
    """The public shape of the problem and the stopping rules."""

    values: tuple[int, ...]  # number of values of each attribute, schema order
    classes: int
    max_depth: int
    min_node_size: int
    criterion: str = "gini"


def majority(counts: Sequence[int]) -> int:
    """The first class with the largest count."""
    return max(range(len(counts)), key=lambda c: (counts[c], -c))


def gini_score(cells: Sequence[Sequence[int]]) -> Fraction:
    """``Σ_v Σ_c n_vc² / n_v`` over the value rows ``cells[v][c]`` (larger is better)."""
    return sum(
        (Fraction(sum(x * x for x in row), sum(row)) for row in cells if sum(row)), Fraction(0)
    )


def entropy_score(cells: Sequence[Sequence[int]]) -> float:
    """Minus the conditional entropy times ``n``: ``Σ_v Σ_c n_vc log(n_vc / n_v)`` (larger is
    better), in nats."""
    total = 0.0
    for row in cells:
        n_v = sum(row)
        total += sum(x * math.log(x / n_v) for x in row if x)
    return total


def plain_id3(rules: TreeRules, rows: Sequence[Row]) -> Tree:
    """The tree the rules grow on ``rows``."""
    return _grow(rules, list(rows), 0, frozenset(), 0)


def _grow(rules: TreeRules, rows: list[Row], depth: int, used: frozenset[int], parent: int) -> Tree:
    counts = [0] * rules.classes
    for _, c in rows:
        counts[c] += 1
    if not rows:
        return Leaf(parent)
    best = majority(counts)
    left = [a for a in range(len(rules.values)) if a not in used]
    stop = (
        counts[best] == len(rows)
        or not left
        or len(rows) <= rules.min_node_size
        or depth >= rules.max_depth
    )
    if stop:
        return Leaf(best)
    score = gini_score if rules.criterion == "gini" else entropy_score
    scores = []
    for a in left:
        cells = [[0] * rules.classes for _ in range(rules.values[a])]
        for x, c in rows:
            cells[x[a]][c] += 1
        scores.append(score(cells))
    attr = left[max(range(len(left)), key=lambda j: (scores[j], -j))]
    children = tuple(
        _grow(rules, [r for r in rows if r[0][attr] == v], depth + 1, used | {attr}, best)
        for v in range(rules.values[attr])
    )
    return Split(attr, children)


def tree_codes(rules: TreeRules, tree: Tree) -> list[int]:
    """The tree breadth first: ``cls`` per leaf, ``classes + attr`` per split."""
    out, queue = [], [tree]
    while queue:
        node = queue.pop(0)
        if isinstance(node, Leaf):
            out.append(node.cls)
        else:
            out.append(rules.classes + node.attr)
            queue.extend(node.children)
    return out


def tree_from_codes(rules: TreeRules, codes: Sequence[int]) -> Tree:
    """Inverse of :func:`tree_codes`; :class:`ValueError` if ``codes`` is not a whole tree."""
    it = iter(codes)

    def take() -> int:
        code = next(it, None)
        if code is None or not 0 <= code < rules.classes + len(rules.values):
            raise ValueError("the codes do not describe a whole tree")
        return code

    root_code = take()
    slots: list[list] = []
    root: list = [root_code, None]
    level = [root]
    while level:
        nxt = []
        for node in level:
            if node[0] >= rules.classes:
                node[1] = [[take(), None] for _ in range(rules.values[node[0] - rules.classes])]
                nxt.extend(node[1])
        level = nxt
        slots.extend(level)
    if next(it, None) is not None:
        raise ValueError("codes left over after a whole tree")

    def build(node: list) -> Tree:
        if node[0] < rules.classes:
            return Leaf(node[0])
        return Split(node[0] - rules.classes, tuple(build(c) for c in node[1]))

    return build(root)


def count_nodes(tree: Tree) -> int:
    """Nodes of ``tree``, leaves included."""
    if isinstance(tree, Leaf):
        return 1
    return 1 + sum(count_nodes(c) for c in tree.children)


def code_bits(rules: TreeRules) -> int:
    """Bits of one packed node (``code + 1``; 0 marks the end)."""
    return (rules.classes + len(rules.values)).bit_length()


def pack_codes(rules: TreeRules, codes: Sequence[int], length: int) -> list[int]:
    """The codes plus one, ``PACK_BITS // code_bits`` per element of ``length``, lowest first:
    what the secure tree's output opens to."""
    b = code_bits(rules)
    per = PACK_BITS // b
    out = [0] * length
    for i, code in enumerate(codes):
        out[i // per] += (code + 1) << (b * (i % per))
    return out


def unpack_codes(rules: TreeRules, packed: Sequence[int]) -> list[int]:
    """Inverse of :func:`pack_codes` (stops at the first empty slot)."""
    b = code_bits(rules)
    per = PACK_BITS // b
    codes = []
    for value in packed:
        for j in range(per):
            digit = (value >> (b * j)) & ((1 << b) - 1)
            if digit == 0:
                return codes
            codes.append(digit - 1)
    return codes
