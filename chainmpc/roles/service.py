"""The preprocessing service's run for one session: check, deal, seal, deliver, commit.

Before dealing anything it checks the session on-chain: every participant has accepted its
parameters, this service is its preprocessor and a registered service, and its job hash is
the hash of the job the service was told to prepare for (so the material matches what will be
computed); and that its account can pay for the commitment. It then reads each participant's
public encryption key and name from the registry, deals exactly what the job needs a chunk at
a time, seals each chunk into that org's batch as it is dealt (so it holds one chunk per org,
never a batch), streams the batch into the org's cache (``cache root / org name``) or the
outbox, and commits the hash of every sealed batch, and the counts of what it dealt, on-chain. It
keeps nothing.

``chainmpc preprocess`` runs this as its own process; the demo on the embedded chain calls it
in-process, since that chain lives inside the demo's process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import BinaryIO

from chainmpc.exceptions import ServiceError
from chainmpc.jobs.base import Job
from offchain.hazmat.field import Field, field_for
from offchain.preprocessing.cache import Outbox
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.material import MaterialError
from offchain.preprocessing.sealed import BatchWriter
from onchain.clients import ConsortiumClient, SessionClient, State
from onchain.commitments import job_hash
from onchain.connection import ChainError, require_balance
from onchain.transactions import Sender, TransactionError, fee_per_gas

#: Where one org's sealed batch goes: ``deliver(name, address)`` is a context manager giving a
#: file to stream it into, stored (in the org's cache, or the outbox) once the block ends.
Deliver = Callable[[str, str], AbstractContextManager[BinaryIO]]
#: The dealer the service uses unless told otherwise.
DEALER: Callable[[Field, int], Dealer] = Dealer
#: Gas the commitment may take at most, for the balance check before dealing (measured:
#: about 0.13M for 3 orgs).
COMMIT_GAS = 1_000_000


def preprocess(
    service: Sender,
    consortium: ConsortiumClient,
    sessions: SessionClient,
    session: int,
    job: Job,
    deliver: Deliver,
    progress: Callable[[str], None] = lambda _: None,
    dealer_class: Callable[[Field, int], Dealer] | None = None,
) -> list[bytes]:
    """Prepare ``session`` for ``job``; return the committed batch hashes (participant order).

    ``deliver(name, address)`` opens where each org's sealed batch is streamed to (its cache,
    or the outbox the orgs fetch from); the batches are written a chunk of every org's at a
    time, as the dealer deals them, so the service holds one chunk per org, never a batch.
    ``dealer_class`` deals the material,
    by default :data:`DEALER` (fault injection swaps in a cheating dealer, see
    chainmpc/cheats.py).
    """
    info = sessions.session(session)
    if info.state != State.ACCEPTED:
        raise ServiceError(
            f"session {session} is {info.state.name}, not awaiting preprocessing"
            + (" (not every participant has accepted it yet)" if info.state == State.OPENED else "")
        )
    if info.preprocessor != service.address:
        raise ServiceError(
            f"session {session} names {info.preprocessor} as its preprocessor, "
            f"not this service ({service.address})"
        )
    if not consortium.is_service(service.address):
        raise ServiceError(f"{service.address} is not a registered preprocessing service")
    if info.job_hash != job_hash(job.description()):
        raise ServiceError(f"session {session} was opened for another job than {job.spec.name!r}")
    if len(info.participants) != job.orgs:
        raise ServiceError(
            f"session {session} has {len(info.participants)} orgs; job wants {job.orgs}"
        )
    try:
        gas_cost = COMMIT_GAS * fee_per_gas(service.w3)
        require_balance(
            service.w3, service.address, gas_cost, "the service's account", "committing"
        )
    except ChainError as exc:
        raise ServiceError(str(exc)) from None
    fld = field_for(info.modulus)
    needs = job.needs(fld)
    progress(
        f"dealing {needs.checked_triples} checked triples (+ sacrifice partners), "
        f"{sum(needs.masks)} input masks for {job.orgs} orgs"
        + "".join(f", {count} {key.describe()}" for key, count in needs.items)
    )
    dealing = (dealer_class or DEALER)(fld, job.orgs).stream(session, needs)
    with ExitStack() as stack:  # every batch is stored only if all of them are written
        writers, names = [], []
        for address, header in zip(info.participants, dealing.headers, strict=True):
            name, key, _ = consortium.org_info(address)
            out = stack.enter_context(deliver(name, address))
            writers.append(BatchWriter(out, bytes(key), header))
            names.append(name)
        for section, parts in dealing.chunks:  # one chunk of every org's batch at a time
            for writer, columns in zip(writers, parts, strict=True):
                writer.write(section, columns)
        hashes = [writer.close() for writer in writers]
    del dealing  # the service forgets what it dealt
    for name, digest in zip(names, hashes, strict=True):
        progress(f"sealed a batch for {name} (sha256 {digest.hex()[:16]}...)")
    sessions.commit_preprocessing(service, session, hashes, needs.counts())
    progress(f"committed {len(hashes)} batch hashes on-chain")
    return hashes


def serve(
    service: Sender,
    consortium: ConsortiumClient,
    sessions: SessionClient,
    deployment: str,
    jobs: Sequence[Job],
    outbox: Outbox,
    progress: Callable[[str], None] = lambda _: None,
    *,
    poll: float = 1.0,
    stop: threading.Event | None = None,
    dealer_class: Callable[[Field, int], Dealer] | None = None,
) -> None:
    """The long-running service: deal every session that names this service, once all its
    orgs have accepted, for whichever of ``jobs`` its job hash names; put each org's sealed
    batch in ``outbox`` (a :class:`~chainmpc.roles.delivery.BatchServer` serves it) and
    forget a session's batches once it is closed. Runs until ``stop`` is set."""
    known = {job_hash(j.description()): j for j in jobs}
    settled: set[int] = set()  # sessions this service has nothing more to do for
    stop = stop or threading.Event()
    progress(f"serving {len(known)} job(s) as {service.address}")
    while not stop.is_set():
        for sid in range(1, sessions.session_count() + 1):
            if sid not in settled and _serve_one(
                service, consortium, sessions, deployment, known, outbox, sid, progress,
                dealer_class,
            ):  # fmt: skip
                settled.add(sid)
        stop.wait(poll)


def _serve_one(
    service: Sender,
    consortium: ConsortiumClient,
    sessions: SessionClient,
    deployment: str,
    known: dict[bytes, Job],
    outbox: Outbox,
    sid: int,
    progress: Callable[[str], None],
    dealer_class: Callable[[Field, int], Dealer] | None,
) -> bool:
    """Do what session ``sid`` needs now; True once it needs nothing more from this service."""
    info = sessions.session(sid)
    if info.preprocessor != service.address:
        return True
    if info.state in (State.FINALISED, State.ABORTED):
        outbox.forget(deployment, sid)
        progress(f"session {sid} is {info.state.name}: its batches are forgotten")
        return True
    if info.state != State.ACCEPTED:
        return False
    job = known.get(info.job_hash)
    if job is None:
        progress(f"session {sid}: job hash 0x{info.job_hash.hex()} is none of this service's jobs")
        return True
    progress(f"session {sid}: every org accepted; dealing for job {job.spec.name!r}")
    try:
        with outbox.claim(deployment, sid):
            preprocess(
                service, consortium, sessions, sid, job,
                lambda _name, address: outbox.sink(deployment, sid, address),
                progress, dealer_class,
            )  # fmt: skip
    except (ServiceError, MaterialError, TransactionError) as exc:
        progress(f"session {sid}: not dealt: {exc}")
        return True
    return False  # forgotten once the session closes


def run_service_process(
    command: Sequence[str],
    args: list[str],
    progress: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> None:
    """Run ``python COMMAND preprocess ARGS`` (``command`` is ``("-m", "chainmpc")`` for the
    real service) as its own process, relaying its progress line by line; raise
    :class:`ServiceError` with its last line if it fails."""
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, *command, "preprocess", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # relay the service's progress as it happens
            lines.append(line.rstrip())
            progress(lines[-1])
        if proc.wait(timeout=600) != 0:
            raise ServiceError(lines[-1] if lines else f"preprocess exited {proc.returncode}")
