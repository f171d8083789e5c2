"""One chainmpc party of the engine benchmark (started by ``bench_engine.py``).

Loads its sealed batch from its cache, connects to the other parties over encrypted TCP, then
times, each section preceded by a barrier (an empty exchange):

* ``sacrifice``: the sacrifice check of every triple, the check that every dealt mask bit is
  a bit, the check of the input masks against their owners' clear values (one opening per
  owner), and a peer-to-peer MAC check of their openings (preprocessing, checked by the orgs);
* ``mul``: ``reps`` vectorised multiplications of ``--mul`` elements, then a MAC check of all
  their openings between the peers (commit, reveal: what an honest run must do);
* ``lt``: ``--lt`` 32-bit secure less-than comparisons at once, then a MAC check.

Inputs come from a seed every party knows, so each party can verify sample results against
plaintext. Writes a JSON of times, bytes sent and rounds to ``WORKDIR/result<i>.json``.

Profiling: ``CHAINMPC_PROFILE_SECTION=lt CHAINMPC_PROFILE_OUT=/tmp/lt.prof`` makes party 0 run
that section under cProfile (``CHAINMPC_BENCH_PROFILE=DIR`` in ``bench_engine.py`` profiles
whole parties).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

from nacl.public import PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.engine.core import Engine, mac_check_between_peers  # noqa: E402
from offchain.engine.transcript import challenge  # noqa: E402
from offchain.hazmat import m127  # noqa: E402
from offchain.preprocessing.cache import OrgCache  # noqa: E402
from offchain.sectypes.array import reveal, secret_input_unchecked  # noqa: E402
from offchain.transport.mesh import PeerNetwork  # noqa: E402

TAG = b"chainmpc-bench-session-tag"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=int, required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--mul", type=int, required=True)
    ap.add_argument("--lt", type=int, required=True)
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args()
    setup = json.loads((args.workdir / "setup.json").read_text())
    i = args.index
    key = PrivateKey(bytes.fromhex(setup["secret_keys"][i]))
    material = OrgCache(args.workdir / f"org{i}").consume(
        setup["deployment"], 1, bytes.fromhex(setup["batch_hashes"][i]), key
    )
    m127.warmup()
    publics = [bytes.fromhex(k) for k in setup["public_keys"]]
    endpoints = [("127.0.0.1", p) for p in setup["ports"]]
    out: dict = {"index": i}
    with PeerNetwork(i, key, publics, endpoints, TAG, timeout=600) as net:
        engine = Engine(material, net, TAG)

        def section(name: str, fn):  # noqa: ANN001, ANN202
            net.exchange(b"")  # barrier
            sent, rounds = net.stats.bytes_sent, engine.rounds
            start = time.perf_counter()
            if os.environ.get("CHAINMPC_PROFILE_SECTION") == name and i == 0:
                import cProfile

                with cProfile.Profile() as prof:
                    result = fn()
                prof.dump_stats(os.environ["CHAINMPC_PROFILE_OUT"])
            else:
                result = fn()
            out[name] = {
                "seconds": time.perf_counter() - start,
                "bytes_sent": net.stats.bytes_sent - sent,
                "rounds": engine.rounds - rounds,
            }
            return result

        triples = setup["triples"]

        def sacrifice() -> int:
            # t from every batch hash, i.e. fixed only after the dealer committed to its deal.
            hashes = [bytes.fromhex(h) for h in setup["batch_hashes"]]
            (t,) = challenge(engine.field.p, TAG, b"sacrifice", *hashes, count=1)
            seed = hashlib.sha256(b"mask-check" + TAG + b"".join(hashes)).digest()
            failed = engine.sacrifice(triples, t) or engine.check_bits()
            failed = failed or not engine.check_masks(seed)
            mac_check_between_peers(engine)
            return failed

        if section("sacrifice", sacrifice):
            raise SystemExit("sacrifice, bit or mask check failed")

        rng = random.Random(args.seed)
        lo, hi = -(2**31), 2**31 - 1
        xs = [rng.randint(lo, hi) for _ in range(args.mul)]
        ys = [rng.randint(lo, hi) for _ in range(args.mul)]
        a_vals = [rng.randint(lo, hi) for _ in range(args.lt)]
        b_vals = [v if k % 7 == 0 else rng.randint(lo, hi) for k, v in enumerate(a_vals)]
        x = secret_input_unchecked(engine, xs if i == 0 else None, 0, args.mul)
        y = secret_input_unchecked(engine, ys if i == 1 else None, 1, args.mul)
        a = secret_input_unchecked(engine, a_vals if i == 0 else None, 0, args.lt)
        b = secret_input_unchecked(engine, b_vals if i == 1 else None, 1, args.lt)
        mac_check_between_peers(engine)

        def muls():  # noqa: ANN202
            z = None
            for _ in range(args.reps):
                z = x * y
            mac_check_between_peers(engine)
            return z

        z = section("mul", muls)

        def lts():  # noqa: ANN202
            c = a < b
            mac_check_between_peers(engine)
            return c

        c = section("lt", lts)

        sample = 64
        got_z, got_c = reveal(z[:sample], c[:sample])  # MAC-checked before and after opening
        want_z = [(u * v) for u, v in zip(xs[:sample], ys[:sample], strict=True)]
        want_c = [int(u < v) for u, v in zip(a_vals[:sample], b_vals[:sample], strict=True)]
        out["correct"] = got_z == want_z and got_c == want_c
    (args.workdir / f"result{i}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
