"""The demo's cheats (``chainmpc demo --cheat KIND``): which role misbehaves, and how.

Each kind is a :class:`~chainmpc.roles.launcher.Roles` value that swaps one role's class for a
cheating wrapper (engine and dealer wrappers live in :mod:`chainmpc.faults`; the chain-level
ones here). Nothing in the launcher, the peer or the service knows about cheats.

``python -m chainmpc.cheats KIND ...`` runs the ``chainmpc`` command line with the service's
cheat of that kind installed: this is how the demo starts a cheating service as its own process.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

from chainmpc.faults import CheatingDealer, TamperingEngine
from chainmpc.roles.launcher import Roles
from chainmpc.roles.peer import OrgPeer
from offchain.engine.core import Engine

MASK_SHIFT = 1000  # what the cheating service adds to the victim's input


class SigmaCheat(OrgPeer):
    """Reveals a MAC-check share at checkpoint 1 that differs from its commitment."""

    def reveal_checkpoint(self) -> None:
        assert self._checkpoint is not None
        share, salt = self._checkpoint
        if share.checkpoint != 1:
            return super().reveal_checkpoint()
        self.sessions.reveal_sigma(
            self.sender, self.session, (share.sigma + 1) % self.field.p, salt
        )


class _FlipDigest:
    """A session client that posts a flipped transcript digest at checkpoint 1."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit_checkpoint(self, org: Any, session: int, digest: bytes, commitment: bytes) -> None:
        if self._inner.session(session).checkpoint_count == 1:
            digest = bytes([digest[0] ^ 1]) + digest[1:]
        self._inner.commit_checkpoint(org, session, digest, commitment)


class DigestCheat(OrgPeer):
    """Shows the other orgs one transcript and the chain another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = _FlipDigest(self.sessions)  # type: ignore[assignment]


class OutputCheat(OrgPeer):
    """Alters its output share, committing to the altered value (so the reveal matches)."""

    def output_shares(self) -> list[int]:
        shares = super().output_shares()
        return [(shares[0] + 1) % self.field.p, *shares[1:]]


def _peer(cls: type[OrgPeer], cheater: int) -> Any:
    return lambda org: cls if org == cheater else OrgPeer


def _engine(kind: str, cheater: int) -> Any:
    return lambda org: partial(TamperingEngine, kind=kind) if org == cheater else Engine


def _dealer(kind: str, cheater: int) -> Any:
    if kind == "triple":
        return partial(CheatingDealer, corrupt_triple=0)
    return partial(CheatingDealer, shift_mask=(cheater, 0, MASK_SHIFT))


#: kind -> (who misbehaves, what catches it), as the README's cheat table says.
CHEATS = {
    "share": ("an org adds 1 to its share of an opened value", "the on-chain MAC check"),
    "mac": ("an org alters one of its MAC shares", "the on-chain MAC check"),
    "triple": ("the service deals a bad triple", "the sacrifice check, before any input"),
    "mask": (
        f"the service hands an org the clear input mask r - {MASK_SHIFT} (shifting its input)",
        "the input-mask check, before any input",
    ),
    "sigma": ("an org reveals a MAC-check share unlike its commitment", "the contract, by name"),
    "digest": ("an org posts a different transcript digest", "the contract's digest agreement"),
    "output": ("an org alters its output share (and commits to it)", "the final MAC check"),
}


def roles_for(kind: str | None, cheater: int) -> Roles:
    """The roles of a run in which org ``cheater`` (0-based; for ``mask``, the victim) or the
    service cheats as ``kind``."""
    if kind is None:
        return Roles()
    if kind in ("share", "mac"):
        return Roles(engine=_engine(kind, cheater))
    if kind in ("triple", "mask"):
        return Roles(
            dealer=_dealer(kind, cheater),
            service_command=("-m", "chainmpc.cheats", kind, str(cheater)),
        )
    peers = {"sigma": SigmaCheat, "digest": DigestCheat, "output": OutputCheat}
    if kind not in peers:
        raise ValueError(f"unknown cheat {kind!r}; choose one of {', '.join(CHEATS)}")
    return Roles(peer=_peer(peers[kind], cheater))


def _service_main(argv: list[str]) -> None:
    """``python -m chainmpc.cheats KIND CHEATER preprocess ...``: the service, cheating."""
    import chainmpc.roles.service
    from chainmpc.cli import main

    kind, cheater, *rest = argv
    chainmpc.roles.service.DEALER = _dealer(kind, int(cheater))
    main(rest)


if __name__ == "__main__":
    _service_main(sys.argv[1:])
