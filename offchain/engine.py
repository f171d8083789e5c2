"""One org's online SPDZ engine: open, input, Beaver multiplication, sacrifice, MAC check.

The engine owns the org's MAC key share, its preprocessing material and the list of values
opened but not yet MAC-checked. Everything is vectorised: one call handles a whole vector of
values in one communication round. Its rules (PROTOCOLS.md):

* every opening enters the transcript and the pending MAC-check list;
* the MAC-check coefficients come from the transcript digest, i.e. after the openings;
* :meth:`Engine.checkpoint` clears the pending list only by producing this org's ``sigma_i``,
  which the caller must then commit and reveal (through the contract, or between peers);
* preprocessing is taken from :class:`~offchain.preprocessing.OrgMaterial` through cursors
  that only move forward; :meth:`Engine.mul` uses only sacrifice-checked triples.

Rounds: :meth:`open`, :meth:`input` and :meth:`mul` one each; :meth:`sacrifice` and
:meth:`check_bits` two each.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from offchain.field import Field, Vec
from offchain.preprocessing import OrgMaterial
from offchain.shares import ShareArithmetic, Shared
from offchain.transcript import Transcript


class Network(Protocol):
    """What the engine needs from the transport (see :class:`offchain.transport.PeerNetwork`)."""

    @property
    def n(self) -> int: ...

    @property
    def index(self) -> int: ...

    def exchange(self, payload: bytes) -> list[bytes]: ...


class ProtocolAbort(Exception):
    """The protocol found a deviation and must stop (the message says what and where)."""


@dataclass(frozen=True)
class CheckpointShare:
    """This org's contribution to a batched MAC check."""

    checkpoint: int
    digest: bytes
    sigma: int
    count: int

    def __repr__(self) -> str:  # sigma stays private until its commitment is in
        return f"CheckpointShare(checkpoint={self.checkpoint}, count={self.count})"


class Engine:
    """The SPDZ online phase for one org, over a :class:`Network` of all orgs."""

    def __init__(
        self,
        material: OrgMaterial,
        network: Network,
        session_tag: bytes,
        tamper: str | None = None,
    ) -> None:
        """``tamper`` ("share" or "mac") makes this org cheat once, in the next opening labelled
        "mul" (a job multiplication, not the bit check's squares):
        fault injection for demonstrating and testing detection, never set in a real run."""
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
        self._checkpoints = 0
        self._tamper = tamper
        self._checked: tuple[Shared, ...] | None = None  # sacrifice-checked (a, b, c)
        self._bits_checked = False  # the bit check's opening was 0 ...
        self._bits_checkpoint = -1  # ... and this checkpoint, which covers it, must pass
        self._confirmed = 0  # checkpoints 0 .. _confirmed - 1 are known to have passed
        self._checked_used = 0

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
        if self._tamper in ("share", "mac") and label == "mul" and len(mine):
            bump = f.from_ints([1])
            if self._tamper == "share":
                mine = mine.copy()
                mine[:1] = f.add(mine[:1], bump)
            else:
                macs = macs.copy()
                macs[:1] = f.add(macs[:1], bump)
            self._tamper = None
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
        One round. The broadcast enters every transcript, so an owner that sends different
        ``e`` to different orgs is caught at the digest agreement.
        """
        f = self.field
        if (owner == self.index) != (values is not None):
            raise ProtocolAbort("only the owner supplies input values")
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

    def _take_checked(self, count: int) -> tuple[Shared, Shared, Shared]:
        if self._checked is None:
            raise ProtocolAbort(f"mul needs {count} sacrifice-checked triples, 0 left")
        left = len(self._checked[0]) - self._checked_used
        if count > left:
            raise ProtocolAbort(f"mul needs {count} sacrifice-checked triples, {left} left")
        s = slice(self._checked_used, self._checked_used + count)
        self._checked_used += count
        a, b, c = self._checked
        return a[s], b[s], c[s]

    # -- sacrifice -----------------------------------------------------------------------

    def sacrifice(self, count: int, t: int) -> int:
        """Check ``count`` triples, each against a partner triple that is thrown away.

        For ``<a>,<b>,<c>`` and partner ``<f>,<g>,<h>``: open ``rho = t a - f`` and
        ``sigma = b - g``, then open ``t c - h - sigma f - rho g - sigma rho``, which is 0 iff
        ``c - ab`` and ``h - fg`` cancel, which a dealer achieves only by guessing ``t``. ``t``
        must be derived after the triples are fixed (from their on-chain commitments). Two
        rounds. Returns the number of failed pairs; only if there are none do the checked
        triples become available to :meth:`mul`, which uses no other. The openings still need
        the next checkpoint's MAC check before the outcome can be trusted either way.
        """
        a, b, c = self.material.take_triples(2 * count)
        ar, f = self.arith, self.field
        good = (a[0::2], b[0::2], c[0::2])
        spare = (a[1::2], b[1::2], c[1::2])
        rho, sigma = self.open(
            ar.sub(ar.scale(good[0], t), spare[0]), ar.sub(good[1], spare[1]), label="sacrifice"
        )
        z = ar.sub(ar.scale(good[2], t), spare[2])
        z = ar.sub(z, ar.mul_public(spare[0], sigma))
        z = ar.sub(z, ar.mul_public(spare[1], rho))
        z = ar.add_public(z, f.sub(f.zeros(count), f.mul(sigma, rho)))
        (zs,) = self.open(z, label="sacrifice/check")
        failed = sum(1 for v in f.to_ints(zs) if v != 0) if count else 0
        if not failed:
            self._checked = tuple(
                Shared(np.ascontiguousarray(g.x), np.ascontiguousarray(g.m)) for g in good
            )
            self._checked_used = 0
        return failed

    def check_bits(self) -> int:
        """Check that every dealt mask bit is 0 or 1; returns the number of failed checks
        (0 or 1: the check is batched).

        ``<z_j> = <b_j> * <b_j>`` by Beaver (one sacrifice-checked triple per bit), then open
        ``w = sum_j rho_j (z_j - b_j)`` with ``rho`` expanded from the transcript digest after
        the squares' openings; ``w = 0`` unless some ``b_j`` is not a bit, except with
        probability ``1/p``. Two rounds. Like the sacrifice, its openings need the next
        checkpoint's MAC check before the outcome can be trusted.
        """
        bits = self.material.random_bits()
        self._bits_checkpoint = self._checkpoints  # the next checkpoint vouches for the check
        if not len(bits):
            self._bits_checked = True
            return 0
        f = self.field
        diff = self.arith.sub(self.mul(bits, bits, label="bit-check/square"), bits)
        seed = b"chainmpc/bit-check" + self.session_tag + self.transcript.digest()
        rho = f.from_seed(seed, len(bits))
        w = Shared(f.from_ints([f.dot(rho, diff.x)]), f.from_ints([f.dot(rho, diff.m)]))
        (opened,) = self.open(w, label="bit-check")
        self._bits_checked = f.to_ints(opened) == [0]
        if self._bits_checked:
            self.material.derive_masks()  # preprocessing work, kept out of the online phase
        return 0 if self._bits_checked else 1

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        """edaBits for ``k + 1``-bit values, only once :meth:`check_bits` has passed and only
        if their masks are as wide as the statistical security requires."""
        from offchain.compare import mask_bits_for  # compare builds on this module

        self._require_checked_bits(count)
        need = mask_bits_for(k, self.field.bits)
        if count and self.material.mask_bits != need:
            raise ProtocolAbort(
                f"edaBit masks of {self.material.mask_bits} bits do not match the {need} "
                f"that {k + 1}-bit values need"
            )
        return self.material.take_edabits(count, k)

    def take_truncations(self, count: int, bits: int) -> tuple[Shared, Shared]:
        """Truncation masks from the material, only once :meth:`check_bits` has passed."""
        self._require_checked_bits(count)
        return self.material.take_truncations(count, bits)

    def _require_checked_bits(self, count: int) -> None:
        if count and not self._bits_checked:
            raise ProtocolAbort("mask bits are used only after check_bits() has passed")
        if count and self._confirmed <= self._bits_checkpoint:
            raise ProtocolAbort(
                "mask bits are used only after the MAC check covering check_bits() has passed"
            )

    def confirm_passed(self, share: CheckpointShare) -> None:
        """Record that the checkpoint ``share`` belongs to passed (checked between peers, or
        through the contract): its openings, and what they decided, can now be trusted."""
        self._confirmed = max(self._confirmed, share.checkpoint + 1)

    # -- MAC check -----------------------------------------------------------------------

    def checkpoint(self) -> CheckpointShare:
        """Produce this org's share of the batched MAC check over every pending opening.

        ``rho`` expanded from ``H(session, checkpoint, digest)`` (AES-CTR), one per value,
        ``sigma_i = sum rho_j m_i(a_j) - alpha_i sum rho_j a_j``; the values pass iff the orgs'
        ``sigma_i`` sum to 0. The pending list is cleared: the caller must now commit and
        reveal ``sigma`` and abort unless the check passes.
        """
        f = self.field
        digest = self.transcript.digest()
        number = self._checkpoints
        seed = b"chainmpc/mac-check" + self.session_tag + number.to_bytes(4, "big") + digest
        count = self.pending
        if count:
            opened = _concat([v for v, _ in self._pending])
            macs = _concat([m for _, m in self._pending])
            rho = f.from_seed(seed, count)
            sigma = (f.dot(rho, macs) - self.arith.alpha_i * f.dot(rho, opened)) % f.p
        else:
            sigma = 0
        self._pending = []
        self._checkpoints += 1
        return CheckpointShare(number, digest, sigma, count)

    def check_between_peers(self) -> CheckpointShare:
        """A checkpoint run over the peer channels instead of the contract (two rounds).

        Round 1: every org sends its transcript digest and ``H(session, checkpoint, org,
        sigma_i, salt_i)``; unequal digests abort. Round 2, only once all commitments are in:
        every org reveals ``(sigma_i, salt_i)``. Raises :class:`ProtocolAbort` naming an org
        whose reveal does not match its commitment, or if the shares do not sum to 0; on
        success the checkpoint is confirmed (:meth:`confirm_passed`). Used for intermediate
        checks; the check before the final output runs through the contract.
        """
        f = self.field
        share = self.checkpoint()
        salt = os.urandom(32)
        sigma_bytes = share.sigma.to_bytes(f.byte_length, "big")

        def commitment(org: int, sigma: bytes, salt_: bytes) -> bytes:
            tag = self.session_tag + share.checkpoint.to_bytes(4, "big") + org.to_bytes(2, "big")
            return hashlib.sha256(b"chainmpc/sigma" + tag + sigma + salt_).digest()

        round1 = self.network.exchange(share.digest + commitment(self.index, sigma_bytes, salt))
        if any(msg[:32] != share.digest for msg in round1):
            raise ProtocolAbort(f"checkpoint {share.checkpoint}: transcript digests disagree")
        reveals = self.network.exchange(sigma_bytes + salt)
        self.rounds += 2
        total = 0
        for org, (msg, r) in enumerate(zip(round1, reveals, strict=True)):
            sigma, salt_ = r[: f.byte_length], r[f.byte_length :]
            if len(salt_) != 32 or commitment(org, sigma, salt_) != msg[32:]:
                raise ProtocolAbort(f"org {org} revealed a MAC-check share that does not match")
            total += int.from_bytes(sigma, "big")
        if total % f.p:
            raise ProtocolAbort(f"MAC check {share.checkpoint} failed: an opened value was altered")
        self.confirm_passed(share)
        return share


def _concat(vectors: list[Vec]) -> Vec:
    return vectors[0] if len(vectors) == 1 else np.concatenate(vectors)


def mac_check_between_peers(engine: Engine) -> CheckpointShare:
    """:meth:`Engine.check_between_peers` (a checkpoint over the peer channels)."""
    return engine.check_between_peers()
