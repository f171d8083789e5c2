"""One org's whole session, driven by that org alone from what the chain shows.

Each org runs :func:`take_part` in its own process (``chainmpc peer``) or, on one machine, in its
own thread (``chainmpc demo``). Nothing coordinates the orgs but the contract: an org posts its
own transactions and then waits, through a :class:`SessionWatch`, until the chain shows that
every other participant has done the same step (docs/design.md, "Phases of one session"). A
wait ends in one of three ways: the step is done; the chain shows an abort, and the org stops at
once; or the wait times out, and the org aborts the session itself, naming the orgs it waited
for. Whatever fails at an org ends with that org's abort on-chain, so no session is left live.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from chainmpc.exceptions import ParameterError, SessionAborted
from chainmpc.roles.peer import OrgPeer, claim_for
from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import FieldError
from offchain.preprocessing.material import MaterialError
from offchain.transport.mesh import TransportError
from onchain.clients import AbortClaim, SessionClient, SessionInfo, State
from onchain.transactions import TransactionError

#: What an org's own step can fail with; the org then posts the abort with its claim.
PEER_FAILURES = (
    ProtocolAbort,
    TransportError,
    MaterialError,
    ParameterError,
    FieldError,  # another org sent bytes that are not field elements
    TimeoutError,
)
#: How long an org whose channel broke waits for the org that broke it to post its own abort
#: (with the real reason) before it posts "transport error" itself.
BROKEN_CHANNEL_GRACE = 3.0


class StepTimeout(TimeoutError):
    """The other orgs did not do a step in time; the message names them."""


class AbortedWhileWaiting(SessionAborted):
    """Another org aborted while this org waited for a step; ``waiting`` says which step and
    which orgs had not done it yet (most often, the reason for the abort)."""

    def __init__(self, message: str, waiting: str) -> None:
        super().__init__(message)
        self.waiting = waiting


@dataclass
class SessionWatch:
    """What one org sees of a session on-chain: the waits for the other orgs' steps.

    ``names`` maps participant addresses to org names for messages; ``timeout`` bounds each
    wait for the other orgs (the wait for the preprocessing service is bounded by the session's
    deadline instead); ``from_block`` is where the session's events can start."""

    sessions: SessionClient
    session: int
    names: dict[str, str]
    timeout: float = 60.0
    poll: float = 0.2
    from_block: int = 0
    progress: Callable[[str], None] = lambda _: None
    waited: float = 0.0  # seconds spent waiting on the chain and the other orgs, in total

    def info(self) -> SessionInfo:
        """The session now; raises :class:`SessionAborted` once it is aborted."""
        info = self.sessions.session(self.session)
        if info.state == State.ABORTED:
            raise SessionAborted(f"session {self.session} was aborted on-chain")
        return info

    def until_state(
        self, states: Collection[State], what: str, timeout: float | None = None
    ) -> SessionInfo:
        """Wait until the session is in one of ``states``."""
        return self._until(lambda info: info if info.state in states else None, what, timeout)

    def until_all(
        self, event: str, what: str, timeout: float | None = None, **filters: Any
    ) -> None:
        """Wait until every participant has emitted ``event`` (its ``org`` argument) for this
        session, with ``filters`` on its other indexed arguments."""

        def missing(info: SessionInfo) -> list[str]:
            logs = getattr(self.sessions.contract.events, event)().get_logs(
                from_block=self.from_block,
                argument_filters={"sessionId": self.session, **filters},
            )
            done = {e["args"]["org"] for e in logs}
            return [self.names.get(a, a) for a in info.participants if a not in done]

        self._until(lambda info: None if missing(info) else True, what, timeout, missing)

    def until_passed(self, number: int, what: str) -> None:
        """Wait until the contract has passed checkpoint ``number``."""
        self._until(lambda info: True if info.checkpoint_count > number else None, what)

    def _until(
        self,
        ready: Callable[[SessionInfo], Any],
        what: str,
        timeout: float | None = None,
        missing: Callable[[SessionInfo], list[str]] = lambda _: [],
    ) -> Any:
        """Poll until ``ready(info)`` is not None; stop at an abort; time out naming the
        orgs ``missing`` lists."""
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        try:
            return self._poll(ready, what, limit, start, missing)
        finally:
            self.waited += time.monotonic() - start

    def _poll(
        self,
        ready: Callable[[SessionInfo], Any],
        what: str,
        limit: float,
        start: float,
        missing: Callable[[SessionInfo], list[str]],
    ) -> Any:
        said = False
        last: SessionInfo | None = None
        seen = -1
        while True:
            # Decided before the read, so a step done as the time ran out still counts.
            waited = time.monotonic() - start
            # The session changes only in a new block: asking the block number is cheap for
            # the node, the session and its logs are read only when there is a new one (with
            # many orgs polling one node, the reads were what kept it busy).
            block = self.sessions.w3.eth.block_number
            if block != seen or last is None:
                try:
                    info = self.info()
                except SessionAborted as exc:
                    late = missing(last) if last is not None else []
                    waiting = what + (f" (still missing: {', '.join(late)})" if late else "")
                    raise AbortedWhileWaiting(str(exc), waiting) from None
                result = ready(info)
                if result is not None:
                    return result
                seen = block
            else:
                info = last
            if waited > limit:
                late = missing(info)
                raise StepTimeout(
                    f"waited {waited:.0f} s for {what}"
                    + (f" (still missing: {', '.join(late)})" if late else "")
                )
            last = info
            if not said and waited > 2.0:
                self.progress(f"waiting for {what} ...")
                said = True
            time.sleep(self.poll)


#: The session's phases as each org goes through them (the demo's table shows them).
SESSION_PHASES = (
    "accept parameters",
    "preprocess",
    "sacrifice check",
    "input",
    "compute",
    "MAC check",
    "output",
)


class OrgAborted(SessionAborted):
    """This org's own step failed; the message says why. ``posted`` is whether this org's
    abort is the one recorded (False when another org's abort was mined first)."""

    def __init__(self, message: str, posted: bool = True) -> None:
        super().__init__(message)
        self.posted = posted


def take_part(
    peer: OrgPeer,
    own: Any,
    watch: SessionWatch,
    participants: list[str],
    *,
    engine_class: Callable[..., Engine] = Engine,
    fetch: Callable[[SessionInfo], None] | None = None,
    phase: Callable[[str], None] = lambda _: None,
) -> list[int]:
    """Run ``peer``'s whole session on input ``own``; return the finalised (field) outputs.

    ``participants`` are the addresses this org expects, in order; ``fetch`` brings this org's
    sealed batch into its cache once the service has committed it (``None`` when the service
    delivers into the cache directly); ``phase`` is told each of :data:`SESSION_PHASES` as it
    starts ("" at the end). Raises :class:`OrgAborted` when this org aborted the session (it has
    posted the abort with its claim), :class:`SessionAborted` when another org or the contract
    did."""
    try:
        _phases(peer, own, watch, participants, engine_class, fetch, phase)
        watch.until_state({State.FINALISED}, "the session to be finalised")
        return peer.sessions.result(peer.session)
    except PEER_FAILURES as exc:
        peer.close()
        if isinstance(exc, TransportError):
            _grace(watch)
        posted = peer.abort(claim_for(exc))
        reason = f"{peer.me.name}: {type(exc).__name__}: {exc}{_culprit(exc, participants, watch)}"
        raise OrgAborted(reason, posted) from exc
    except SessionAborted:
        raise
    except BaseException as exc:
        peer.close()
        if isinstance(exc, TransactionError) and _aborted(watch):
            # Sent while another org's abort was being mined: the abort is what happened.
            raise SessionAborted(f"session {peer.session} was aborted on-chain") from exc
        # A revert, a lost node, Ctrl-C: still leave no session live (best effort).
        with suppress(Exception):  # the original failure is what the user must see
            peer.abort(AbortClaim.PROTOCOL_ERROR)
        raise
    finally:
        peer.close()
        phase("")


def _phases(
    peer: OrgPeer,
    own: Any,
    watch: SessionWatch,
    participants: list[str],
    engine_class: Callable[..., Engine],
    fetch: Callable[[SessionInfo], None] | None,
    phase: Callable[[str], None],
) -> None:
    phase("accept parameters")
    watch.until_state({State.OPENED}, "the session to be opened")
    peer.accept(participants)
    phase("preprocess")
    info = watch.info()
    deadline = max(0.0, info.deadline - time.time())
    info = watch.until_state(
        {State.PREPROCESSED}, "the other orgs to accept and the service to deal", deadline
    )
    if fetch is not None:
        fetch(info)
    peer.connect()
    peer.load_material(engine_class)
    phase("sacrifice check")
    claim = peer.check_material()
    verdicts = peer.share_verdicts(claim)
    checkpoint(peer, watch)
    if claim is not None:
        # The MAC check passed, so the openings are genuine: the material is bad.
        peer.abort(claim)
        raise OrgAborted(f"{peer.me.name}: {claim.name}")
    if any(verdicts):
        # Another org's check failed: it posts the abort; commit no input meanwhile.
        watch.until_state(set(), "the org whose material check failed to abort")
    phase("input")
    peer.commit_input(own)
    watch.until_all("InputCommitted", "every org's input commitment")
    phase("compute")
    peer.run_job(own)
    phase("MAC check")
    checkpoint(peer, watch)
    phase("output")
    peer.commit_output()
    watch.until_all("OutputCommitted", "every org's output commitment")
    peer.reveal_output()
    watch.until_state({State.OUTPUT_REVEALED}, "every org's output shares")
    peer.accept_output(peer.sessions.revealed_output(peer.session))
    checkpoint(peer, watch)


def checkpoint(peer: OrgPeer, watch: SessionWatch) -> None:
    """One MAC check through the contract: commit the digest and sigma, wait for every org's
    commitment (the contract then checks the digests agree), reveal sigma, wait for the
    contract to pass the checkpoint, and mark the engine's openings as checked."""
    number = watch.info().checkpoint_count
    peer.commit_checkpoint()
    watch.until_all("CheckpointCommitted", f"every org's checkpoint {number} commitment",
                    checkpoint=number)  # fmt: skip
    peer.reveal_checkpoint()
    watch.until_all("SigmaRevealed", f"every org's checkpoint {number} reveal",
                    checkpoint=number)  # fmt: skip
    watch.until_passed(number, f"checkpoint {number} to pass")
    peer.confirm_checkpoint()


def _culprit(exc: BaseException, participants: list[str], watch: SessionWatch) -> str:
    """The org a broken channel leads to, by name: the mesh knows orgs by index only, and the
    user must learn which org to call."""
    peer = getattr(exc, "peer", None)
    if not isinstance(exc, TransportError) or peer is None or not 0 <= peer < len(participants):
        return ""
    return f" (org {peer} is {watch.names.get(participants[peer], participants[peer])})"


def _aborted(watch: SessionWatch) -> bool:
    try:
        watch.info()
    except SessionAborted:
        return True
    return False


def _grace(watch: SessionWatch) -> None:
    """Give the org that broke the channel a moment to post its own abort first."""
    end = time.monotonic() + BROKEN_CHANNEL_GRACE
    while time.monotonic() < end and not _aborted(watch):
        time.sleep(watch.poll)
