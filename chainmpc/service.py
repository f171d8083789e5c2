"""The preprocessing service's run for one session: check, deal, seal, deliver, commit.

Before dealing anything it checks the session on-chain: it exists and awaits preprocessing,
this service is its preprocessor, and its job hash is the hash of the job the service was
told to prepare for (so the material matches what will be computed). It then reads each
participant's public encryption key and name from the registry, deals exactly what the job
needs, seals each org's batch to that org's key, delivers it into the org's cache (``cache
root / org name``) and commits the hash of every sealed batch on-chain. It keeps nothing.

``chainmpc preprocess`` runs this as its own process; the demo on the embedded chain calls it
in-process, since that chain lives inside the demo's process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chainmpc.job import SumProductJob
from offchain.cache import OrgCache, batch_hash, seal
from offchain.field import field_for
from offchain.preprocessing import Dealer
from onchain.clients import ConsortiumClient, SessionClient, State
from onchain.commitments import job_hash
from onchain.transactions import Sender


class ServiceError(RuntimeError):
    """The service refuses to prepare this session; the message says why."""


def preprocess(
    service: Sender,
    consortium: ConsortiumClient,
    sessions: SessionClient,
    session: int,
    job: SumProductJob,
    cache_root: Path,
    corrupt_triple: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[bytes]:
    """Prepare ``session`` for ``job``; return the committed batch hashes (participant order).

    ``corrupt_triple`` is fault injection (``demo --cheat triple``): that triple is dealt wrong.
    """
    info = sessions.session(session)
    if info.state != State.OPENED:
        raise ServiceError(f"session {session} is {info.state.name}, not awaiting preprocessing")
    if info.preprocessor != service.address:
        raise ServiceError(
            f"session {session} names {info.preprocessor} as its preprocessor, "
            f"not this service ({service.address})"
        )
    if info.job_hash != job_hash(job.description()):
        raise ServiceError(f"session {session} was opened for another job than {job.name!r}")
    if len(info.participants) != job.orgs:
        raise ServiceError(
            f"session {session} has {len(info.participants)} orgs; job wants {job.orgs}"
        )
    fld = field_for(info.modulus)
    needs = job.needs(fld)
    progress(
        f"dealing {needs.checked_triples} checked triples (+ sacrifice partners), "
        f"{sum(needs.masks)} input masks for {job.orgs} orgs"
    )
    materials = Dealer(fld, job.orgs).deal(session, needs, corrupt_triple)
    hashes = []
    for address, material in zip(info.participants, materials, strict=True):
        name, key, _ = consortium.org_info(address)
        sealed = seal(material, bytes(key))
        path = OrgCache(cache_root / name).deliver(session, sealed)
        hashes.append(batch_hash(sealed))
        progress(f"sealed {len(sealed):,} bytes for {name} -> {path}")
    del materials, material  # the service forgets what it dealt
    sessions.commit_preprocessing(service, session, hashes)
    progress(f"committed {len(hashes)} batch hashes on-chain")
    return hashes
