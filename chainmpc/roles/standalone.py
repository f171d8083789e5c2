"""An org on its own machine: ``chainmpc peer``.

Everything the org relies on comes from the chain or from its own files: the consortium and
session manager from ``deployment.json``, the other orgs' keys and endpoints from the on-chain
registry, its own account and encryption key from its key file, its data from its own CSV. It
finds (or waits for) the session of its job, then runs :func:`~chainmpc.roles.org.take_part`:
it checks and accepts the parameters, fetches its sealed batch from the service over the
network, connects to the other orgs, computes, and posts its own transactions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web3 import Web3

from chainmpc.exceptions import ParameterError
from chainmpc.jobs.base import Job
from chainmpc.keys import KeyPair
from chainmpc.roles.delivery import fetch_batch
from chainmpc.roles.deployment import DeploymentRecord
from chainmpc.roles.org import SessionWatch, take_part
from chainmpc.roles.peer import OrgIdentity, OrgPeer, parse_endpoint
from chainmpc.roles.progress import Figures
from offchain.preprocessing.cache import OrgCache
from offchain.transport.framing import TransportStats
from onchain.clients import ConsortiumClient, SessionClient, SessionInfo, State
from onchain.commitments import job_hash
from onchain.transactions import Sender, TxLog


class Member:
    """One org of a deployed consortium, as its key file and the registry say."""

    def __init__(self, w3: Web3, record: DeploymentRecord, keys: KeyPair, job: Job) -> None:
        self.w3 = w3
        self.record = record
        self.keys = keys
        self.job = job
        if w3.eth.chain_id != record.chain_id:
            raise ParameterError(
                f"the node is on chain {w3.eth.chain_id}; the deployment is on {record.chain_id}"
            )
        self.consortium = ConsortiumClient(w3, record.consortium)
        self.sessions = SessionClient(w3, record.manager)
        if not self.consortium.is_org(keys.address):
            raise ParameterError(f"{keys.address} is not a registered org of this consortium")
        self.name, registered_key, self.endpoint = self.consortium.org_info(keys.address)
        if bytes(registered_key) != keys.encryption_key:
            raise ParameterError(
                f"the encryption key registered for {self.name} is not this key file's"
            )
        if self.name not in job.spec.orgs:
            raise ParameterError(
                f"org {self.name!r} is not one of job {job.spec.name!r}'s orgs "
                f"({', '.join(job.spec.orgs)})"
            )
        registry = self.consortium.orgs()
        missing = [n for n in job.spec.orgs if n not in registry]
        if missing:
            raise ParameterError(f"job orgs not registered on-chain: {', '.join(missing)}")
        self.participants = [registry[n] for n in job.spec.orgs]
        self.names = {a: n for n, a in registry.items()}
        self.index = job.spec.orgs.index(self.name)
        self.peer: OrgPeer | None = None  # set by take_part
        self.watch: SessionWatch | None = None

    def find_session(self, timeout: float, poll: float, progress: Callable[[str], None]) -> int:
        """The newest live session of this job naming this org, waiting up to ``timeout``
        seconds for one to be opened."""
        wanted = job_hash(self.job.description())
        end = time.monotonic() + timeout
        said = False
        while True:
            for sid in range(self.sessions.session_count(), 0, -1):
                info = self.sessions.session(sid)
                mine = info.job_hash == wanted and self.keys.address in info.participants
                if mine and info.state == State.OPENED:
                    return sid
            if time.monotonic() > end:
                raise TimeoutError(
                    f"no session of job {self.job.spec.name!r} naming {self.name} was opened "
                    f"within {timeout:.0f} s"
                )
            if not said:
                progress(f"waiting for a session of job {self.job.spec.name!r} to be opened")
                said = True
            time.sleep(poll)

    def take_part(
        self,
        session: int,
        own: Any,
        cache_dir: Path,
        *,
        timeout: float,
        poll: float,
        progress: Callable[[str], None],
        phase: Callable[[str], None],
    ) -> list[int]:
        """Run this org's part of ``session`` on input ``own``; the finalised outputs."""
        host, port = parse_endpoint(self.endpoint)
        identity = OrgIdentity(
            self.index, self.name, self.keys.account, self.keys.box_key, host, port, cache_dir
        )
        sender = TimedSender(self.w3, self.keys.account, TxLog(), self.name)
        self.peer = peer = OrgPeer(identity, sender, self.consortium, self.sessions, session,
                                   self.job, timeout)  # fmt: skip
        self.watch = watch = SessionWatch(
            self.sessions, session, self.names, timeout, poll, self.record.block, progress
        )

        def fetch(info: SessionInfo) -> None:
            fetch_batch(
                self.record.service_endpoint,
                self.keys.account,
                self.record.id,
                session,
                OrgCache(cache_dir),
                self.sessions.batch_hash(session, self.keys.address),
                # The service has committed the hash, so its batch is there to serve: a
                # service that then does not deliver it (or sends other bytes) is waited for
                # one step, like any other role, not until the session's deadline.
                deadline=min(float(info.deadline), time.time() + timeout),
                progress=progress,
            )

        return take_part(peer, own, watch, self.participants, fetch=fetch, phase=phase)

    def figures(self) -> Figures:
        """This org's counters now (zero before :meth:`take_part` has connected); safe to call
        from a display's thread while the session runs."""
        peer, watch = self.peer, self.watch
        if peer is None or watch is None:
            return Figures()
        network = peer.network
        stats = network.stats if network is not None else TransportStats()
        sender = peer.sender
        chain = watch.waited + (sender.seconds if isinstance(sender, TimedSender) else 0.0)
        return Figures(stats.rounds, stats.wire_bytes_sent, stats.wire_bytes_received,
                       stats.seconds_waiting, chain)  # fmt: skip

    def timings(self) -> dict[str, float | int]:
        """Where this org's session time went: on the chain (its own transactions, and waiting
        for the others' steps), blocked on the network, and the traffic (``stats.json``)."""
        assert self.peer is not None and self.watch is not None, "take_part() first"
        sender = self.peer.sender
        assert isinstance(sender, TimedSender)
        f = self.figures()
        return {
            "chain_seconds": round(f.chain_seconds, 3),
            "transactions": sender.count,
            "network_wait_seconds": round(f.network_wait_seconds, 3),
            "rounds": f.rounds,
            "bytes_sent": f.bytes_sent,
            "bytes_received": f.bytes_received,
        }


class TimedSender(Sender):
    """A :class:`Sender` that keeps the time its transactions took (for ``stats.json``)."""

    seconds = 0.0
    count = 0

    def transact(self, fn: Any, abi: list[dict[str, Any]], extra_gas: int = 0) -> Any:
        start = time.perf_counter()
        try:
            return super().transact(fn, abi, extra_gas)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1
