"""Benchmark MPyC (semi-honest Shamir) with separate party processes over loopback TCP.

``run_mpyc()`` picks free 127.0.0.1 ports, starts one ``scripts/mpyc_party.py`` process per party
(``-P 127.0.0.1:<port>`` for every party, ``-I <i>``, ``--no-log``), waits for all of them, and
reads the JSON that party 0 writes. Party 0 has already summed the per-party byte counters and
taken the slowest party's wall time (see the docstring of ``mpyc_party.py`` for exactly what is
timed and how bytes and rounds are counted). On error or timeout the remaining party processes are
killed by PID.

Usage as a library (with ``scripts/`` on ``sys.path``)::

    from mpyc_bench import run_mpyc
    res = run_mpyc(mul_n=100_000, lt_n=10_000, reps=3)

Usage from the command line::

    python scripts/mpyc_bench.py [--mul 100000] [--lt 10000] [--reps 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARTY_SCRIPT = Path(__file__).resolve().with_name("mpyc_party.py")


def _free_ports(n: int) -> list[int]:
    """Return ``n`` distinct TCP ports that are currently free.

    MPyC's listening parties bind to all interfaces, so the ports are probed the same way; the
    sockets are held open until all ``n`` ports are chosen so the ports are distinct.
    """
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _kill_all(procs: list[subprocess.Popen]) -> None:
    """Kill the given still-running processes (by PID, via their Popen handles)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)


def _tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def _run_once(
    mul_n: int, lt_n: int, reps: int, parties: int, timeout: float, extra_args: list[str]
) -> dict[str, Any]:
    ports = _free_ports(parties)
    addr_args = [a for port in ports for a in ("-P", f"127.0.0.1:{port}")]
    with tempfile.TemporaryDirectory(prefix="mpyc_bench_") as tmp:
        tmpdir = Path(tmp)
        out_json = tmpdir / "result.json"
        procs: list[subprocess.Popen] = []
        logs: list[Path] = []
        try:
            for i in range(parties):
                cmd = [
                    sys.executable,
                    str(PARTY_SCRIPT),
                    *addr_args,
                    "-I",
                    str(i),
                    "--no-log",
                    "--mul",
                    str(mul_n),
                    "--lt",
                    str(lt_n),
                    "--reps",
                    str(reps),
                    *extra_args,
                ]
                if i == 0:
                    cmd += ["--out", str(out_json)]
                log = tmpdir / f"party{i}.log"
                logs.append(log)
                with open(log, "wb") as fh:
                    procs.append(
                        subprocess.Popen(
                            cmd,
                            stdout=fh,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            cwd=tmp,
                        )
                    )
            deadline = time.monotonic() + timeout
            while True:
                codes = [p.poll() for p in procs]
                failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
                if failed:
                    i = failed[0]
                    raise RuntimeError(
                        f"MPyC party {i} exited with code {codes[i]}:\n{_tail(logs[i])}"
                    )
                if all(c == 0 for c in codes):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"MPyC benchmark exceeded {timeout} s; party 0 log:\n{_tail(logs[0])}"
                    )
                time.sleep(0.05)
        finally:
            _kill_all(procs)
        return json.loads(out_json.read_text())


def run_mpyc(
    mul_n: int = 100_000,
    lt_n: int = 10_000,
    reps: int = 3,
    parties: int = 3,
    timeout: float = 600,
    extra_args: list[str] | None = None,
) -> dict[str, Any]:
    """Run the MPyC benchmark with ``parties`` local processes; return throughput and costs.

    Returns ``system``, ``mul_per_s``, ``lt_per_s`` (elements per second of vectorised
    ``SecInt(32)`` ``x * y`` resp. ``x < y`` on ``mul_n`` resp. ``lt_n`` elements, ``reps``
    back-to-back repetitions, slowest party's wall time), ``bytes_per_mul`` and ``bytes_per_lt``
    (bytes sent by all parties together, from MPyC's own counters), ``rounds_per_lt`` (network
    rounds on the critical path of one comparison, measured by delay injection) and ``details``
    (everything party 0 reported). ``extra_args`` are passed to every party (e.g. MPyC options
    such as ``['--no-prss']``). Raises ``RuntimeError`` / ``TimeoutError`` if a party fails.
    """
    extra = list(extra_args or [])
    load_before = os.getloadavg()[0]
    try:
        res = _run_once(mul_n, lt_n, reps, parties, timeout, extra)
    except RuntimeError as exc:
        if "address already in use" not in str(exc).lower():
            raise
        res = _run_once(mul_n, lt_n, reps, parties, timeout, extra)  # lost a port race: retry
    return {
        "system": f"MPyC 0.11 (semi-honest, Shamir, {parties} parties)",
        "mul_per_s": res["mul_per_s"],
        "lt_per_s": res["lt_per_s"],
        "bytes_per_mul": res["bytes_per_mul"],
        "bytes_per_lt": res["bytes_per_lt"],
        "rounds_per_lt": res["rounds_per_lt"],
        "details": {
            **res,
            "cpu_count": os.cpu_count(),
            "loadavg_1min_before": load_before,
            "loadavg_1min_after": os.getloadavg()[0],
        },
    }


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mul", type=int, default=100_000, help="elements per multiplication")
    parser.add_argument("--lt", type=int, default=10_000, help="elements per comparison")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions")
    parser.add_argument("--parties", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", type=str, default=None, help="write the result dict here")
    args = parser.parse_args()

    res = run_mpyc(args.mul, args.lt, args.reps, args.parties, args.timeout)
    d = res["details"]
    rows = [
        ("system", res["system"]),
        (f"secure mul/s  ({d['mul_n']} at once, x{d['reps']})", f"{res['mul_per_s']:,.0f}"),
        (f"secure lt/s   ({d['lt_n']} at once, x{d['reps']})", f"{res['lt_per_s']:,.0f}"),
        ("bytes per mul (all parties)", f"{res['bytes_per_mul']:,.1f}"),
        ("bytes per lt  (all parties)", f"{res['bytes_per_lt']:,.1f}"),
        (
            "rounds per lt (delay-injection)",
            f"{res['rounds_per_lt']}  (raw {d['rounds_per_lt_raw']:.2f}; "
            f"mul self-check {d['rounds_per_mul_raw']:.2f})",
        ),
        ("messages per single lt (all parties)", f"{d['msgs_per_lt_single']:g}"),
        (
            "latency 1-element mul / lt",
            f"{d['lat_mul_s'] * 1e3:.2f} ms / {d['lat_lt_s'] * 1e3:.2f} ms",
        ),
        (
            "CPU s, all parties: mul / lt sections",
            f"{d['cpu_seconds_mul_all_parties']:.2f} / {d['cpu_seconds_lt_all_parties']:.2f} "
            f"(wall {d['mul_seconds']:.2f} / {d['lt_seconds']:.2f}; {d['cpu_count']} cores)",
        ),
        (
            "host load avg (1 min) before / after",
            f"{d['loadavg_1min_before']:.2f} / {d['loadavg_1min_after']:.2f}",
        ),
        ("correctness checked", str(d["correctness_checked"])),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    _main()
