"""The preprocessing service's dealer: fresh material for every org of one session.

Per session the dealer draws a fresh MAC key ``alpha`` and deals what :class:`Needs` asks for
(see :mod:`offchain.preprocessing.material` for the kinds of material and their format). It
deals a chunk at a time (:meth:`Dealer.stream`) and keeps nothing once the chunks are drawn
(docs/threat-model.md); a dealer may cheat, which the orgs' checks catch before any of its
material is used (:mod:`offchain.engine.checks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import share_vector
from offchain.preprocessing.kinds import checked_key
from offchain.preprocessing.material import MaterialError, Needs, OrgMaterial, section_name
from offchain.preprocessing.sealed import CHUNK_ITEMS, MAX_CHUNK_ITEMS, BatchHeader, columns_of

#: One dealt chunk: its section's name and, for each org in turn, its columns
#: (:func:`~offchain.preprocessing.sealed.columns_of`).
Chunk = tuple[str, list[list[Vec]]]


@dataclass
class Dealing:
    """A session's material as it is dealt: each org's batch header, and the chunks, drawn
    only as they are iterated (section by section, in header order)."""

    headers: list[BatchHeader]
    chunks: Iterator[Chunk]


@dataclass(frozen=True)
class Dealer:
    """A dealer-style preprocessing service for ``n`` orgs over ``field``."""

    field: Field
    n: int

    def stream(self, session: int, needs: Needs, chunk: int = CHUNK_ITEMS) -> Dealing:
        """What the service writes to the orgs' batches: :meth:`deal`'s material, a chunk at
        a time. A subclass that overrides :meth:`deal` (to tamper with the material, as the
        tests' and the demo's cheating dealers do) has its material streamed as dealt."""
        if type(self).deal is not Dealer.deal:
            return dealing_of(self.deal(session, needs), chunk)
        return self._stream(session, needs, chunk)

    def _stream(self, session: int, needs: Needs, chunk: int) -> Dealing:
        """Deal what ``needs`` asks for, ``chunk`` items at a time, so that dealing holds one
        chunk of each org's material at once, never the batch: ``2 * needs.checked_triples``
        triples (each checked one with its sacrifice partner adjacent: pairs ``(2j, 2j+1)``),
        the input masks plus one check mask per owner that has any (``needs.dealt_masks``),
        with their clear values in their owner's batch, and the bits of the masks of every
        kind and width in ``needs.items``. The MAC key ``alpha`` is fresh per call and lives
        only in the chunks' generator. Raises :class:`MaterialError` for a key whose mask
        width is not the one its kind needs in this field. (Cheating dealers for demos and
        tests live in ``chainmpc/faults.py``, outside this code path.)
        """
        f, n = self.field, self.n
        if len(needs.masks) > n:
            raise MaterialError(f"input masks requested for {len(needs.masks)} orgs; only {n}")
        for key in needs.keys:
            checked_key(*key, f.bits)  # only the mask width its kind needs in this field
        if not 1 <= chunk <= MAX_CHUNK_ITEMS:
            raise MaterialError(f"chunk of {chunk} items (1 to {MAX_CHUNK_ITEMS})")
        alpha = f.to_ints(f.random(1))[0]
        alpha_shares = f.to_ints(f.random(n - 1)) if n > 1 else []
        alpha_shares.append((alpha - sum(alpha_shares)) % f.p)
        masks = needs.masks + (0,) * (n - len(needs.masks))
        plan: list[tuple[str, int]] = [("triples", 2 * needs.checked_triples)]
        plan += [(f"masks.{o}", masks[o]) for o in range(n)]
        plan += [(f"maskcheck.{o}", 1) for o in range(n) if masks[o]]
        plan += [(section_name(key), count * key.bits) for key, count in needs.items]
        headers = [
            BatchHeader(session, i, n, f, alpha_shares[i], tuple(plan), chunk) for i in range(n)
        ]

        def draw(name: str, size: int) -> list[list[Vec]]:
            if name == "triples":
                a, b = f.random(size), f.random(size)
                shares = [share_vector(f, v, alpha, n) for v in (a, b, f.mul(a, b))]
                return [[v for s in shares for v in (s[i].x, s[i].m)] for i in range(n)]
            if name.startswith("bits."):
                shared = share_vector(f, f.random_bits(size), alpha, n)
                return [[s.x, s.m] for s in shared]
            owner = int(name.split(".")[1])
            clear = f.random(size)
            shared = share_vector(f, clear, alpha, n)
            return [[s.x, s.m, *([clear] if i == owner else [])] for i, s in enumerate(shared)]

        def chunks() -> Iterator[Chunk]:
            for name, count in plan:
                for start in range(0, count, chunk):
                    yield name, draw(name, min(chunk, count - start))

        return Dealing(headers, chunks())

    def deal(self, session: int, needs: Needs) -> list[OrgMaterial]:
        """:meth:`stream`, collected into each org's material in memory (for tests, the demo's
        cheats and small jobs; the service writes the stream to the orgs' batches instead)."""
        return collect(self._stream(session, needs, CHUNK_ITEMS))


def collect(dealing: Dealing) -> list[OrgMaterial]:
    """Every org's material from a :class:`Dealing`, in memory."""
    per_org: list[dict[str, list[list[Vec]]]] = [{} for _ in dealing.headers]
    for name, parts in dealing.chunks:
        for org, cols in enumerate(parts):
            per_org[org].setdefault(name, []).append(cols)
    out = []
    for header, got in zip(dealing.headers, per_org, strict=True):
        f, columns = header.field, {}
        for name, count in header.sections:
            chunks = got.get(name, [])
            width = columns_of(name, header.org)
            columns[name] = [
                np.concatenate([c[j] for c in chunks]) if chunks else f.zeros(count)
                for j in range(width)
            ]
        out.append(OrgMaterial.from_columns(header, columns))
    return out


def dealing_of(materials: list[OrgMaterial], chunk: int = CHUNK_ITEMS) -> Dealing:
    """A :class:`Dealing` of material already in memory (what a cheating dealer streams)."""
    headers = [m.header(chunk) for m in materials]

    def chunks() -> Iterator[Chunk]:
        per_org = [m.columns() for m in materials]
        for j, (name, cols) in enumerate(per_org[0]):
            for start in range(0, len(cols[0]), chunk):
                yield name, [[c[start : start + chunk] for c in o[j][1]] for o in per_org]

    return Dealing(headers, chunks())
