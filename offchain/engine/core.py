"""One org's online SPDZ engine: open, input, Beaver multiplication, MAC check.

The engine owns the org's MAC key share, its preprocessing material and the list of values
opened but not yet MAC-checked. Everything is vectorised: one call handles a whole vector of
values in one communication round. Its rules (docs/protocols.md):

* every opening enters the transcript and the pending MAC-check list;
* the MAC-check coefficients come from the transcript digest, i.e. after the openings;
* :meth:`Engine.checkpoint` clears the pending list only by producing this org's ``sigma_i``,
  which the caller must then commit and reveal (through the contract, or between peers);
  on-chain checkpoints are numbered as the contract numbers them, peer-only checks
  (:meth:`Engine.check_between_peers`) apart, so the two can never drift;
* nothing is revealed (:meth:`Engine.require_checked`) while an opening is unchecked or a
  checkpoint unconfirmed;
* preprocessing is taken from :class:`~offchain.preprocessing.material.OrgMaterial` through cursors
  that only move forward, and only once it is checked (:mod:`offchain.engine.checks`): comparisons
  use only checked bits and :meth:`input` only checked masks, each once the MAC check covering
  its check is confirmed; :meth:`mul` uses only sacrifice-checked triples, already before that
  MAC check (the bit and input checks square with them), which exposes no input: every input,
  and so every job multiplication, waits for the confirmed check of the masks, which comes
  with or after the sacrifice's.

Rounds: :meth:`open`, :meth:`input`, :meth:`mul` and :meth:`check_masks` one each;
:meth:`check_bits` and :meth:`check_between_peers` two each; :meth:`sacrifice` two per
:data:`~offchain.engine.checks.SACRIFICE_CHUNK` pairs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from offchain.engine.checks import MaterialChecks, ProtocolAbort
from offchain.engine.transcript import Transcript
from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import ShareArithmetic, Shared
from offchain.preprocessing.material import OrgMaterial


class Network(Protocol):
    """What the engine needs from the transport (see
    :class:`offchain.transport.mesh.PeerNetwork`)."""

    @property
    def n(self) -> int: ...

    @property
    def index(self) -> int: ...

    def exchange(self, payload: bytes) -> list[bytes]: ...


@dataclass(frozen=True)
class CheckpointShare:
    """This org's contribution to a batched MAC check: on-chain checkpoint ``checkpoint``
    (``peer`` None), or peer-only check number ``peer`` run before on-chain ``checkpoint``."""

    checkpoint: int
    digest: bytes
    sigma: int
    count: int
    peer: int | None = None

    def __repr__(self) -> str:  # sigma stays private until its commitment is in
        return f"CheckpointShare({self.name}, count={self.count})"

    @property
    def name(self) -> str:
        """On-chain "checkpoint 3", or "peer check 3.1": the session's peer check number 1
        (counted from 0 over the whole session), run before on-chain checkpoint 3."""
        if self.peer is None:
            return f"checkpoint {self.checkpoint}"
        return f"peer check {self.checkpoint}.{self.peer}"


class Engine(MaterialChecks):
    """The SPDZ online phase for one org, over a :class:`Network` of all orgs."""

    def __init__(self, material: OrgMaterial, network: Network, session_tag: bytes) -> None:
        if network.n != material.n or network.index != material.org:
            raise ProtocolAbort("material was dealt for another org or another set of orgs")
        self.field: Field = material.field
        self.index = material.org
        self.n = material.n
        self.material = material
        self.network = network
        self.session_tag = session_tag
        self.arith = ShareArithmetic(self.field, self.index, material.alpha_i)
        self.transcript = Transcript(session_tag)
        self.rounds = 0
        self._pending: list[tuple[Vec, Vec]] = []  # (opened values, own MAC shares)
        self._last_checked: tuple[Vec, Vec] | None = None  # one opening, for an empty check
        self._onchain = 0  # the next on-chain checkpoint's number, as the contract counts
        self._peer_checks = 0  # peer-only checks so far: numbered apart from the chain's
        self._produced: dict[tuple[int, int | None], tuple[int, bytes]] = {}  # -> serial, digest
        self._confirmed: set[int] = set()  # serials of the checks known to have passed
        self._init_checks()

    def __repr__(self) -> str:
        return f"Engine(org={self.index}, n={self.n}, pending={self.pending})"

    @property
    def pending(self) -> int:
        """Number of opened values awaiting a MAC check."""
        return sum(len(v) for v, _ in self._pending)

    # -- opening -------------------------------------------------------------------------

    def open(self, *shared: Shared, label: str) -> list[Vec]:
        """Open one or more shared vectors in one round. The values are NOT yet trustworthy:
        they join the pending MAC-check list; only a passing :meth:`checkpoint` vouches."""
        f = self.field
        whole = Shared.concat(shared) if len(shared) > 1 else shared[0]
        mine, macs = whole.x, whole.m
        received = self.network.exchange(f.encode(mine))
        self.rounds += 1
        parts = [mine if j == self.index else f.decode(data) for j, data in enumerate(received)]
        if any(len(p) != len(mine) for p in parts):
            raise ProtocolAbort(f"{label}: an org opened a different number of values")
        values = f.sum_vectors(parts)
        self.transcript.absorb(label, f.encode(values))
        self._pending.append((values, macs))
        out, start = [], 0
        for s in shared:
            out.append(values[start : start + len(s)])
            start += len(s)
        return out

    def accept_opened(self, shared: Shared, values: Vec, label: str) -> None:
        """Record values opened outside the peer channels (e.g. output shares summed by the
        contract) so that the next checkpoint MAC-checks them too."""
        if len(shared) != len(values):
            raise ProtocolAbort(f"{label}: {len(values)} values for {len(shared)} shares")
        self.transcript.absorb(label, self.field.encode(values))
        self._pending.append((values, shared.m))

    # -- input ---------------------------------------------------------------------------

    def input(self, values: Vec | None, owner: int, count: int) -> Shared:
        """Share ``count`` private elements of ``owner`` (``values`` at the owner only).

        The owner broadcasts ``e = x - r`` for masks ``r`` only it knows; ``<x> = <r> + e``.
        One round, ``count`` of ``owner``'s masks. The broadcast enters every transcript, so an
        owner that sends different ``e`` to different orgs is caught at the digest agreement.
        Refused until :meth:`check_masks` has passed and a checkpoint covering its opening is
        confirmed.
        """
        f = self.field
        if (owner == self.index) != (values is not None):
            raise ProtocolAbort("only the owner supplies input values")
        self._require_checked_masks(count)
        masks, clear = self.material.take_masks(owner, count)
        payload = b""
        if values is not None:
            if len(values) != count or clear is None:
                raise ProtocolAbort(f"input: {len(values)} values for {count} masks")
            payload = f.encode(f.sub(values, clear))
        broadcast = f.decode(self.network.exchange(payload)[owner])
        self.rounds += 1
        if len(broadcast) != count:
            raise ProtocolAbort(f"input of org {owner}: {len(broadcast)} values, not {count}")
        self.transcript.absorb(f"input/{owner}", f.encode(broadcast))
        return self.arith.add_public(masks, broadcast)

    # -- multiplication ------------------------------------------------------------------

    def mul(self, x: Shared, y: Shared, label: str = "mul") -> Shared:
        """Beaver multiplication ``x * y`` elementwise, one round for the whole vector.

        Opens ``d = x - a`` and ``e = y - b`` (uniformly masked, so they may wait for the next
        checkpoint's MAC check); ``<z> = <c> + d<b> + e<a> + de``. One checked triple each.
        """
        if len(x) != len(y):
            raise ProtocolAbort("mul: operand vectors differ in length")
        a, b, c = self._take_checked(len(x))
        ar, f = self.arith, self.field
        d, e = self.open(ar.sub(x, a), ar.sub(y, b), label=label)
        z, zm = f.beaver((c.x, c.m), (b.x, b.m), (a.x, a.m), d, e, ar.alpha_i, self.index == 0)
        return Shared(z, zm)

    def confirm_passed(self, share: CheckpointShare) -> None:
        """Record that the checkpoint ``share`` belongs to passed (checked between peers, or
        through the contract): its openings, and what they decided, can now be trusted."""
        produced = self._produced.get((share.checkpoint, share.peer))
        if produced is None or produced[1] != share.digest:
            raise ProtocolAbort(f"{share.name} was not produced by this engine")
        self._confirmed.add(produced[0])

    def require_checked(self, what: str) -> None:
        """Raise :class:`ProtocolAbort` unless every value opened so far is MAC-checked: no
        opening is pending and every checkpoint produced has been confirmed
        (:meth:`confirm_passed`, or a passed :meth:`check_between_peers`). Call it before
        revealing ``what`` (a result, output shares) or letting it steer the computation.
        Local: no rounds, no openings, no preprocessing."""
        if self.pending:
            raise ProtocolAbort(
                f"{what}: {self.pending} opened values are not MAC-checked yet (run a checkpoint)"
            )
        for (number, peer), (serial, digest) in self._produced.items():
            if serial not in self._confirmed:
                name = CheckpointShare(number, digest, 0, 0, peer).name
                raise ProtocolAbort(f"{what}: {name} has not been confirmed as passed")

    # -- MAC check -----------------------------------------------------------------------

    @property
    def next_checkpoint(self) -> int:
        """The number the next on-chain :meth:`checkpoint` must have (0, 1, ...)."""
        return self._onchain

    def checkpoint(self, number: int) -> CheckpointShare:
        """Produce this org's share of on-chain checkpoint ``number`` (the number the caller
        read from the contract): the batched MAC check over every pending opening.

        ``rho`` expanded from ``H(session, number, digest)`` (AES-CTR), one per value,
        ``sigma_i = sum rho_j m_i(a_j) - alpha_i sum rho_j a_j``; the values pass iff the orgs'
        ``sigma_i`` sum to 0. Raises :class:`ProtocolAbort` if ``number`` is not this engine's
        next on-chain number (so drift fails loudly, never as a bad commitment). Local: no
        rounds, no preprocessing. The pending list is cleared: the caller must now commit and
        reveal ``sigma`` through the contract, abort unless the check passes, and then
        :meth:`confirm_passed` the share.
        """
        if number != self._onchain:
            raise ProtocolAbort(
                f"checkpoint {number} requested, but this engine's next on-chain checkpoint is "
                f"{self._onchain}"
            )
        share = self._mac_share(number, None)
        self._onchain += 1
        return share

    def _mac_share(self, number: int, peer: int | None) -> CheckpointShare:
        f = self.field
        digest = self.transcript.digest()
        where = number.to_bytes(4, "big")
        if peer is None:
            seed = b"chainmpc/mac-check" + self.session_tag + where + digest
        else:
            where += peer.to_bytes(4, "big")
            seed = b"chainmpc/peer-mac-check" + self.session_tag + where + digest
        if not self._pending and self._last_checked is not None:
            # Nothing new to check: check the last opening again (with fresh coefficients,
            # which reveals nothing new), so that honest sigmas are never all zero. The
            # auditor rejects an all-zero checkpoint: it passes whatever was opened.
            self._pending = [self._last_checked]
        count = self.pending
        if count:
            opened = _concat([v for v, _ in self._pending])
            macs = _concat([m for _, m in self._pending])
            self._last_checked = (opened[-1:], macs[-1:])
            rho = f.from_seed(seed, count)
            sigma = (f.dot(rho, macs) - self.arith.alpha_i * f.dot(rho, opened)) % f.p
        else:
            sigma = 0
        self._pending = []
        share = CheckpointShare(number, digest, sigma, count, peer)
        self._produced[(number, peer)] = (len(self._produced), digest)
        return share

    def _peer_share(self) -> CheckpointShare:
        """A peer-only check's share, numbered ``(next on-chain number, peer sequence)``; it
        does not advance the on-chain numbering."""
        share = self._mac_share(self._onchain, self._peer_checks)
        self._peer_checks += 1
        return share

    def check_between_peers(self) -> CheckpointShare:
        """A MAC check of every pending opening over the peer channels instead of the contract
        (two rounds, no openings, no preprocessing).

        Numbered ``(next on-chain checkpoint, peer sequence)`` (its coefficient seed and its
        commitments say so), it leaves the on-chain numbering alone. Round 1: every org sends
        its transcript digest and ``H(session, number, sequence, org, sigma_i, salt_i)``;
        unequal digests abort. Round 2, only once all commitments are in: every org reveals
        ``(sigma_i, salt_i)``; commitments and reveals then join the transcript. Raises
        :class:`ProtocolAbort` naming an org whose reveal does not match its commitment, or if
        the shares do not sum to 0; on success the check is confirmed (:meth:`confirm_passed`).
        Used for intermediate checks; the check of the final output runs through the contract.
        """
        f = self.field
        share = self._peer_share()
        assert share.peer is not None
        salt = os.urandom(32)
        sigma_bytes = share.sigma.to_bytes(f.byte_length, "big")
        where = share.checkpoint.to_bytes(4, "big") + share.peer.to_bytes(4, "big")

        def commitment(org: int, sigma: bytes, salt_: bytes) -> bytes:
            tag = self.session_tag + where + org.to_bytes(2, "big")
            return hashlib.sha256(b"chainmpc/peer-sigma" + tag + sigma + salt_).digest()

        round1 = self.network.exchange(share.digest + commitment(self.index, sigma_bytes, salt))
        if any(msg[:32] != share.digest for msg in round1):
            raise ProtocolAbort(f"{share.name}: transcript digests disagree")
        reveals = self.network.exchange(sigma_bytes + salt)
        self.rounds += 2
        total = 0
        for org, (msg, r) in enumerate(zip(round1, reveals, strict=True)):
            sigma, salt_ = r[: f.byte_length], r[f.byte_length :]
            if len(salt_) != 32 or commitment(org, sigma, salt_) != msg[32:]:
                raise ProtocolAbort(f"org {org} revealed a MAC-check share that does not match")
            total += int.from_bytes(sigma, "big")
        self.transcript.absorb(
            f"peer-check/{share.checkpoint}.{share.peer}", b"".join(round1 + reveals)
        )
        if total % f.p:
            raise ProtocolAbort(f"MAC check failed at {share.name}: an opened value was altered")
        self.confirm_passed(share)
        return share


def _concat(vectors: list[Vec]) -> Vec:
    return vectors[0] if len(vectors) == 1 else np.concatenate(vectors)


def mac_check_between_peers(engine: Engine) -> CheckpointShare:
    """:meth:`Engine.check_between_peers` (a checkpoint over the peer channels)."""
    return engine.check_between_peers()
