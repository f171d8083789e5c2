"""One MPyC party of a local multi-process micro-benchmark (secure mul and 32-bit less-than).

Run one process per party, e.g. for three parties on loopback ports 11365-11367::

    python scripts/mpyc_party.py -P 127.0.0.1:11365 -P 127.0.0.1:11366 -P 127.0.0.1:11367 \\
        -I 0 --no-log --mul 100000 --lt 10000 --reps 3 --out /tmp/mpyc.json

(and the same with ``-I 1`` and ``-I 2``). ``scripts/mpyc_bench.py`` does this for you.

Options for this script (``--mul``, ``--lt``, ``--reps``, ``--out``, ``--seed``) are removed from
``sys.argv`` *before* MPyC is imported; everything else is parsed by MPyC itself (``-M``, ``-I``,
``-P host:port`` per party, ``-T``, ``--no-log``, ``--no-prss``, ...). Stripping our options first
matters: MPyC's argparse accepts abbreviations, so a bare ``--out`` would otherwise be rejected as
an ambiguous prefix of ``--output-file`` / ``--output-windows``.

What is measured (after ``await mpc.start()``, secret input of the operands and a warm-up):

* ``x * y`` on two ``SecInt(32)`` arrays of ``--mul`` elements, ``--reps`` times back to back;
  each repetition awaits this party's shares of the product (``mpc.gather``) and then
  ``mpc.barrier()``, so all communication and computation of this party has finished.
* ``x < y`` on two ``SecInt(32)`` arrays of ``--lt`` elements, same timing.
* Before each timed section all parties synchronise with a tiny ``mpc.transfer`` so that they start
  together; each party reports its own wall time and the slowest party's time is used.
* Bytes: every party reads MPyC's own per-peer counters ``mpc.parties[j].protocol.nbytes_sent``
  (payload + 12-byte header per message, see ``mpyc/asyncoro.py``) before and after a timed
  section; the differences of all parties are sent as *public* values to party 0 with
  ``mpc.transfer`` (after the snapshot, so the transfer itself is not counted) and summed there.
* Rounds of one comparison: the critical path in network rounds is measured by delay injection.
  The message layer (``asyncoro.MessageExchanger.data_received``) is wrapped so that, while
  active, every incoming TCP chunk is handed to MPyC only ``DELAY`` seconds after it arrived
  (in FIFO order). The latency of a 1-element ``x < y`` (nothing else in flight; minimum of a
  few runs) is measured with and without the delay; ``(latency_delayed - latency_plain) / DELAY``
  is the number of sequential message hops on the critical path = rounds (rounded, and raw). The
  same measurement for a 1-element ``x * y`` must give 1 and is reported as a self-check. The
  total number of messages all parties sent for that single comparison is reported too. Expected for
  MPyC 0.11 ``SecInt(32)``, 3 parties (read off ``runtime.np_sgn``): 1 (open r^2 for random bits)
  + 1 (open masked difference) + 6 (``np_prod`` over 33 factors) + 1 (public zero test) = 9.

Correctness is checked once: products and comparisons are opened (``mpc.output``) and compared to
the plaintext computed from the same seed on every party; any mismatch raises ``SystemExit``.
Party 0 writes a JSON file with all figures (``--out``); other parties write nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from typing import Any


def _parse_own_args() -> argparse.Namespace:
    """Parse this script's options and leave the rest of ``sys.argv`` for MPyC."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--mul", type=int, default=100_000, help="elements per multiplication")
    parser.add_argument("--lt", type=int, default=10_000, help="elements per comparison")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions")
    parser.add_argument("--out", type=str, default=None, help="JSON result path (party 0)")
    parser.add_argument("--seed", type=int, default=2024, help="seed for the (public) test data")
    own, rest = parser.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    return own


ARGS = _parse_own_args()

import numpy as np  # noqa: E402
from mpyc import asyncoro  # noqa: E402
from mpyc.runtime import mpc  # noqa: E402

secint32 = mpc.SecInt(32)


DELAY = 0.1  # seconds of injected per-message delay when counting rounds


class _DelayedDelivery:
    """Delays delivery of incoming data by ``DELAY`` seconds while active; counts sends."""

    def __init__(self) -> None:
        self.active = False
        self.sent = 0  # messages sent by this party (always counted; cheap)
        cls = asyncoro.MessageExchanger
        orig_send = cls.send
        orig_data_received = cls.data_received
        queues: dict[int, deque[bytes]] = {}
        this = self

        def deliver(proto: Any) -> None:
            orig_data_received(proto, queues[id(proto)].popleft())

        def send(proto: Any, pc: int, payload: bytes) -> None:
            this.sent += 1
            orig_send(proto, pc, payload)

        def data_received(proto: Any, data: bytes) -> None:
            queue = queues.setdefault(id(proto), deque())
            if this.active or queue:  # keep FIFO order behind chunks still being delayed
                queue.append(bytes(data))
                mpc._loop.call_later(DELAY if this.active else 0, deliver, proto)
            else:
                orig_data_received(proto, data)

        cls.send = send
        cls.data_received = data_received


def _bytes_sent() -> int:
    """Total bytes this party has sent to all peers so far (MPyC's own counters)."""
    return sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid)


async def _sync() -> None:
    """Let all parties reach this point before continuing (tiny all-to-all transfer)."""
    await mpc.transfer(None)


def _input_array(values: np.ndarray, sender: int) -> Any:
    """Secret-share a public-seeded array as a private input of party ``sender``."""
    return mpc.input(secint32.array(values), senders=sender)


async def _timed(op: Any, x: Any, y: Any, reps: int) -> tuple[float, float, int, Any]:
    """Run ``op(x, y)`` ``reps`` times back to back.

    Returns (wall seconds, CPU seconds of this process, bytes sent by this party, last result).
    """
    await _sync()
    b0 = _bytes_sent()
    c0 = time.process_time()
    t0 = time.perf_counter()
    z = None
    for _ in range(reps):
        z = op(x, y)
        await mpc.gather(z)
        await mpc.barrier()
    elapsed = time.perf_counter() - t0
    return elapsed, time.process_time() - c0, _bytes_sent() - b0, z


async def _latency(op: Any, x: Any, y: Any, reps: int, delayer: _DelayedDelivery) -> dict:
    """Single ``op`` on 1-element arrays: minimum wall time, messages and bytes sent per op.

    The minimum over ``reps`` is used because it is the least disturbed by other load.
    """
    times, msgs, nbytes = [], 0, 0
    for _ in range(reps):
        await _sync()
        m0, b0 = delayer.sent, _bytes_sent()
        t0 = time.perf_counter()
        z = op(x, y)
        await mpc.gather(z)
        await mpc.barrier()
        times.append(time.perf_counter() - t0)
        msgs += delayer.sent - m0
        nbytes += _bytes_sent() - b0
    return {"time": min(times), "msgs": msgs / reps, "bytes": nbytes / reps}


def _check(name: str, got: Any, want: np.ndarray) -> None:
    got_arr = np.array(got, dtype=object).reshape(-1)
    want_arr = np.array(want, dtype=object).reshape(-1)
    if got_arr.shape != want_arr.shape or not np.array_equal(got_arr, want_arr):
        bad = np.flatnonzero(got_arr != want_arr)[:5]
        raise SystemExit(f"party {mpc.pid}: WRONG {name}: first mismatches at {bad.tolist()}")


async def main() -> None:
    delayer = _DelayedDelivery()
    await mpc.start()
    m = len(mpc.parties)
    rng = np.random.default_rng(ARGS.seed)  # same public test data on every party (for checking)
    n_mul, n_lt, reps = ARGS.mul, ARGS.lt, ARGS.reps

    # Operands: products fit easily in 32 bits; comparison operands keep x - y within 32 bits.
    a_mul = rng.integers(-(2**15), 2**15, n_mul, dtype=np.int64)
    b_mul = rng.integers(-(2**15), 2**15, n_mul, dtype=np.int64)
    a_lt = rng.integers(-(2**30), 2**30, n_lt, dtype=np.int64)
    b_lt = rng.integers(-(2**30), 2**30, n_lt, dtype=np.int64)
    b_lt[: n_lt // 10] = a_lt[: n_lt // 10]  # some ties
    b_lt[n_lt // 10 : n_lt // 5] = a_lt[n_lt // 10 : n_lt // 5] + 1  # some near misses

    # Private inputs: x from party 0, y from party 1 (not timed).
    x_mul = _input_array(a_mul, 0)
    y_mul = _input_array(b_mul, 1 % m)
    x_lt = _input_array(a_lt, 0)
    y_lt = _input_array(b_lt, 1 % m)
    await mpc.gather(x_mul, y_mul, x_lt, y_lt)

    def mul(x: Any, y: Any) -> Any:
        return x * y

    def lt(x: Any, y: Any) -> Any:
        return x < y

    # Warm-up (also pre-builds MPyC's cached helpers).
    k = min(1000, n_mul, n_lt)
    await mpc.output(mul(x_mul[:k], y_mul[:k]))
    await mpc.output(lt(x_lt[:k], y_lt[:k]))

    # Correctness, once.
    _check("products", await mpc.output(mul(x_mul, y_mul)), a_mul * b_mul)
    _check("comparisons", await mpc.output(lt(x_lt, y_lt)), (a_lt < b_lt).astype(np.int64))

    t_mul, cpu_mul, bytes_mul, z = await _timed(mul, x_mul, y_mul, reps)
    t_lt, cpu_lt, bytes_lt, c = await _timed(lt, x_lt, y_lt, reps)
    # The timed results must be right too (checked after the clock stopped).
    _check("timed products", await mpc.output(z), a_mul * b_mul)
    _check("timed comparisons", await mpc.output(c), (a_lt < b_lt).astype(np.int64))

    # Latency and rounds of single-element operations, nothing else in flight.
    x1, y1 = x_lt[:1], y_lt[:1]
    lat_mul = await _latency(mul, x_mul[:1], y_mul[:1], 20, delayer)
    lat_lt = await _latency(lt, x1, y1, 20, delayer)
    delayer.active = True
    lat_mul_d = await _latency(mul, x_mul[:1], y_mul[:1], 3, delayer)
    lat_lt_d = await _latency(lt, x1, y1, 3, delayer)
    delayer.active = False

    mine: dict[str, Any] = {
        "pid": mpc.pid,
        "t_mul": t_mul,
        "t_lt": t_lt,
        "cpu_mul": cpu_mul,
        "cpu_lt": cpu_lt,
        "bytes_mul": bytes_mul,
        "bytes_lt": bytes_lt,
        "bytes_lt1": lat_lt["bytes"],
        "msgs_mul1": lat_mul["msgs"],
        "msgs_lt1": lat_lt["msgs"],
        "lat_mul": lat_mul["time"],
        "lat_lt": lat_lt["time"],
        "rounds_mul": (lat_mul_d["time"] - lat_mul["time"]) / DELAY,
        "rounds_lt": (lat_lt_d["time"] - lat_lt["time"]) / DELAY,
    }
    reports = await mpc.transfer(mine, receivers=0)  # public bookkeeping, after all snapshots

    if mpc.pid == 0:
        t_mul_max = max(r["t_mul"] for r in reports)
        t_lt_max = max(r["t_lt"] for r in reports)
        result = {
            "parties": m,
            "threshold": mpc.threshold,
            "mul_n": n_mul,
            "lt_n": n_lt,
            "reps": reps,
            "mul_seconds": t_mul_max,
            "lt_seconds": t_lt_max,
            "mul_per_s": n_mul * reps / t_mul_max,
            "lt_per_s": n_lt * reps / t_lt_max,
            "cpu_seconds_mul_all_parties": sum(r["cpu_mul"] for r in reports),
            "cpu_seconds_lt_all_parties": sum(r["cpu_lt"] for r in reports),
            "bytes_per_mul": sum(r["bytes_mul"] for r in reports) / (n_mul * reps),
            "bytes_per_lt": sum(r["bytes_lt"] for r in reports) / (n_lt * reps),
            "bytes_per_lt_single": sum(r["bytes_lt1"] for r in reports),
            "rounds_per_lt": round(max(r["rounds_lt"] for r in reports)),
            "rounds_per_lt_raw": max(r["rounds_lt"] for r in reports),
            "rounds_per_mul": round(max(r["rounds_mul"] for r in reports)),
            "rounds_per_mul_raw": max(r["rounds_mul"] for r in reports),
            "msgs_per_lt_single": sum(r["msgs_lt1"] for r in reports),
            "msgs_per_mul_single": sum(r["msgs_mul1"] for r in reports),
            "lat_mul_s": float(np.median([r["lat_mul"] for r in reports])),
            "lat_lt_s": float(np.median([r["lat_lt"] for r in reports])),
            "per_party": reports,
            "correctness_checked": True,
            "no_prss": bool(mpc.options.no_prss),
            "gmpy2": _gmpy2_loaded(),
        }
        result["lt_latency_in_mul_rounds"] = result["lat_lt_s"] / result["lat_mul_s"]
        if ARGS.out:
            with open(ARGS.out, "w") as f:
                json.dump(result, f, indent=2)
        else:
            print(json.dumps(result, indent=2))

    await mpc.shutdown()


def _gmpy2_loaded() -> bool:
    """True if MPyC uses gmpy2 (not its pure-Python stubs)."""
    from mpyc import gmpy

    return type(gmpy.mpz(1)).__module__ == "gmpy2"


if __name__ == "__main__":
    mpc.run(main())
