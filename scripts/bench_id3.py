"""Benchmark: chainmpc's secure ID3-Gini against the same algorithm written with MPyC.

For each dataset (default car, SPECT, KRKPA7; rows split into three near-equal blocks), three
local parties, each its own OS process over loopback TCP:

* chainmpc (actively secure, on BN254, the field sessions run on): the material is dealt in
  the parent (the preprocessing service's work), then each party sacrifice-checks its
  triples, checks the dealt bits and input masks, and grows the tree
  (:func:`offchain.mining.id3.secure_id3`, with its range and consistency checks and MAC
  checks). ``chainmpc_online_s``: growing the tree (slowest party); ``chainmpc_total_s``: dealing
  plus the material checks plus online. No chain: on-chain steps are not part of this;
* MPyC (semi-honest Shamir, ``scripts/mpyc_id3_party.py``): the same steps with MPyC's API.

Rules: Gini, no depth limit, a node with at most 5% of the rows is a leaf; ``max_nodes`` is the
plaintext tree's size (the budget exactly). ``same_tree``: both trees equal the plaintext one.

    python scripts/bench_id3.py [--datasets car SPECT KRKPA7] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offchain.mining.id3_plain import TreeRules, plain_id3, tree_codes  # noqa: E402
from tests.helpers.datasets import categorical_rows, split  # noqa: E402

TARGETS = {"balance-scale": 0, "house-votes-84": 0}  # the class column, where not last


def dataset_rows(name: str, orgs: int, min_node_size: int | None = None) -> tuple[TreeRules, list]:
    """The rules and each org's rows (``(value indices, class)``) of a categorical dataset;
    ``min_node_size`` defaults to 5% of the rows."""
    header, raw = categorical_rows(name)
    tcol = TARGETS.get(name, len(header) - 1)
    values = [list(dict.fromkeys(r[j] for r in raw)) for j in range(len(header))]
    attrs = [j for j in range(len(header)) if j != tcol]
    rows = [(tuple(values[j].index(r[j]) for j in attrs), values[tcol].index(r[tcol])) for r in raw]
    size = int(0.05 * len(rows)) if min_node_size is None else min_node_size
    rules = TreeRules(tuple(len(values[j]) for j in attrs), len(values[tcol]), len(attrs), size)
    return rules, split(rows, orgs)


def _chainmpc_party(i, material, keys, publics, endpoints, layout, rows, needs, queue):  # noqa: ANN001
    from offchain.engine.core import Engine
    from offchain.mining.id3 import secure_id3
    from offchain.transport.mesh import PeerNetwork

    seed = b"\x07" * 32  # as if hashed from the on-chain batch commitments
    with PeerNetwork(i, keys[i], publics, endpoints, b"\x01" * 32, timeout=600) as net:
        e = Engine(material, net, b"\x01" * 32)
        t0 = time.perf_counter()
        if e.sacrifice(needs.checked_triples, 12345) or e.check_bits() or not e.check_masks(seed):
            raise SystemExit("material check failed")
        e.check_between_peers()
        net.exchange(b"")  # barrier
        t1 = time.perf_counter()
        codes, _ = secure_id3(e, layout, rows)
        net.exchange(b"")
        queue.put((i, t1 - t0, time.perf_counter() - t1, codes))


def run_chainmpc(rules: TreeRules, parts: list, max_nodes: int) -> dict:
    """Deal, check and grow the tree with three party processes; times in seconds."""
    from nacl.public import PrivateKey

    from offchain.hazmat.field import BN254_SCALAR, PrimeField
    from offchain.mining.id3 import Id3Layout, secure_id3
    from offchain.preprocessing.counting import count_needs
    from offchain.preprocessing.dealer import Dealer
    from offchain.transport.mesh import free_ports

    orgs = len(parts)
    width = max(len(p) for p in parts).bit_length()
    layout = Id3Layout(rules, width, orgs, max_nodes)
    field = PrimeField(BN254_SCALAR)
    t0 = time.perf_counter()
    needs = count_needs(lambda e: secure_id3(e, layout, None), orgs, field)
    materials = Dealer(field, orgs).deal(1, needs)
    deal_s = time.perf_counter() - t0
    keys = [PrivateKey.generate() for _ in range(orgs)]
    publics = [bytes(k.public_key) for k in keys]
    endpoints = [("127.0.0.1", p) for p in free_ports(orgs)]
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=_chainmpc_party,
            args=(i, materials[i], keys, publics, endpoints, layout, parts[i], needs, queue),
        )
        for i in range(orgs)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    check = max(r[1] for r in results)
    online = max(r[2] for r in results)
    codes = [r[3] for r in results]
    return {
        "online": online,
        "total": deal_s + check + online,
        "codes": codes[0] if all(c == codes[0] for c in codes) else None,
    }


def run_mpyc(name: str, rules: TreeRules, bits: int) -> dict:
    """The MPyC version with three party processes (``scripts/mpyc_id3_party.py``)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from mpyc_bench import _free_ports

    ports = _free_ports(3)
    peers = [a for p in ports for a in ("-P", f"127.0.0.1:{p}")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mpyc.json"
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "scripts" / "mpyc_id3_party.py"),
                    "--dataset",
                    name,
                    "--min-node-size",
                    str(rules.min_node_size),
                    "--bits",
                    str(bits),
                    "--out",
                    str(out),
                    *peers,
                    "-I",
                    str(i),
                    "--no-log",
                ],
                cwd=ROOT,
            )  # fmt: skip
            for i in range(3)
        ]
        for p in procs:
            if p.wait(timeout=3600):
                raise SystemExit(f"MPyC party exited with {p.returncode}")
        return json.loads(out.read_text())


def main() -> None:
    """Run every dataset, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["car", "SPECT", "KRKPA7"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from offchain.mining.id3 import Id3Layout

    rows = []
    for name in args.datasets:
        rules, parts = dataset_rows(name, 3)
        expected = tree_codes(rules, plain_id3(rules, [r for p in parts for r in p]))
        ours = run_chainmpc(rules, parts, len(expected))
        width = max(len(p) for p in parts).bit_length()
        bits = Id3Layout(rules, width, 3, len(expected)).score_bits()
        theirs = run_mpyc(name, rules, bits)
        same = ours["codes"] == expected and theirs["codes"] == expected
        rows.append({
            "dataset": name,
            "chainmpc_online_s": round(ours["online"], 3),
            "chainmpc_total_s": round(ours["total"], 3),
            "mpyc_s": round(theirs["seconds"], 3),
            "same_tree": same,
        })  # fmt: skip
        r = rows[-1]
        print(
            f"{name:8} nodes {len(expected):4}  chainmpc online {r['chainmpc_online_s']:8.2f} s"
            f"  total {r['chainmpc_total_s']:8.2f} s  MPyC {r['mpyc_s']:7.2f} s"
            f"  online/MPyC {r['chainmpc_online_s'] / r['mpyc_s']:6.2f}"
            f"  total/MPyC {r['chainmpc_total_s'] / r['mpyc_s']:6.2f}  same tree {same}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"datasets": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
