"""One org's online SPDZ engine: open, input, Beaver multiplication, sacrifice, MAC check.

The engine owns the org's MAC key share, its preprocessing material and the list of values
opened but not yet MAC-checked. Its rules (PROTOCOLS.md):

* every opening enters the transcript and the pending MAC-check list;
* the MAC-check coefficients come from the transcript digest, i.e. after the openings;
* :meth:`Engine.checkpoint` clears the pending list only by producing this org's ``sigma_i``,
  which the application then commits and reveals through the contract;
* preprocessing items are taken from :class:`~offchain.preprocessing.OrgMaterial`, which
  hands each out once.

Rounds: :meth:`open`, :meth:`input` and :meth:`mul` cost one communication round each,
whatever the number of values (all are batched); :meth:`sacrifice` costs two.

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from offchain.field import PrimeField
from offchain.preprocessing import OrgMaterial, Triple
from offchain.shares import Share, ShareArithmetic
from offchain.transcript import Transcript, challenge


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

    def __repr__(self) -> str:  # sigma is harmless once revealed, but not before its commitment
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
        """``tamper`` ("share" or "mac") makes this org cheat once in its next multiplication:
        fault injection for demonstrating and testing detection, never set in a real run."""
        if network.n != material.n or network.index != material.org:
            raise ProtocolAbort("material was dealt for another org or another set of orgs")
        self.field: PrimeField = material.field
        self.index = material.org
        self.n = material.n
        self.material = material
        self.network = network
        self.session_tag = session_tag
        self.arith = ShareArithmetic(self.field, self.index, material.alpha_i)
        self.transcript = Transcript(session_tag)
        self._pending: list[tuple[int, int]] = []  # (opened value, own MAC share)
        self._checkpoints = 0
        self._tamper = tamper
        self._triples: list[Triple] = []  # sacrifice-checked, each used once by mul()

    def __repr__(self) -> str:
        return f"Engine(org={self.index}, n={self.n}, pending={len(self._pending)})"

    @property
    def pending(self) -> int:
        """Number of opened values awaiting a MAC check."""
        return len(self._pending)

    # -- opening -------------------------------------------------------------------------

    def open(self, shares: Sequence[Share], label: str) -> list[int]:
        """Open shared values in one round. The values are NOT yet trustworthy: they join the
        pending MAC-check list, and only a passing :meth:`checkpoint` vouches for them."""
        fld = self.field
        mine = [s.x for s in shares]
        macs = [s.m for s in shares]
        if self._tamper == "share" and label == "mul" and mine:
            mine[0] = (mine[0] + 1) % fld.p
            self._tamper = None
        if self._tamper == "mac" and label == "mul" and macs:
            macs[0] = (macs[0] + 1) % fld.p
            self._tamper = None
        received = self.network.exchange(fld.encode(mine))
        columns = [mine if j == self.index else fld.decode(data) for j, data in enumerate(received)]
        if any(len(col) != len(mine) for col in columns):
            raise ProtocolAbort(f"{label}: an org opened a different number of values")
        values = [sum(col[k] for col in columns) % fld.p for k in range(len(mine))]
        self.transcript.absorb(label, fld.encode(values))
        self._pending.extend(zip(values, macs, strict=True))
        return values

    def accept_opened(self, shares: Sequence[Share], values: Sequence[int], label: str) -> None:
        """Record values opened outside the peer channels (e.g. output shares summed by the
        contract) so that the next checkpoint MAC-checks them too."""
        if len(shares) != len(values):
            raise ProtocolAbort(f"{label}: {len(values)} values for {len(shares)} shares")
        self.transcript.absorb(label, self.field.encode(values))
        self._pending.extend((v, s.m) for v, s in zip(values, shares, strict=True))

    # -- input ---------------------------------------------------------------------------

    def input(self, values: Sequence[int] | None, owner: int) -> list[Share]:
        """Share ``owner``'s private field elements (``values`` at the owner, ``None`` elsewhere).

        The owner broadcasts ``e = x - r`` for a mask ``r`` only it knows; ``<x> = <r> + e``.
        One round. The broadcast enters every transcript, so an owner that sends different
        ``e`` to different orgs is caught at the digest agreement.
        """
        fld = self.field
        if (owner == self.index) != (values is not None):
            raise ProtocolAbort("only the owner supplies input values")
        payload = b""
        if values is not None:
            masks = [self.material.take_mask(owner) for _ in values]
            if any(m.r is None for m in masks):
                raise ProtocolAbort("material lacks the clear mask for this org's own input")
            payload = fld.encode((v - m.r) % fld.p for v, m in zip(values, masks, strict=True))
        broadcast = fld.decode(self.network.exchange(payload)[owner])
        if values is None:
            masks = [self.material.take_mask(owner) for _ in broadcast]
        self.transcript.absorb(f"input/{owner}", fld.encode(broadcast))
        return [self.arith.add_const(m.share, e) for m, e in zip(masks, broadcast, strict=True)]

    # -- multiplication ------------------------------------------------------------------

    def mul(self, xs: Sequence[Share], ys: Sequence[Share]) -> list[Share]:
        """Beaver multiplication of ``xs[k] * ys[k]`` for all k in one round.

        Opens ``d = x - a`` and ``e = y - b`` (uniformly masked, so they may wait for the next
        checkpoint's MAC check); ``<z> = <c> + d<b> + e<a> + de``. Consumes one triple each.
        """
        if len(xs) != len(ys):
            raise ProtocolAbort("mul: operand vectors differ in length")
        if len(xs) > len(self._triples):
            raise ProtocolAbort(
                f"mul needs {len(xs)} sacrifice-checked triples, {len(self._triples)} left"
            )
        triples, self._triples = self._triples[: len(xs)], self._triples[len(xs) :]
        masked = [self.arith.sub(x, t.a) for x, t in zip(xs, triples, strict=True)]
        masked += [self.arith.sub(y, t.b) for y, t in zip(ys, triples, strict=True)]
        opened = self.open(masked, "mul")
        k = len(xs)
        out = []
        for t, d, e in zip(triples, opened[:k], opened[k:], strict=True):
            out.append(self.arith.linear([(1, t.c), (d, t.b), (e, t.a)], d * e))
        return out

    # -- sacrifice -----------------------------------------------------------------------

    def sacrifice(self, checked: int, t: int) -> list[int]:
        """Check ``checked`` triples, each against a partner triple that is thrown away.

        For ``<a>,<b>,<c>`` and partner ``<f>,<g>,<h>``: open ``rho = t a - f`` and
        ``sigma = b - g``, then open ``t c - h - sigma f - rho g - sigma rho``, which is 0 iff
        ``c - ab`` and ``h - fg`` cancel, which a dealer achieves only by guessing ``t``. ``t``
        must be derived after the triples are fixed (from their on-chain commitments). Two
        rounds. Returns the indices of failed pairs; only if there are none do the checked
        triples become available to :meth:`mul`, which uses no other. The openings still need
        the next checkpoint's MAC check before the outcome can be trusted either way.
        """
        pairs = self.material.take_triples(2 * checked)
        good, spare = pairs[0::2], pairs[1::2]
        ar = self.arith
        first = [ar.sub(ar.scale(u.a, t), v.a) for u, v in zip(good, spare, strict=True)]
        first += [ar.sub(u.b, v.b) for u, v in zip(good, spare, strict=True)]
        opened = self.open(first, "sacrifice/1")
        rhos, sigmas = opened[:checked], opened[checked:]
        zs = [
            ar.linear([(t, u.c), (-1, v.c), (-s, v.a), (-r, v.b)], -s * r)
            for u, v, r, s in zip(good, spare, rhos, sigmas, strict=True)
        ]
        failed = [k for k, z in enumerate(self.open(zs, "sacrifice/2")) if z != 0]
        if not failed:
            self._triples.extend(good)
        return failed

    # -- MAC check -----------------------------------------------------------------------

    def checkpoint(self) -> CheckpointShare:
        """Produce this org's share of the batched MAC check over every pending opening.

        ``rho_j = H(session, checkpoint, digest, j)``, ``sigma_i = sum rho_j m_i(a_j) -
        alpha_i sum rho_j a_j``; the values pass iff the orgs' ``sigma_i`` sum to 0. The
        pending list is cleared: the caller must now commit and reveal ``sigma`` and abort
        the session unless the check passes.
        """
        p = self.field.p
        digest = self.transcript.digest()
        number = self._checkpoints
        rhos = challenge(
            p, self.session_tag, number.to_bytes(4, "big"), digest, count=len(self._pending)
        )
        opened = sum(r * v for r, (v, _) in zip(rhos, self._pending, strict=True))
        gamma = sum(r * m for r, (_, m) in zip(rhos, self._pending, strict=True))
        sigma = (gamma - self.arith.alpha_i * opened) % p
        share = CheckpointShare(number, digest, sigma, len(self._pending))
        self._pending = []
        self._checkpoints += 1
        return share
