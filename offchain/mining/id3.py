"""Secure ID3 (Gini) over rows split horizontally between orgs, one tree level at a time.

The tree is public once built, so the path to each node is too: each org counts its own rows
reaching each node of the current level in the clear and inputs only those counts (bounded
input, :func:`_input_counts`). Per node: ``n``, the class counts ``t_c`` and the cells
``n_avc`` of every attribute. Then, all nodes of the level together:

1. **consistency**: each org's ``Σ_v n_avc - t_c`` (every ``a``, ``c``) and ``Σ_c t_c - n`` are
   opened and MAC-checked between the peers before anything uses them; an honest org's are 0
   (nothing is learnt), anything else aborts naming the org. With every count in ``[0, 2^w)``
   this bounds every attribute's value totals by ``n <= N = orgs (2^w - 1)``, which sizes the
   comparisons below so that no lie can wrap their masked openings;
2. the counts are summed (local); the majority class is a secure argmax (ties to the first);
   ``pure = [max_c t_c = n]``, ``empty = [n = 0]``, ``small = [n <= min_node_size]``;
3. **split** (levels above ``max_depth`` with attributes left): per attribute the Gini score
   ``Σ_v S_v / d_v`` (``S_v = Σ_c n_vc²``, ``d_v = n_v + [n_v = 0]``) as one fraction
   ``P / Q`` (pairwise fraction sums, no division), used attributes publicly set to ``-1 / 1``
   (below any real score); a secure argmax compares ``P_a Q_b < P_b Q_a`` (ties to the first
   attribute);
4. each node's code (``cls`` if a leaf, ``classes + attr`` if a split; a leaf's class is its
   parent's majority if it is empty) is computed securely and revealed, MAC-checked, at once
   for the level: it is the tree itself, and it steers the next level.

Nothing else is opened but masked comparison openings and the zero differences of step 1.

**Budget.** Preprocessing is counted before the session. Every step costs the same per node,
so ``needs`` is a dry run of one level of ``max_nodes`` splitting nodes; a real tree uses at
most that, the rest stays unused (unused random material reveals nothing). A level that would
take the tree past ``max_nodes`` raises :class:`TreeTooLarge` before its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from offchain.engine.core import Engine
from offchain.exceptions import ProtocolAbort
from offchain.mining.id3_plain import PACK_BITS, Row, TreeRules, code_bits
from offchain.sectypes import array as sectypes
from offchain.sectypes.array import SecretArray


class TreeTooLarge(ProtocolAbort):
    """The tree would need more nodes than the session's budget (``params.max_nodes``)."""


@dataclass(frozen=True)
class Id3Layout:
    """What is public: the rules, ``width`` (bits of each org's counts: ``[0, 2^width)``),
    ``orgs``, ``max_nodes`` (the budget) and ``least_score_bits``: comparisons of scores are at
    least this wide (a forest's trees share one width, so one dry run counts them all)."""

    rules: TreeRules
    width: int
    orgs: int
    max_nodes: int
    least_score_bits: int = 0

    @property
    def attrs(self) -> int:
        """Number of attributes."""
        return len(self.rules.values)

    @property
    def per_node(self) -> int:
        """Counts one org inputs per node: ``n``, the class counts, then ``n_avc``."""
        return 1 + self.rules.classes * (1 + sum(self.rules.values))

    @property
    def code_bits(self) -> int:
        """Bits of one packed node (:func:`~offchain.mining.id3_plain.code_bits`)."""
        return code_bits(self.rules)

    @property
    def output_length(self) -> int:
        """Field elements the packed tree takes."""
        per = PACK_BITS // self.code_bits
        return -(-self.max_nodes // per)

    @property
    def max_total(self) -> int:
        """The largest ``n`` at a node any inputs can give (every org at ``2^width - 1``)."""
        return self.orgs * ((1 << self.width) - 1)

    def count_bits(self) -> int:
        """Signed width holding any count (and a difference of two)."""
        return self.max_total.bit_length() + 2

    def score_bits(self) -> int:
        """Signed width holding ``P_a Q_b`` for any two attributes: ``P <= N Q`` and, as the
        ``d_v`` sum to at most ``N + m``, ``Q <= ceil((N + m) / m)^m`` (AM-GM)."""
        n = self.max_total
        q = sorted((-(-(n + m) // m)) ** m for m in self.rules.values)
        q1 = q[-1]
        q2 = q[-2] if len(q) > 1 else q1
        return max((n * q1 * q2).bit_length() + 2, self.least_score_bits)


def node_counts(
    layout: Id3Layout, rows: Sequence[Row], path: Sequence[tuple[int, int]]
) -> list[int]:
    """One org's counts (:attr:`Id3Layout.per_node` of them) over its ``rows`` reaching the node
    at ``path`` (``(attr, value)`` conditions): in the clear, at that org only."""
    rules = layout.rules
    here = [r for r in rows if all(r[0][a] == v for a, v in path)]
    t = [0] * rules.classes
    cells = [[[0] * rules.classes for _ in range(m)] for m in rules.values]
    for x, c in here:
        t[c] += 1
        for a, v in enumerate(x):
            cells[a][v][c] += 1
    return [len(here), *t, *(n for attr in cells for row in attr for n in row)]


@dataclass
class _Node:
    path: tuple[tuple[int, int], ...]
    parent_major: SecretArray | None  # the parent's majority class (secret), None at the root


def secure_id3(
    engine: Engine, layout: Id3Layout, rows: Sequence[Row] | None
) -> tuple[list[int], SecretArray]:
    """Grow the tree on every org's rows (``rows`` at this org; ``None`` in the counting dry
    run, which runs one level of ``max_nodes`` splitting nodes). Returns the revealed codes
    (breadth first, :func:`~offchain.mining.id3_plain.tree_codes`) and the packed tree as a
    secret output (:attr:`Id3Layout.output_length` elements)."""
    rules = layout.rules
    room = engine.field.bits - 44  # offchain.preprocessing.widths: 40-bit masks and a margin
    if layout.score_bits() > room:
        raise ValueError(
            f"id3 scores need {layout.score_bits()}-bit comparisons; this field holds at most "
            f"{room} (lower params.max_rows)"
        )
    if rows is None:
        nodes = [_Node((), None)] * layout.max_nodes
        secret, _ = _level(engine, layout, nodes, None, 0)
        return [], _pack(engine, layout, [secret])
    codes: list[int] = []
    secrets: list[SecretArray] = []
    frontier = [_Node((), None)]
    depth = 0
    while frontier:
        if len(codes) + len(frontier) > layout.max_nodes:
            raise TreeTooLarge(
                f"id3: the tree needs more than params.max_nodes = {layout.max_nodes} nodes "
                f"(level {depth} has {len(frontier)} after {len(codes)}); nothing of this level "
                "was input"
            )
        secret, major = _level(engine, layout, frontier, rows, depth)
        engine.check_between_peers()  # every opening so far is checked before the reveal
        (opened,) = sectypes.reveal(secret, label=f"id3/level-{depth}")
        secrets.append(secret)
        nxt = []
        for k, (node, code) in enumerate(zip(frontier, opened, strict=True)):
            if not 0 <= code < rules.classes + layout.attrs:
                raise ProtocolAbort(f"id3: level {depth} revealed an impossible node code")
            codes.append(code)
            if code >= rules.classes:
                a = code - rules.classes
                nxt += [
                    _Node((*node.path, (a, v)), major[k : k + 1]) for v in range(rules.values[a])
                ]
        frontier, depth = nxt, depth + 1
    return codes, _pack(engine, layout, secrets)


def _level(
    engine: Engine, layout: Id3Layout, nodes: list[_Node], rows: Sequence[Row] | None, depth: int
) -> tuple[SecretArray, SecretArray]:
    """The secret codes of one level's nodes and their majority classes."""
    rules, k = layout.rules, len(nodes)
    per, cls_n = layout.per_node, rules.classes
    mine = None
    if rows is not None:
        mine = [x for node in nodes for x in node_counts(layout, rows, node.path)]
    inputs = [_input_counts(engine, layout, mine if o == engine.index else None, o, k)
              for o in range(layout.orgs)]  # fmt: skip
    _check_consistent(engine, layout, inputs, k, depth)
    total = sum(inputs[1:], inputs[0])
    bn = layout.count_bits()
    n = _at(total, [j * per for j in range(k)], bn)
    t = [_at(total, [j * per + 1 + c for j in range(k)], bn) for c in range(cls_n)]
    best, major = _argmax([(x,) for x in t], lambda a, b: a[0] < b[0])
    splits = depth < min(rules.max_depth, layout.attrs)
    cells = _cells(layout, total, k, bn) if splits else []
    n_av = [[sum(row[1:], row[0]) for row in attr] for attr in cells]
    flat_av = [x for attr in n_av for x in attr]
    zero = SecretArray.concat([best[0] - n, n, *flat_av]) == 0  # one batch of zero tests
    pure, empty = zero[0:k], zero[k : 2 * k]
    parent = (
        SecretArray.concat([nd.parent_major for nd in nodes])
        if nodes[0].parent_major is not None
        else major.constant(0)
    )
    if not splits:
        return major + empty * (parent - major), major
    zero_av = [zero[2 * k + j * k : 2 * k + (j + 1) * k] for j in range(len(flat_av))]
    attr = _best_attribute(engine, layout, nodes, cells, n_av, zero_av)
    small = 1 - (n > rules.min_node_size)
    both = SecretArray.concat([pure, empty]) * SecretArray.concat([small, parent - major])
    leaf = pure + small - both[0:k]
    cls = major + both[k : 2 * k]
    split_code = attr + cls_n
    return split_code + leaf * (cls - split_code), major


def _input_counts(
    engine: Engine, layout: Id3Layout, mine: list[int] | None, owner: int, k: int
) -> SecretArray:
    """Org ``owner``'s ``k`` nodes' counts, each provably in ``[0, 2^width)`` (bounded input
    of ``c - 2^(width-1)`` as a signed ``width``-bit value, shifted back locally)."""
    w = layout.width
    half = 1 << (w - 1)
    values = None if mine is None else [x - half for x in mine]
    if values is not None and any(not -half <= v < half for v in values):
        raise ValueError(f"a count is outside [0, 2^{w})")  # the bound, never the count
    shared = sectypes.secret_input(engine, values, owner, k * layout.per_node, w)
    return SecretArray(engine, (shared + half).shared, layout.count_bits())


def _check_consistent(
    engine: Engine, layout: Id3Layout, inputs: list[SecretArray], k: int, depth: int
) -> None:
    """Open every org's consistency differences (0 for an honest org), MAC-check them between
    the peers, and abort naming the first org whose differences are not all 0."""
    diffs = [_differences(layout, x, k) for x in inputs]
    opened = engine.open(*(d.shared for d in diffs), label=f"id3/consistency-{depth}")
    engine.check_between_peers()  # before the outcome steers anything
    f = engine.field
    for org, values in enumerate(opened):
        if any(v != 0 for v in f.to_ints(values)):
            raise ProtocolAbort(
                f"id3: org {org}'s counts at tree level {depth} are inconsistent (its cells "
                "do not add up to its class counts and row count)"
            )


def _differences(layout: Id3Layout, x: SecretArray, k: int) -> SecretArray:
    rules, per = layout.rules, layout.per_node
    parts = []
    for j in range(k):
        base = j * per
        t = [x[base + 1 + c : base + 2 + c] for c in range(rules.classes)]
        parts.append(sum(t[1:], t[0]) - x[base : base + 1])
        start = base + 1 + rules.classes
        for m in rules.values:
            for c in range(rules.classes):
                col = [x[start + v * rules.classes + c : start + v * rules.classes + c + 1]
                       for v in range(m)]  # fmt: skip
                parts.append(sum(col[1:], col[0]) - t[c])
            start += m * rules.classes
    return SecretArray.concat(parts)


def _at(a: SecretArray, index: Sequence[int], bits: int) -> SecretArray:
    return SecretArray(a.engine, a.shared[np.asarray(index, dtype=np.intp)], bits)


def _cells(
    layout: Id3Layout, total: SecretArray, k: int, bits: int
) -> list[list[list[SecretArray]]]:
    """``cells[a][v][c]``: the summed ``n_avc`` of every node (arrays over the ``k`` nodes)."""
    rules, per = layout.rules, layout.per_node
    out, start = [], 1 + rules.classes
    for m in rules.values:
        out.append([[_at(total, [j * per + start + v * rules.classes + c for j in range(k)], bits)
                     for c in range(rules.classes)] for v in range(m)])  # fmt: skip
        start += m * rules.classes
    return out


def _best_attribute(
    engine: Engine,
    layout: Id3Layout,
    nodes: list[_Node],
    cells: list[list[list[SecretArray]]],
    n_av: list[list[SecretArray]],
    zero_av: list[SecretArray],
) -> SecretArray:
    """The index of each node's best unused attribute (secure argmax of Gini fractions)."""
    k, sb = len(nodes), layout.score_bits()
    flat = [c for attr in cells for row in attr for c in row]
    sq = SecretArray.concat(flat) * SecretArray.concat(flat)  # one round for every n_avc²
    squares = [sq[j * k : (j + 1) * k] for j in range(len(flat))]
    fractions, i, z = [], 0, iter(zero_av)
    for attr, totals in zip(cells, n_av, strict=True):
        row = []
        for cell_row, n_v in zip(attr, totals, strict=True):
            s = squares[i : i + len(cell_row)]
            i += len(cell_row)
            row.append((sum(s[1:], s[0]), n_v + next(z)))
        fractions.append(row)
    scores = _sum_fractions(fractions)
    used = [[any(a == b for b, _ in node.path) for node in nodes] for a in range(layout.attrs)]
    records = []
    for (p, q), mask in zip(scores, used, strict=True):
        u = [int(x) for x in mask]
        keep = [1 - x for x in u]
        p = SecretArray(engine, (p * keep - u).shared, sb)  # used: -1/1, below any real score
        q = SecretArray(engine, (q * keep + u).shared, sb)
        records.append((p, q))
    _, index = _argmax(records, lambda a, b: a[0] * b[1] < b[0] * a[1])
    return index


def _sum_fractions(groups: list[list[tuple[SecretArray, SecretArray]]]) -> list[tuple]:
    """``Σ_v p_v / q_v`` per group as one fraction, pairwise (``p q' + p' q``, ``q q'``): every
    group's pairs of one level in one multiplication round."""
    groups = [list(g) for g in groups]
    while any(len(g) > 1 for g in groups):
        lefts, rights, where = [], [], []
        for gi, g in enumerate(groups):
            for j in range(0, len(g) - 1, 2):
                (p1, q1), (p2, q2) = g[j], g[j + 1]
                lefts += [p1, p2, q1]
                rights += [q2, q1, q2]
                where.append((gi, j))
        prod = SecretArray.concat(lefts) * SecretArray.concat(rights)
        size = len(groups[where[0][0]][0][0])
        new = [[] for _ in groups]
        done = {w: n for n, w in enumerate(where)}
        for gi, g in enumerate(groups):
            for j in range(0, len(g), 2):
                if (gi, j) in done:
                    base = 3 * done[(gi, j)] * size
                    a, b, c = (prod[base + t * size : base + (t + 1) * size] for t in range(3))
                    new[gi].append((a + b, c))
                else:
                    new[gi].append(g[j])
        groups = new
    return [g[0] for g in groups]


Record = tuple[SecretArray, ...]


def _argmax(
    cands: list[Record], less: Callable[[Record, Record], SecretArray]
) -> tuple[Record, SecretArray]:
    """Elementwise argmax over candidates (each a record of arrays over the nodes): a
    tournament, each level's pairs in one comparison and one selection round; ties to the
    lower index. Returns the best record and its index."""
    size = len(cands[0][0])
    cur = [(*rec, rec[0].constant(j)) for j, rec in enumerate(cands)]
    while len(cur) > 1:
        pairs = len(cur) // 2
        lo = [cur[2 * j] for j in range(pairs)]
        hi = [cur[2 * j + 1] for j in range(pairs)]
        fields = len(cur[0])
        lo_f = tuple(SecretArray.concat([r[f] for r in lo]) for f in range(fields))
        hi_f = tuple(SecretArray.concat([r[f] for r in hi]) for f in range(fields))
        take = less(lo_f[:-1], hi_f[:-1])  # the higher index wins only if strictly larger
        bits = SecretArray.concat([take] * fields)
        diff = SecretArray.concat([h - lo_ for h, lo_ in zip(hi_f, lo_f, strict=True)])
        chosen = SecretArray.concat(list(lo_f)) + bits * diff
        width = pairs * size
        merged = [chosen[f * width : (f + 1) * width] for f in range(fields)]
        winners = [
            tuple(
                _keep_bits(merged[f][j * size : (j + 1) * size], cur[0][f]) for f in range(fields)
            )
            for j in range(pairs)
        ]
        cur = winners + cur[2 * pairs :]
    best = cur[0]
    return best[:-1], best[-1]


def _keep_bits(a: SecretArray, like: SecretArray) -> SecretArray:
    return SecretArray(a.engine, a.shared, like.bits)


def _pack(engine: Engine, layout: Id3Layout, levels: list[SecretArray]) -> SecretArray:
    """The codes (plus one; 0 marks the end) packed ``PACK_BITS // code_bits`` per element,
    lowest first: a public linear combination (local)."""
    b = layout.code_bits
    per = PACK_BITS // b
    codes = SecretArray.concat(levels) + 1
    out = []
    for e in range(layout.output_length):
        chunk = codes[e * per : (e + 1) * per]
        if len(chunk) == 0:
            out.append(codes[0:1] * 0)
            continue
        weights = [1 << (b * j) for j in range(len(chunk))]
        out.append((chunk * weights).sum())
    return SecretArray(engine, SecretArray.concat(out).shared, PACK_BITS + 2)
