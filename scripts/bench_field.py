"""Benchmark offchain.hazmat.m127 (arithmetic mod 2^127 - 1) against Python-int list comprehensions.

Prints millions of operations per second (best of --repeat runs, one thread, vectors of --n
elements) for the compiled kernels and, in the same run, the Python-int equivalent; the ratio
column is kernel / Python. Every kernel result is checked equal to the Python-int result.

    python scripts/bench_field.py [--n 1000000] [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.hazmat import m127  # noqa: E402
from offchain.hazmat.m127 import P  # noqa: E402


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Smallest wall time of `repeat` calls, and the last result."""
    best = float("inf")
    res = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**6, help="vector length (default 10^6)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per kernel, best kept")
    ap.add_argument("--py-repeat", type=int, default=2, help="runs per Python-int baseline")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    n = args.n

    t0 = time.perf_counter()
    m127.warmup()
    warmup_s = time.perf_counter() - t0

    a, b = m127.random(n), m127.random(n)
    xs, ys = m127.to_ints(a), m127.to_ints(b)
    wire = m127.to_bytes(a)
    out = m127.zeros(n)

    def py_to_bytes() -> bytes:
        return b"".join(x.to_bytes(16, "little") for x in xs)

    def py_from_bytes() -> list[int]:
        return [int.from_bytes(wire[i : i + 16], "little") for i in range(0, len(wire), 16)]

    # name, kernel, python baseline, check(kernel result, python result)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[Any, Any], bool]]] = [
        (
            "mul",
            lambda: m127.mul(a, b),
            lambda: [x * y % P for x, y in zip(xs, ys, strict=True)],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "mul_into",
            lambda: m127.mul_into(out, a, b),
            lambda: [x * y % P for x, y in zip(xs, ys, strict=True)],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "mul_scalar",
            lambda: m127.mul_scalar(a, 0x1234567890ABCDEF1234567890ABCDEF),
            lambda: [x * 0x1234567890ABCDEF1234567890ABCDEF % P for x in xs],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "add",
            lambda: m127.add(a, b),
            lambda: [(x + y) % P for x, y in zip(xs, ys, strict=True)],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "add_into",
            lambda: m127.add_into(out, a, b),
            lambda: [(x + y) % P for x, y in zip(xs, ys, strict=True)],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "sub",
            lambda: m127.sub(a, b),
            lambda: [(x - y) % P for x, y in zip(xs, ys, strict=True)],
            lambda k, p: m127.to_ints(k) == p,
        ),
        (
            "dot",
            lambda: m127.dot(a, b),
            lambda: sum(x * y for x, y in zip(xs, ys, strict=True)) % P,
            lambda k, p: k == p,
        ),
        ("to_bytes", lambda: m127.to_bytes(a), py_to_bytes, lambda k, p: k == p),
        (
            "from_bytes",
            lambda: m127.from_bytes(wire),
            py_from_bytes,
            lambda k, p: m127.to_ints(k) == p,
        ),
        ("random", lambda: m127.random(n), lambda: None, lambda k, p: True),
    ]

    rows: list[dict[str, Any]] = []
    for name, kernel, python, check in cases:
        tk, rk = best_time(kernel, args.repeat)
        if name == "random":
            tp, ok = None, bool(all(0 <= v < P for v in m127.to_ints(rk[:1000])))
        else:
            tp, rp = best_time(python, args.py_repeat)
            ok = bool(check(rk, rp))
        row = {
            "op": name,
            "m127_mops": n / tk / 1e6,
            "python_mops": None if tp is None else n / tp / 1e6,
            "ratio": None if tp is None else tp / tk,
            "checked_equal": ok,
        }
        rows.append(row)

    hdr = f"{'op':<12}{'m127 Mop/s':>12}{'Python int Mop/s':>18}{'ratio':>9}  equal"
    print(f"n = {n}, numba {numba.__version__}, numpy {np.__version__}, warmup {warmup_s:.2f}s")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        py = "-" if r["python_mops"] is None else f"{r['python_mops']:.1f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.0f}x"
        print(f"{r['op']:<12}{r['m127_mops']:>12.1f}{py:>18}{ratio:>9}  {r['checked_equal']}")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "field": "2^127-1",
                    "n": n,
                    "repeat": args.repeat,
                    "warmup_s": warmup_s,
                    "numba": numba.__version__,
                    "numpy": np.__version__,
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "results": rows,
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if all(r["checked_equal"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
