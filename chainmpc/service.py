"""The preprocessing service's run for one session: deal, seal, deliver, commit.

It reads each participant's public encryption key from the on-chain registry, deals the
material, seals each org's batch to that org's key, delivers it into the org's cache and
commits the hash of every sealed batch on-chain. It keeps nothing afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from offchain.cache import OrgCache, batch_hash, seal
from offchain.field import field_for
from offchain.preprocessing import Dealer, Needs
from onchain.clients import ConsortiumClient, SessionClient
from onchain.transactions import Sender


def preprocess(
    service: Sender,
    consortium: ConsortiumClient,
    sessions: SessionClient,
    session: int,
    triples: int,
    caches: Mapping[str, Path],
    corrupt_triple: int | None = None,
) -> list[bytes]:
    """Deal ``triples`` checked triples (plus sacrifice partners) and one input mask per org.

    ``caches`` maps each participant's address to its cache directory. Returns the committed
    batch hashes in participant order. ``corrupt_triple`` is fault injection (``--cheat
    triple``): the dealer deals that triple wrong.
    """
    info = sessions.session(session)
    parts = info.participants
    dealer = Dealer(field_for(info.modulus), len(parts))
    needs = Needs(triples=triples, masks=(1,) * len(parts))
    materials = dealer.deal(session, needs, corrupt_triple)
    hashes = []
    for address, material in zip(parts, materials, strict=True):
        _, key, _ = consortium.org_info(address)
        sealed = seal(material, bytes(key))
        OrgCache(caches[address]).deliver(session, sealed)
        hashes.append(batch_hash(sealed))
    del materials  # the service forgets what it dealt
    sessions.commit_preprocessing(service, session, hashes)
    return hashes
