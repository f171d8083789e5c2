"""Benchmark the preprocessing material's memory: deal, deliver and consume N triples, each role
in its own OS process, and report every process's peak RSS.

For each size N: the service process deals ``N`` checked triples (``2N`` with the sacrifice
partners) for three orgs and writes each org's sealed batch into its cache; then three org
processes, connected over loopback TCP, each open their batch (hash check, every chunk
authenticated), sacrifice-check the N triples and run N Beaver multiplications in vectors of
``--batch`` (a MAC check between peers every 10^6), ending with a MAC check. Peak RSS is each
child's own ``ru_maxrss``. ``--old`` (up to 10^6) also runs the whole-batch path:
the service deals every org's batch in memory before sealing it, and each org loads its
triples into memory, as before the chunked format.

    python scripts/bench_material.py [--sizes 1e5,1e6,1e7] [--old] [--json F] [--plot F.png]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from nacl.public import PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offchain.engine.core import Engine  # noqa: E402
from offchain.hazmat.field import Mersenne127  # noqa: E402
from offchain.preprocessing.cache import OrgCache, batch_hash, deployment_id, seal  # noqa: E402
from offchain.preprocessing.dealer import Dealer  # noqa: E402
from offchain.preprocessing.material import Needs  # noqa: E402
from offchain.preprocessing.sealed import BatchWriter  # noqa: E402
from offchain.transport.mesh import PeerNetwork, free_ports  # noqa: E402

ORGS = 3
DEP = deployment_id(1337, "0x" + "ab" * 20)
TAG = hashlib.sha256(b"bench-material").digest()
OLD_MAX = 10**6  # the whole-batch path only up to here: 13 GB of service at 10^7
CHECK_EVERY = 10**6  # multiplications between MAC checks: what the pending openings hold


def peak_mb() -> float:
    """This process's peak resident set, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def service(work: Path, triples: int, old: bool) -> dict:
    """Deal and deliver; the batch hashes and the figures."""
    setup = json.loads((work / "setup.json").read_text())
    publics = [bytes.fromhex(k) for k in setup["public_keys"]]
    start = time.perf_counter()
    dealer = Dealer(Mersenne127(), ORGS)
    if old:  # every org's whole batch in memory, sealed in memory
        hashes = []
        for i, mat in enumerate(dealer.deal(1, Needs(triples=triples))):
            sealed = seal(mat, publics[i])
            OrgCache(work / f"org{i}").deliver(DEP, 1, sealed)
            hashes.append(batch_hash(sealed))
    else:
        dealing = dealer.stream(1, Needs(triples=triples))
        with ExitStack() as stack:
            writers = [
                BatchWriter(stack.enter_context(OrgCache(work / f"org{i}").sink(DEP, 1)), pk, h)
                for i, (pk, h) in enumerate(zip(publics, dealing.headers, strict=True))
            ]
            for name, parts in dealing.chunks:
                for writer, cols in zip(writers, parts, strict=True):
                    writer.write(name, cols)
            hashes = [w.close() for w in writers]
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_mb(),
        "hashes": [h.hex() for h in hashes],
    }


def org(work: Path, index: int, triples: int, batch: int, old: bool) -> dict:
    """Open the batch, sacrifice, multiply; the figures."""
    setup = json.loads((work / "setup.json").read_text())
    key = PrivateKey(bytes.fromhex(setup["secret_keys"][index]))
    publics = [bytes.fromhex(k) for k in setup["public_keys"]]
    endpoints = [("127.0.0.1", p) for p in setup["ports"]]
    start = time.perf_counter()
    digest = bytes.fromhex(setup["hashes"][index])
    material = OrgCache(work / f"org{index}").consume(DEP, 1, digest, key)
    if old:  # every triple in memory, as the whole-batch format loaded them
        material.triples = material.triples_at(0, material.dealt_triples)
    opened = time.perf_counter()
    with PeerNetwork(index, key, publics, endpoints, TAG, timeout=600) as net:
        engine = Engine(material, net, TAG)
        # t from every batch hash: fixed only once the dealer has committed to its deal
        seed = hashlib.sha256("".join(setup["hashes"]).encode()).digest()
        if engine.sacrifice(triples, int.from_bytes(seed, "big") % engine.field.p):
            raise SystemExit("sacrifice failed")
        engine.check_between_peers()
        sacrificed = time.perf_counter()
        a, b, _ = material.triples_at(0, min(batch, triples))  # operands: any shared values
        done = 0
        while done < triples:
            k = min(batch, triples - done)
            engine.mul(a[:k], b[:k])
            done += k
            if done % CHECK_EVERY == 0 or done == triples:
                engine.check_between_peers()
        end = time.perf_counter()
    return {
        "open_seconds": opened - start,
        "sacrifice_seconds": sacrificed - opened,
        "mul_seconds": end - sacrificed,
        "seconds": end - start,
        "peak_rss_mb": peak_mb(),
    }


def run(triples: int, batch: int, old: bool) -> dict:
    """One size: the service, then the orgs, each in its own process."""
    with tempfile.TemporaryDirectory(prefix="chainmpc-bench-material-") as tmp:
        work = Path(tmp)
        keys = [PrivateKey.generate() for _ in range(ORGS)]
        setup = {
            "secret_keys": [bytes(k).hex() for k in keys],
            "public_keys": [bytes(k.public_key).hex() for k in keys],
            "ports": free_ports(ORGS),
        }
        (work / "setup.json").write_text(json.dumps(setup))
        mode = ["--old"] if old else []
        common = [sys.executable, __file__, "--work", str(work), "--triples", str(triples)]
        subprocess.run([*common, "--role", "service", *mode], check=True, timeout=7200)
        svc = json.loads((work / "service.json").read_text())
        setup["hashes"] = svc["hashes"]
        (work / "setup.json").write_text(json.dumps(setup))
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                [*common, "--role", "org", "--index", str(i), "--batch", str(batch), *mode]
            )
            for i in range(ORGS)
        ]
        try:
            for p in procs:
                if p.wait(timeout=7200) != 0:
                    raise RuntimeError(f"org process exited with {p.returncode}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        wall = time.perf_counter() - start
        orgs = [json.loads((work / f"org{i}.json").read_text()) for i in range(ORGS)]
    del svc["hashes"]
    return {
        "triples": triples,
        "path": "whole batch (old)" if old else "streamed",
        "service": svc,
        "orgs": orgs,
        "orgs_wall_seconds": wall,
        "mults_per_s": triples / max(o["mul_seconds"] for o in orgs),
        "batch_mb_per_org": 2 * triples * 6 * 16 / 2**20,  # field elements; tags add 0.02%
    }


def plot(results: list[dict], path: Path) -> None:
    """Peak RSS per role against the number of triples (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, old in (("streamed", False), ("whole batch (old)", True)):
        rows = [r for r in results if (r["path"] != "streamed") == old]
        if not rows:
            continue
        n = [r["triples"] for r in rows]
        style = "o--" if old else "o-"
        ax.plot(n, [r["service"]["peak_rss_mb"] for r in rows], style, label=f"service, {label}")
        peak = [max(o["peak_rss_mb"] for o in r["orgs"]) for r in rows]
        ax.plot(n, peak, style, label=f"largest org, {label}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("checked triples (N multiplications)")
    ax.set_ylabel("peak RSS (MB)")
    ax.set_title("Preprocessing material: peak memory per process (3 orgs, p = 2^127-1)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6", help="checked triples, comma-separated")
    parser.add_argument("--batch", type=int, default=100_000, help="multiplications per call")
    parser.add_argument("--old", action="store_true", help="also the whole-batch path")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write a plot of peak RSS here")
    parser.add_argument("--role", choices=["service", "org"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--triples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    baseline = peak_mb()  # the interpreter and its imports (numba, numpy, nacl)
    if args.role == "service":
        result = service(args.work, args.triples, args.old) | {"baseline_rss_mb": baseline}
        (args.work / "service.json").write_text(json.dumps(result))
        return
    if args.role == "org":
        result = org(args.work, args.index, args.triples, args.batch, args.old)
        result["baseline_rss_mb"] = baseline
        (args.work / f"org{args.index}.json").write_text(json.dumps(result))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        runs = [False, True] if args.old and n <= OLD_MAX else [False]
        for old in runs:
            r = run(n, args.batch, old)
            results.append(r)
            orgs = ", ".join(f"{o['peak_rss_mb']:.0f}" for o in r["orgs"])
            print(
                f"{n:>10,} triples, {r['path']:>17}: service {r['service']['peak_rss_mb']:,.0f} MB "
                f"in {r['service']['seconds']:.1f} s; orgs {orgs} MB in "
                f"{r['orgs_wall_seconds']:.1f} s; {r['mults_per_s']:,.0f} mults/s",
                flush=True,
            )
    summary = []
    for old in (r for r in results if r["path"] != "streamed"):
        new = next(r for r in results if r["triples"] == old["triples"] and r is not old)
        summary.append(
            {
                "triples": new["triples"],
                "service_rss_old_over_new": old["service"]["peak_rss_mb"]
                / new["service"]["peak_rss_mb"],
                "org_rss_old_over_new": max(o["peak_rss_mb"] for o in old["orgs"])
                / max(o["peak_rss_mb"] for o in new["orgs"]),
                "mults_per_s_new_over_old": new["mults_per_s"] / old["mults_per_s"],
            }
        )
        print(json.dumps(summary[-1]))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "compare": summary}, indent=2))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
