"""The session's steps one at a time, every org in lockstep: the soundness tests stop a
session between two steps, skip one, or run one out of order, which the self-driven orgs of
``chainmpc/roles/org.py`` never do. Built on the launcher's setup and its service step."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from operator import methodcaller
from typing import Any, TypeVar

from chainmpc.exceptions import SessionAborted
from chainmpc.roles.launcher import Run
from chainmpc.roles.org import PEER_FAILURES
from chainmpc.roles.peer import OrgPeer, claim_for
from onchain.clients import State

T = TypeVar("T")


class Lockstep(Run):
    """A :class:`~chainmpc.roles.launcher.Run` driven step by step by the test."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=self.job.orgs)

    def _step(self, peer: OrgPeer, fn: Callable[[OrgPeer], T]) -> T:
        """Run one org's chain step; if it fails, that org posts the abort with its claim."""
        try:
            return fn(peer)
        except PEER_FAILURES as exc:
            self._failed(peer, exc)
            raise SessionAborted from exc

    def _failed(self, peer: OrgPeer, exc: BaseException) -> None:
        self.errors.append(f"{peer.me.name}: {type(exc).__name__}: {exc}")
        peer.close()
        peer.abort(claim_for(exc))

    def _each(self, fn: Callable[[OrgPeer], T]) -> list[T]:
        """Run ``fn`` for every org concurrently (the orgs' off-chain work). An org whose work
        fails closes its channels at once (so the others stop instead of waiting); the aborts
        are posted from this thread afterwards (one chain client, one thread)."""

        def work(peer: OrgPeer) -> T | BaseException:
            try:
                return fn(peer)
            except PEER_FAILURES as exc:
                peer.close()
                return exc

        outcomes = list(self.pool.map(work, self.peers))
        failures = [(p, o) for p, o in zip(self.peers, outcomes, strict=True)
                    if isinstance(o, BaseException)]  # fmt: skip
        for peer, exc in failures:
            self._failed(peer, exc)
        if failures:
            raise SessionAborted
        return outcomes  # type: ignore[return-value]

    def _in_turn(self, fn: Callable[[OrgPeer], object]) -> None:
        """Run one chain step for every org in turn, stopping at an on-chain abort."""
        for p in self.peers:
            self._step(p, fn)
            self._alive()

    def _alive(self) -> None:
        if self.sessions.session(self.session).state == State.ABORTED:
            raise SessionAborted

    def accept(self) -> None:
        """Every org checks the session's parameters itself and accepts them on-chain."""
        self.peers = [
            self.roles.peer(o.index)(o, s, self.consortium, self.sessions, self.session, self.job)
            for o, s in zip(self.orgs, self.org_senders, strict=True)
        ]
        expected = [o.account.address for o in self.orgs]
        self._in_turn(lambda p: p.accept(expected))

    def preprocessing(self) -> None:
        """The service deals and commits; each org connects and loads its checked batch."""
        self._preprocess()
        self._each(methodcaller("connect"))
        self._each(lambda p: p.load_material(self.roles.engine(p.me.index)))

    def sacrifice(self) -> None:
        """Sacrifice, bit and input-mask checks, then the MAC check of their openings
        on-chain (checkpoint 0). An org whose check failed then aborts with its claim."""
        claims = self._each(methodcaller("check_material"))
        self.checkpoint()
        for peer, claim in zip(self.peers, claims, strict=True):
            if claim is not None:
                # The MAC check passed, so the openings are genuine: the material is bad.
                self.errors.append(f"{peer.me.name}: {claim.name}")
                peer.abort(claim)
                raise SessionAborted

    def checkpoint(self) -> None:
        """Digest agreement and batched MAC check through the contract (commit, reveal)."""
        self._in_turn(methodcaller("commit_checkpoint"))
        self._in_turn(methodcaller("reveal_checkpoint"))
        for p in self.peers:
            self._step(p, methodcaller("confirm_checkpoint"))

    def input(self) -> None:
        """Each org commits to its input on-chain (before anyone shares anything)."""
        for p, v in zip(self.peers, self.inputs, strict=True):
            self._step(p, lambda peer, v=v: peer.commit_input(v))

    def compute(self) -> None:
        """Each org shares its input (masked broadcast), then the job runs."""
        self._each(lambda p: p.run_job(self.inputs[p.me.index]))

    def output(self) -> None:
        """Commit and reveal output shares; the final MAC check finalises the session."""
        self._in_turn(methodcaller("commit_output"))
        self._in_turn(methodcaller("reveal_output"))
        opened = self.sessions.revealed_output(self.session)
        for p in self.peers:
            p.accept_output(opened)
        self.checkpoint()
