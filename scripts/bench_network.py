"""Benchmark one ``stats`` session as separate processes over different networks: where each
org's time goes (the chain, the network, computation), time and bytes per round.

Each run deploys a fresh consortium on a ganache node this script starts, runs ``chainmpc
preprocess serve`` and three ``chainmpc peer`` processes (tests/helpers/consortium.py) on:

- ``loopback``: every endpoint 127.0.0.1;
- ``netns``: one network namespace per org, veth pairs to a bridge in the root namespace,
  where ganache and the service listen (tests/helpers/netns.py; needs root);
- ``netns+R ms``: the same with ``tc netem`` adding R ms round-trip time between orgs, only
  where the kernel has netem (detected; otherwise reported as skipped, never imitated).

The job is examples/stats.toml, and with ``--rows N`` also the same schema on N generated rows
per org. Figures come from each peer's ``stats.json``: ``wall_seconds``; the shares of the wall
time spent on the chain (``chain_seconds``), blocked in recv (``network_wait_seconds``), and
the rest (computation, and process overheads); and, per session phase (``per_phase``), its
seconds, rounds, time and bytes sent per round and the same three shares of its time. The
headline time and bytes per round are the compute phase's (input sharing and the job).

    sudo python scripts/bench_network.py [--rows 100] [--rtt 1,10,50] [--setups loopback,netns]
                                         [--no-warmup] [--json docs/bench/network.json]
                                         [--plot docs/bench/network.png]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chainmpc.jobs.registry import load_job  # noqa: E402
from tests.helpers.consortium import Placement, SessionRun, build_consortium  # noqa: E402
from tests.helpers.netns import NetnsError, Topology, network, unavailable  # noqa: E402
from tests.helpers.node import ganache  # noqa: E402

EXAMPLE = ROOT / "examples" / "stats.toml"
NETEM_SKIPPED = "netem not available in this kernel: skipped"


def generated_job(tmp: Path, rows: int, seed: int = 7) -> Path:
    """examples/stats.toml with ``rows`` generated rows per org of the same schema."""
    shutil.copy(EXAMPLE, tmp / "stats.toml")
    (tmp / "stats").mkdir()
    rng = random.Random(seed)
    for org in "abc":
        lines = ["age,bmi,sex,outcome"]
        for _ in range(rows):
            lines.append(f"{rng.randint(18, 95)},{rng.uniform(15, 45):.1f},"
                         f"{rng.choice('fm')},{rng.choice(['no', 'yes'])}")  # fmt: skip
        (tmp / "stats" / f"{org}.csv").write_text("\n".join(lines) + "\n")
    return tmp / "stats.toml"


def plaintext(job_file: Path) -> dict[str, Any]:
    """The job's result computed in the clear from every CSV (what result.json must say)."""
    job = load_job(job_file)
    result = job.result(job.expected([job.load_input(k) for k in range(job.orgs)]))
    return json.loads(json.dumps(result))  # as result.json holds it


def phase_figures(stats: list[dict]) -> dict[str, dict]:
    """Per session phase, over the orgs (each org's ``per_phase`` in its ``stats.json``): the
    slowest org's seconds, the rounds, time and bytes sent per round, and the mean shares of
    the phase's time on the chain, blocked on the network, and the rest (computation)."""
    out: dict[str, dict] = {}
    for phase in stats[0]["per_phase"]:
        rows = [s["per_phase"][phase] for s in stats]
        seconds = max(r["seconds"] for r in rows)
        rounds = max(r["rounds"] for r in rows)
        chain = _share(rows, "chain_seconds")
        net = _share(rows, "network_wait_seconds")
        out[phase] = {
            "seconds": seconds,
            "rounds": rounds,
            "seconds_per_round": seconds / rounds if rounds else None,
            "bytes_per_round": (
                sum(r["bytes_sent"] for r in rows) / len(rows) / rounds if rounds else None
            ),  # fmt: skip
            "chain_share": round(chain, 4),
            "network_share": round(net, 4),
            "rest_share": round(max(0.0, 1 - chain - net), 4),
        }
    return out


def _share(rows: list[dict], key: str) -> float:
    """Mean over the orgs of ``key``'s share of each org's phase time."""
    return sum(r[key] / r["seconds"] if r["seconds"] else 0.0 for r in rows) / len(rows)


def summarise(setup: str, dataset: str, rows: int, run: SessionRun, want: dict) -> dict:
    """The figures of one run (module docstring), per org, per phase and over the orgs."""
    if any(run.codes.values()):
        failed = {o: c for o, c in run.codes.items() if c}
        tails = {o: run.logs[o].splitlines()[-3:] for o in failed}
        raise SystemExit(f"{setup}/{dataset}: peers failed {failed}: {tails}")
    orgs = {}
    for org, s in run.stats.items():
        wall = s["wall_seconds"]
        chain, net = s["chain_seconds"] / wall, s["network_wait_seconds"] / wall
        orgs[org] = {
            "wall_seconds": wall,
            "compute_phase_seconds": s["per_phase"]["compute"]["seconds"],
            "chain_share": round(chain, 4),
            "network_share": round(net, 4),
            "rest_share": round(max(0.0, 1 - chain - net), 4),
            "raw": s,
        }
    stats = list(run.stats.values())
    phases = phase_figures(stats)
    compute = phases["compute"]
    return {
        "setup": setup,
        "dataset": dataset,
        "rows_per_org": rows,
        "correct": all(r.get("result") == want for r in run.results.values()),
        "wall_seconds": max(s["wall_seconds"] for s in stats),
        "processes_seconds": round(run.seconds, 3),
        "rounds": max(s["rounds"] for s in stats),
        "compute_phase_seconds": compute["seconds"],
        "compute_rounds": compute["rounds"],
        "seconds_per_round": compute["seconds_per_round"],
        "bytes_per_round": compute["bytes_per_round"],
        "phases": phases,
        "orgs": orgs,
    }


def _mean(run: dict, key: str) -> float:
    return sum(o[key] for o in run["orgs"].values()) / len(run["orgs"])


def _per_round(value: float | None, scale: float, width: int, decimals: int) -> str:
    """A per-round figure, or "-" for a phase with no rounds (all its time is the chain's)."""
    return f"{scale * value:{width}.{decimals}f}" if value is not None else f"{'-':>{width}}"


def report(run: dict) -> None:
    """One block of lines per run: the totals, each org's shares, then a row per phase."""
    mark = "" if run["correct"] else "  RESULT DIFFERS FROM PLAINTEXT"
    print(f"{run['setup']:<14} {run['dataset']:<10} wall {run['wall_seconds']:6.2f} s  "
          f"rounds {run['rounds']:4d}  compute {1000 * run['seconds_per_round']:7.2f} ms/round  "
          f"{run['bytes_per_round']:9.0f} B/round{mark}")  # fmt: skip
    for org, o in run["orgs"].items():
        print(f"    {org:<12} chain {100 * o['chain_share']:5.1f}%  network "
              f"{100 * o['network_share']:5.1f}%  rest {100 * o['rest_share']:5.1f}%")  # fmt: skip
    print(f"    {'phase':<18} {'seconds':>8} {'rounds':>6} {'ms/round':>9} {'B/round':>9} "
          f"{'chain':>6} {'network':>7} {'rest':>6}")  # fmt: skip
    for name, p in run["phases"].items():
        print(f"    {name:<18} {p['seconds']:8.2f} {p['rounds']:6d} "
              f"{_per_round(p['seconds_per_round'], 1000, 9, 2)} "
              f"{_per_round(p['bytes_per_round'], 1, 9, 0)} {100 * p['chain_share']:5.1f}% "
              f"{100 * p['network_share']:6.1f}% {100 * p['rest_share']:5.1f}%")  # fmt: skip


def run_on(name: str, where: Placement, datasets: list[tuple[str, int, Path]],
           work: Path, warmup: bool) -> list[dict]:  # fmt: skip
    """Every dataset once on ``where``, against one ganache on ``where.host``; first, with
    ``warmup``, one untimed session (a fresh node and cold caches slow the first session by
    seconds, and the waiting shows up as every other org's chain time)."""
    out = []
    with ganache(where.host) as rpc:
        if warmup:
            print(f"warming up {name} ...", flush=True)
            summarise(name, "warm-up", 2, build_consortium(work / f"{name}-warmup", rpc, EXAMPLE,
                                                           where).run_session(),
                      plaintext(EXAMPLE))  # fmt: skip
        for dataset, rows, job_file in datasets:
            print(f"running {name} / {dataset} ...", flush=True)
            run = build_consortium(work / f"{name}-{dataset}", rpc, job_file, where).run_session()
            out.append(summarise(name, dataset, rows, run, plaintext(job_file)))
            report(out[-1])
    return out


def namespaces(topo: Topology, orgs: int) -> Placement:
    """Each org in its namespace, ganache and the service on the bridge."""
    return Placement("netns", topo.host_ip, tuple(topo.org_ip(i) for i in range(orgs)),
                     tuple(tuple(topo.prefix(i)) for i in range(orgs)))  # fmt: skip


def plot(runs: list[dict], path: Path) -> None:
    """Stacked seconds (chain, network, rest; mean over orgs) and ms per round, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['setup']}\n{r['dataset']}" for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.7 * len(runs) + 2))
    start = [0.0] * len(runs)
    for key, label, colour in (("chain_share", "chain", "#d8a23b"),
                               ("network_share", "network wait", "#3b7dd8"),
                               ("rest_share", "rest (computation)", "#5aa469")):  # fmt: skip
        secs = [_mean(r, key) * _mean(r, "wall_seconds") for r in runs]
        left.barh(labels, secs, left=start, color=colour, label=label)
        start = [a + b for a, b in zip(start, secs, strict=True)]
    left.invert_yaxis()
    left.set_xlabel("seconds per org (mean of the three)")
    left.set_title("Where each org's session time goes")
    left.legend(loc="lower right", fontsize=8)
    right.barh(labels, [1000 * r["seconds_per_round"] for r in runs], color="#7d3bd8")
    right.invert_yaxis()
    right.set_xlabel("compute phase: ms / round")
    right.set_title("Time per round")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100, help="generated rows per org (0: none)")
    ap.add_argument("--rtt", default="1,10,50", help="netem round-trip times in ms")
    ap.add_argument("--setups", default="loopback,netns", help="loopback and/or netns")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed first session")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--plot", type=Path, help="write a PNG of the figures")
    args = ap.parse_args()
    # A SIGTERM must unwind through the finally blocks that remove the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    warm = not args.no_warmup
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    runs: list[dict] = []
    netem = "not tried"
    with tempfile.TemporaryDirectory(prefix="chainmpc-netbench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        datasets = [("example", 2, EXAMPLE)]
        if args.rows > 0:
            (work / "data").mkdir()
            generated = generated_job(work / "data", args.rows)
            datasets.append((f"{args.rows} rows", args.rows, generated))
        if "loopback" in setups:
            runs += run_on("loopback", Placement.loopback(3), datasets, work, warm)
        if "netns" in setups:
            reason = unavailable()
            try:
                topo = stack.enter_context(network(3)) if reason is None else None
            except NetnsError as exc:
                topo, reason = None, str(exc)
            if topo is None:
                print(f"network namespaces not usable ({reason}): skipped")
                netem = f"not tried: {reason}"
            else:
                runs += run_on("netns", namespaces(topo, 3), datasets, work, warm)
                if topo.netem_available():
                    netem = "available"
                    for rtt in (float(r) for r in args.rtt.split(",")):
                        topo.delay(rtt)
                        where = namespaces(topo, 3)
                        runs += run_on(f"netns+{rtt:g}ms", where, datasets, work, warm)
                    topo.delay(0)
                else:
                    netem = NETEM_SKIPPED
                    print(NETEM_SKIPPED)
    command = "sudo python scripts/bench_network.py " + " ".join(
        a for a in sys.argv[1:] if a != "--"
    )
    doc = {
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },  # fmt: skip
        "netem": netem,
        "command": command.strip(),
        "runs": runs,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    if args.plot and runs:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(runs, args.plot)
    print(f"re-run with: {command.strip()}")


if __name__ == "__main__":
    main()
