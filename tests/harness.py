"""Test harness: n org engines over real TCP on 127.0.0.1, each in its own thread."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from nacl.public import PrivateKey

from offchain.engine import Engine
from offchain.field import BN254_SCALAR, PrimeField
from offchain.preprocessing import Dealer, OrgMaterial
from offchain.transport import PeerNetwork, free_ports

T = TypeVar("T")
FIELD = PrimeField(BN254_SCALAR)
TAG = hashlib.sha256(b"test-session").digest()


def deal(
    n: int, triples: int, masks_per_org: int = 1, corrupt: int | None = None
) -> list[OrgMaterial]:
    """Material for ``n`` orgs: ``triples`` checked triples, ``masks_per_org`` masks each."""
    owners = [i for i in range(n) for _ in range(masks_per_org)]
    return Dealer(FIELD, n).deal(1, triples, owners, corrupt)


def run_parties(
    materials: list[OrgMaterial],
    fn: Callable[[Engine], T],
    tamper: dict[int, str] | None = None,
) -> list[T]:
    """Run ``fn(engine)`` at every org concurrently over real encrypted TCP channels."""
    n = len(materials)
    keys = [PrivateKey.generate() for _ in range(n)]
    ports = free_ports(n)
    endpoints = [("127.0.0.1", port) for port in ports]
    publics = [bytes(k.public_key) for k in keys]

    def party(i: int) -> T:
        with PeerNetwork(i, keys[i], publics, endpoints, TAG, timeout=20) as net:
            net.start()
            engine = Engine(materials[i], net, TAG, tamper=(tamper or {}).get(i))
            return fn(engine)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(party, range(n)))
