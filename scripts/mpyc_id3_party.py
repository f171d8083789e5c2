"""One MPyC party of ``scripts/bench_id3.py``: chainmpc's ID3-Gini algorithm written with MPyC's
public API (semi-honest Shamir; not MPyC's ``np_id3gini`` demo, whose code is not ours).

The same rules and the same steps as :mod:`offchain.mining.id3`: the tree grows a level at a
time; each party inputs its own counts at each node of the level (``mpc.input``), the counts are
summed, the majority and the Gini fractions ``P/Q`` are computed, a tournament compares
``P_a Q_b < P_b Q_a`` (ties to the first attribute), and each node's code is opened. Being
semi-honest, it has no range or consistency checks and no MAC checks.

Run by ``bench_id3.py`` as ``python scripts/mpyc_id3_party.py --dataset car --out F.json -I i
-P host:port ...``; our options are removed from ``sys.argv`` before MPyC is imported. Party 0
writes ``{"seconds", "codes"}`` (the slowest party's time between two barriers).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ours = argparse.ArgumentParser(add_help=False)
ours.add_argument("--dataset", required=True)
ours.add_argument("--out")
ours.add_argument("--min-node-size", type=int, required=True)
ours.add_argument("--bits", type=int, required=True)
opts, rest = ours.parse_known_args()
sys.argv = [sys.argv[0], *rest]

from mpyc.runtime import mpc  # noqa: E402

from offchain.mining.id3 import Id3Layout, node_counts  # noqa: E402
from scripts.bench_id3 import dataset_rows  # noqa: E402


def gini_fraction(cells, zero, secint):  # noqa: ANN001, ANN201
    """``Σ_v S_v / d_v`` of one attribute at one node as ``(P, Q)``."""
    fr = [
        (mpc.sum([c * c for c in row]), mpc.sum(row) + z)
        for row, z in zip(cells, zero, strict=True)
    ]
    while len(fr) > 1:
        nxt = [
            (p1 * q2 + p2 * q1, q1 * q2)
            for (p1, q1), (p2, q2) in zip(
                fr[0::2], fr[1::2], strict=False
            )  # the odd one out moves up
        ]
        fr = nxt + ([fr[-1]] if len(fr) % 2 else [])
    return fr[0]


def tournament(records, less):  # noqa: ANN001, ANN201
    """Argmax with ties to the lower index: ``(record, index)``."""
    cur = [(*r, j) for j, r in enumerate(records)]
    while len(cur) > 1:
        nxt = []
        for lo, hi in zip(cur[0::2], cur[1::2], strict=False):  # the odd one out moves up
            take = less(lo[:-1], hi[:-1])
            nxt.append(tuple(mpc.if_else(take, h, lo_) for h, lo_ in zip(hi, lo, strict=True)))
        cur = nxt + ([cur[-1]] if len(cur) % 2 else [])
    return cur[0][:-1], cur[0][-1]


async def main() -> None:
    rules, parts = dataset_rows(opts.dataset, len(mpc.parties), opts.min_node_size)
    layout = Id3Layout(rules, 12, len(mpc.parties), 1 << 20)
    secint = mpc.SecInt(opts.bits)
    mine = parts[mpc.pid]
    await mpc.start()
    await mpc.barrier()
    start = time.perf_counter()
    codes: list[int] = []
    frontier = [((), None)]
    depth, c_n, attrs = 0, rules.classes, len(rules.values)
    while frontier:
        counts = [x for path, _ in frontier for x in node_counts(layout, mine, path)]
        shared = mpc.input([secint(x) for x in counts])
        total = [mpc.sum(list(col)) for col in zip(*shared, strict=True)]
        per = layout.per_node
        splits = depth < min(rules.max_depth, attrs)
        level, majors = [], []
        for j, (path, parent) in enumerate(frontier):
            x = total[j * per : (j + 1) * per]
            n, t = x[0], x[1 : 1 + c_n]
            (best,), major = tournament([(v,) for v in t], lambda a, b: a[0] < b[0])
            major = secint(0) + major
            pure, empty = best == n, n == 0
            parent = secint(0) if parent is None else parent
            cls = mpc.if_else(empty, parent, major)
            if not splits:
                level.append(cls)
                majors.append(major)
                continue
            records, start_ = [], 1 + c_n
            used = {a for a, _ in path}
            for a, m in enumerate(rules.values):
                cells = [x[start_ + v * c_n : start_ + (v + 1) * c_n] for v in range(m)]
                start_ += m * c_n
                if a in used:
                    records.append((secint(-1), secint(1)))
                    continue
                zero = [mpc.sum(row) == 0 for row in cells]
                records.append(gini_fraction(cells, zero, secint))
            _, attr = tournament(records, lambda a, b: a[0] * b[1] < b[0] * a[1])
            small = 1 - (n > rules.min_node_size)
            leaf = pure + small - pure * small
            split = secint(c_n) + attr
            level.append(mpc.if_else(leaf, cls, split))
            majors.append(major)
        opened = await mpc.output(level)
        nxt = []
        for (path, _), code, major in zip(frontier, opened, majors, strict=True):
            codes.append(int(code))
            if code >= c_n:
                a = int(code) - c_n
                nxt += [((*path, (a, v)), major) for v in range(rules.values[a])]
        frontier, depth = nxt, depth + 1
    await mpc.barrier()
    seconds = time.perf_counter() - start
    times = await mpc.transfer(seconds)
    await mpc.shutdown()
    if mpc.pid == 0 and opts.out:
        Path(opts.out).write_text(json.dumps({"seconds": max(times), "codes": codes}))


if __name__ == "__main__":
    mpc.run(main())
