"""Test harness: n org engines over real TCP on 127.0.0.1, each in its own thread."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from nacl.public import PrivateKey

from offchain.compare import mask_bits_for
from offchain.engine import Engine
from offchain.field import BN254_SCALAR, Field, Mersenne127, PrimeField
from offchain.preprocessing import Dealer, Needs, OrgMaterial
from offchain.transport import PeerNetwork, free_ports

T = TypeVar("T")
BN254 = PrimeField(BN254_SCALAR)
M127 = Mersenne127()
FIELDS = {"bn254": BN254, "m127": M127}
TAG = hashlib.sha256(b"test-session").digest()


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
    ``edabits`` edaBits for ``k + 1``-bit comparisons."""
    needs = Needs(
        triples=triples,
        masks=(masks_per_org,) * n,
        edabits=edabits,
        k=k,
        mask_bits=mask_bits_for(k, field.bits) if edabits else 0,
    )
    return Dealer(field, n).deal(1, needs, corrupt)


def run_parties(
    materials: list[OrgMaterial],
    fn: Callable[[Engine], T],
    tamper: dict[int, str] | None = None,
) -> list[T]:
    """Run ``fn(engine)`` at every org concurrently over real encrypted TCP channels."""
    n = len(materials)
    keys = [PrivateKey.generate() for _ in range(n)]
    endpoints = [("127.0.0.1", port) for port in free_ports(n)]
    publics = [bytes(k.public_key) for k in keys]

    def party(i: int) -> T:
        with PeerNetwork(i, keys[i], publics, endpoints, TAG, timeout=30) as net:
            engine = Engine(materials[i], net, TAG, tamper=(tamper or {}).get(i))
            return fn(engine)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(party, range(n)))


def sigma_sum(shares: list, field: Field) -> int:
    """Sum of the orgs' MAC-check shares: 0 iff the check passes."""
    return sum(s.sigma for s in shares) % field.p


def prepare(engine: Engine, triples: int, t: int = 12345) -> None:
    """Prepare an engine as a session does: sacrifice-check ``triples`` for the program plus
    one per dealt mask bit, check those bits, and MAC-check it all (between the peers)."""
    assert engine.sacrifice(triples + len(engine.material.random_bits()), t) == 0
    assert engine.check_bits() == 0
    engine.check_between_peers()
