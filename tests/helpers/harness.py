"""Test harness: n org engines over real TCP on 127.0.0.1, each in its own thread."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from nacl.public import PrivateKey

from chainmpc.faults import TamperingEngine, corrupt_triple
from offchain.engine.core import CheckpointShare, Engine, Network
from offchain.hazmat.field import BN254_SCALAR, Field, Mersenne127, PrimeField
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import edabit_key
from offchain.preprocessing.material import Needs, OrgMaterial
from offchain.transport.mesh import PeerNetwork, free_ports

T = TypeVar("T")
BN254 = PrimeField(BN254_SCALAR)
M127 = Mersenne127()
FIELDS = {"bn254": BN254, "m127": M127}
TAG = hashlib.sha256(b"test-session").digest()
MASK_SEED = hashlib.sha256(b"test-session/batch-commitments").digest()  # as if from the chain
EngineFactory = Callable[[OrgMaterial, Network, bytes], Engine]


def deal(
    n: int,
    triples: int,
    masks_per_org: int = 1,
    corrupt: int | None = None,
    field: Field = BN254,
    edabits: int = 0,
    k: int = 32,
) -> list[OrgMaterial]:
    """Material for ``n`` orgs: ``triples`` checked triples, ``masks_per_org`` masks each,
    ``edabits`` edaBits for ``k + 1``-bit comparisons; ``corrupt``: triple number ``corrupt``
    dealt with ``c = ab + 1`` (:func:`chainmpc.faults.corrupt_triple`)."""
    needs = Needs(triples, (masks_per_org,) * n, {edabit_key(k, field.bits): edabits})
    materials = Dealer(field, n).deal(1, needs)
    return materials if corrupt is None else corrupt_triple(materials, corrupt)


def tampering(kind: str) -> EngineFactory:
    """An engine factory for :func:`run_parties`: an org that tampers with its ``kind``
    ("share" or "mac") in its first job multiplication."""
    return partial(TamperingEngine, kind=kind)


def run_parties(
    materials: list[OrgMaterial],
    fn: Callable[[Engine], T],
    engines: dict[int, EngineFactory] | None = None,
) -> list[T]:
    """Run ``fn(engine)`` at every org concurrently over real encrypted TCP channels; org ``i``
    runs ``engines[i]`` (e.g. :func:`tampering`) instead of :class:`Engine` if given."""
    n = len(materials)
    keys = [PrivateKey.generate() for _ in range(n)]
    endpoints = [("127.0.0.1", port) for port in free_ports(n)]
    publics = [bytes(k.public_key) for k in keys]

    def party(i: int) -> T:
        with PeerNetwork(i, keys[i], publics, endpoints, TAG, timeout=30) as net:
            engine = (engines or {}).get(i, Engine)(materials[i], net, TAG)
            return fn(engine)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(party, range(n)))


def chain_checkpoint(engine: Engine) -> CheckpointShare:
    """On-chain checkpoint ``engine.next_checkpoint`` with the contract simulated over the peer
    channels: the orgs' ``sigma_i`` are summed and the share confirmed iff the sum is 0."""
    share = engine.checkpoint(engine.next_checkpoint)
    f = engine.field
    sigmas = engine.network.exchange(share.sigma.to_bytes(f.byte_length, "big"))
    if sum(int.from_bytes(s, "big") for s in sigmas) % f.p == 0:
        engine.confirm_passed(share)
    return share


def sigma_sum(shares: list, field: Field) -> int:
    """Sum of the orgs' MAC-check shares: 0 iff the check passes."""
    return sum(s.sigma for s in shares) % field.p


def prepare(engine: Engine, triples: int, t: int = 12345) -> None:
    """Prepare an engine as a session does: sacrifice-check ``triples`` for the program plus
    one per dealt mask bit, check those bits and the input masks, and MAC-check it all (between
    the peers)."""
    assert engine.sacrifice(triples + len(engine.material.random_bits()[1]), t) == 0
    assert engine.check_bits() == 0
    assert engine.check_masks(MASK_SEED)
    engine.check_between_peers()
