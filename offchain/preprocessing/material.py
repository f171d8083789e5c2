"""The material the preprocessing service deals to each org: its kinds, cursors and format.

Per session the dealer draws a fresh MAC key ``alpha`` and deals to every org: its key share
``alpha_i``; authenticated Beaver triples ``<a>, <b>, <c = ab>`` (twice as many as the job
uses: each is sacrifice-checked against a partner that is then thrown away); input masks
``<r>`` whose value only the owning org learns, plus one extra mask ``<s>`` per owner for the
mask check (:meth:`~offchain.engine.core.Engine.check_masks`), never handed out as an input mask;
and masks dealt as bits, of every kind and width the job uses
(:mod:`offchain.preprocessing.kinds`: edaBits for comparisons, truncation pairs for fixed
point), each keyed by its :class:`~offchain.preprocessing.kinds.Key`.

Those masks are dealt as their bits only: every org computes ``<r> = sum_i 2^i <r_i>`` itself,
so ``r`` and its low part agree by construction, and a dealer can cheat on them only by dealing
a "bit" that is not 0 or 1 — which :meth:`~offchain.engine.core.Engine.check_bits` catches
before use, over the bits of every kind and width at once, with one checked triple per bit
(``Needs.bit_checks``). The dealer (:mod:`offchain.preprocessing.dealer`) keeps nothing after
it has dealt (docs/threat-model.md).

Material is handed out through cursors that only move forward, so an item can be taken once.
The wire/disk format (:mod:`offchain.preprocessing.sealed`, :data:`MAGIC` names its version) is
a sealed header, then each section in AEAD-encrypted chunks; an org's material read from its
batch (:func:`~offchain.preprocessing.batch.open_material`) keeps its triples on disk and
reads them a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

from offchain.exceptions import MaterialError
from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import Shared, weighted_sum
from offchain.preprocessing.kinds import KINDS, Key, checked_key
from offchain.preprocessing.sealed import CHUNK_ITEMS, MAGIC, BatchHeader

__all__ = ["MAGIC", "MaterialError", "Needs", "OrgMaterial"]


class TripleSource(Protocol):
    """Triples read by position without consuming them
    (:class:`~offchain.preprocessing.batch.StreamedTriples`)."""

    def __len__(self) -> int: ...

    def read(self, start: int, count: int) -> tuple[Shared, Shared, Shared]: ...


@dataclass(frozen=True)
class Needs:
    """What a job consumes: checked triples, input masks per org, and ``items``: how many masks
    of each :class:`~offchain.preprocessing.kinds.Key` (kind and width), e.g.
    ``{edabit_key(32, p_bits): 7, trunc_key(16, 64, p_bits): 3}``. ``items`` may be given as
    any mapping; it is kept as a sorted tuple of ``(key, count)`` without zero counts, so that
    equal needs compare, and encode (:meth:`counts`), equal."""

    triples: int = 0
    masks: tuple[int, ...] = ()
    items: Mapping[Key, int] | tuple[tuple[Key, int], ...] = ()

    def __post_init__(self) -> None:
        raw = dict(self.items) if not isinstance(self.items, Mapping) else self.items
        merged: dict[Key, int] = {}
        for key, count in raw.items():
            key = Key(*key)
            if key.kind not in KINDS:
                raise MaterialError(f"unknown kind of material {key.kind!r}")
            if count < 0:
                raise MaterialError(f"a negative count of {key.describe()}")
            merged[key] = merged.get(key, 0) + int(count)
        object.__setattr__(self, "items", tuple((k, c) for k, c in sorted(merged.items()) if c))

    def _pairs(self) -> tuple[tuple[Key, int], ...]:
        return cast(tuple[tuple[Key, int], ...], self.items)  # normalised by __post_init__

    def count(self, key: Key) -> int:
        """How many masks of ``key`` the job takes."""
        return dict(self._pairs()).get(key, 0)

    @property
    def keys(self) -> list[Key]:
        """The kinds and widths of bit-dealt material needed, in the canonical (sorted) order."""
        return [k for k, _ in self._pairs()]

    @property
    def dealt_masks(self) -> tuple[int, ...]:
        """Masks the dealer deals per owner: the job's, plus one check mask ``<s>`` for each
        owner that has any (docs/protocols.md, "Input masks are checked before use")."""
        return tuple(m + 1 if m else 0 for m in self.masks)

    def counts(self) -> list[int]:
        """The counts the service commits on-chain with the batch hashes (the contract stores
        them as ``uint256[]``, 1 to 64 entries), for every org and the auditor to compare with
        what the job needs. Deterministic: the layout is

        ``[triples, len(masks), masks of org 0, masks of org 1, ...,
        number of keys, then for each key in sorted order: kind code, width, shift, mask
        bits, count]``

        with the kind codes of :data:`~offchain.preprocessing.kinds.KINDS` (1 edaBits,
        2 truncation pairs). Zero counts are left out, so equal needs give equal vectors."""
        out = [self.triples, len(self.masks), *self.masks, len(self.items)]
        for key, count in self._pairs():
            out += [KINDS[key.kind].code, key.width, key.shift, key.bits, count]
        return out

    @property
    def bit_checks(self) -> int:
        """Dealt random bits, each checked (one triple) before use."""
        return sum(key.bits * count for key, count in self._pairs())

    @property
    def checked_triples(self) -> int:
        """Triples the orgs sacrifice-check: the job's plus those of the bit check."""
        return self.triples + self.bit_checks

    def __add__(self, other: Needs) -> Needs:
        width = max(len(self.masks), len(other.masks))
        masks = tuple(
            (self.masks[i] if i < len(self.masks) else 0)
            + (other.masks[i] if i < len(other.masks) else 0)
            for i in range(width)
        )
        items = dict(self._pairs())
        for key, count in other._pairs():
            items[key] = items.get(key, 0) + count
        return Needs(self.triples + other.triples, masks, items)


@dataclass
class _Cursor:
    """A forward-only position in one kind of material."""

    used: int = 0

    def take(self, count: int, available: int, what: str) -> slice:
        if count < 0:
            raise MaterialError(f"cannot take {count} {what}")
        if self.used + count > available:
            raise MaterialError(f"job needs {count} more {what}, {available - self.used} left")
        s = slice(self.used, self.used + count)
        self.used += count
        return s


@dataclass
class OrgMaterial:
    """Everything one org receives for one session. Each item is handed out once."""

    session: int
    org: int
    n: int
    field: Field
    alpha_i: int
    triples: tuple[Shared, Shared, Shared] | TripleSource  # in memory, or read from the batch
    masks: dict[int, Shared]
    own_masks: Vec  # clear values of the masks owned by this org
    mask_checks: dict[int, Shared]  # one check mask <s> per owner with masks; not an input mask
    own_mask_check: Vec  # its clear value if this org owns masks (else empty)
    bits: dict[Key, Shared]  # per key: every bit of every mask, element-major (count x key.bits)
    _cursors: dict[str, _Cursor] = field(default_factory=dict, repr=False)
    _derived: dict[Key, tuple[Shared, Shared]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for key, bits in self.bits.items():
            if len(bits) % key.bits:
                raise MaterialError(f"{key.describe()}: not a whole number of masks")

    def __repr__(self) -> str:  # never print key shares or shares
        counts = ", ".join(f"{k.describe()}: {self.count(k)}" for k in sorted(self.bits))
        return (
            f"OrgMaterial(session={self.session}, org={self.org}, "
            f"triples={self.remaining_triples}, {counts or 'no masks dealt as bits'})"
        )

    def _cursor(self, name: str) -> _Cursor:
        return self._cursors.setdefault(name, _Cursor())

    def close(self) -> None:
        """Release the batch file streamed triples are read from (nothing for in-memory
        material); the material is spent once its session is over."""
        close = getattr(self.triples, "close", None)
        if close is not None:
            close()

    @property
    def dealt_triples(self) -> int:
        """Triples dealt (sacrifice partners included)."""
        t = self.triples
        return len(t[0]) if isinstance(t, tuple) else len(t)

    @property
    def remaining_triples(self) -> int:
        """Triples not yet taken."""
        return self.dealt_triples - self._cursor("triples").used

    @property
    def triples_taken(self) -> int:
        """Triples taken so far: the position of the next one :meth:`take_triples` hands out."""
        return self._cursor("triples").used

    def take_triples(self, count: int) -> tuple[Shared, Shared, Shared]:
        """The next ``count`` triples ``(<a>, <b>, <c>)``; never handed out again."""
        s = self._cursor("triples").take(count, self.dealt_triples, "triples")
        return self.triples_at(s.start, count)

    def triples_at(self, start: int, count: int) -> tuple[Shared, Shared, Shared]:
        """Triples ``start`` to ``start + count`` again, whether taken or not: the engine
        re-reads the triples it has sacrifice-checked rather than hold them all in memory."""
        if start < 0 or count < 0 or start + count > self.dealt_triples:
            raise MaterialError(f"triples {start}+{count} of {self.dealt_triples} dealt")
        t = self.triples
        if isinstance(t, tuple):
            a, b, c = t
            s = slice(start, start + count)
            return a[s], b[s], c[s]
        return t.read(start, count)

    def take_masks(self, owner: int, count: int) -> tuple[Shared, Vec | None]:
        """The next ``count`` input masks of ``owner``: shares, and clear values at the owner."""
        if owner not in self.masks:
            raise MaterialError(f"no input masks for org {owner}")
        s = self._cursor(f"masks/{owner}").take(count, len(self.masks[owner]), "input masks")
        clear = self.own_masks[s] if owner == self.org else None
        return self.masks[owner][s], clear

    def count(self, key: Key) -> int:
        """Masks of ``key`` dealt (0 if none)."""
        return len(self.bits[key]) // key.bits if key in self.bits else 0

    def remaining(self, key: Key) -> int:
        """Masks of ``key`` not yet taken."""
        return self.count(key) - self._cursor(_cursor_name(key)).used

    def random_bits(self) -> tuple[list[Key], Shared]:
        """Every dealt mask bit, key by key in sorted order, for the bit check: the keys it
        covers and their bits (one vector)."""
        keys = sorted(self.bits)
        bits = [self.bits[k] for k in keys]
        f = self.field
        return keys, Shared.concat(bits) if bits else Shared(f.zeros(0), f.zeros(0))

    def derive_masks(self) -> None:
        """Compute every ``<r> = sum_i 2^i <r_i>`` and its low part from the dealt bits, once,
        so that the online phase only slices (local, no communication)."""
        if self._derived is not None:
            return
        f, out = self.field, {}
        for key, bits in self.bits.items():
            kind, count = KINDS[key.kind], self.count(key)
            low = kind.low(key)
            r = weighted_sum(f, bits, count, key.bits)
            if kind.as_bits:
                out[key] = (r, bits.columns(count, key.bits, slice(0, low)))
            else:
                out[key] = (r, weighted_sum(f, bits, count, key.bits, low))
        self._derived = out

    def take(self, key: Key, count: int) -> tuple[Shared, Shared]:
        """The next ``count`` masks of ``key``: ``<r>`` and its low part (its low bits,
        ``count * low`` shares element-major, or their sum; :mod:`~offchain.preprocessing.kinds`),
        derived from the dealt bits (:meth:`derive_masks`)."""
        if count and key not in self.bits:
            raise MaterialError(f"no {key.describe()} were dealt")
        s = self._cursor(_cursor_name(key)).take(count, self.count(key), key.describe())
        if not count:
            f = self.field
            return Shared(f.zeros(0), f.zeros(0)), Shared(f.zeros(0), f.zeros(0))
        self.derive_masks()
        r, low = self._derived[key]  # type: ignore[index]
        if KINDS[key.kind].as_bits:
            width = KINDS[key.kind].low(key)
            return r[s], low[s.start * width : s.stop * width]
        return r[s], low[s]

    def mask_check_material(self) -> list[tuple[int, Shared, Shared]]:
        """``(owner, <s>, every dealt <r>)`` for each owner with masks, in owner order: what
        the mask check opens (all of them, taken or not; :meth:`take_masks` never hands out
        ``s``). Raises :class:`MaterialError` if an owner's check mask is missing."""
        out = []
        for owner in sorted(self.masks):
            if not len(self.masks[owner]):
                continue
            check = self.mask_checks.get(owner)
            if check is None or len(check) != 1:
                raise MaterialError(f"no check mask for the input masks of org {owner}")
            out.append((owner, check, self.masks[owner]))
        return out

    # -- encoding (offchain.preprocessing.sealed) ------------------------------------------

    def header(self, chunk: int = CHUNK_ITEMS) -> BatchHeader:
        """What the sealed batch of this material says about it (:mod:`~.sealed`)."""
        return BatchHeader(
            self.session, self.org, self.n, self.field, self.alpha_i,
            tuple((name, len(cols[0])) for name, cols in self.columns()), chunk,
        )  # fmt: skip

    def columns(self) -> list[tuple[str, list[Vec]]]:
        """Every section and its columns, in the order a batch holds them
        (:func:`~offchain.preprocessing.sealed.columns_of`). Streamed triples are read in
        whole here: for tests and small batches."""
        a, b, c = self.triples_at(0, self.dealt_triples)
        out = [("triples", [a.x, a.m, b.x, b.m, c.x, c.m])]
        for owner in sorted(self.masks):
            own = [self.own_masks] if owner == self.org else []
            out.append((f"masks.{owner}", [self.masks[owner].x, self.masks[owner].m, *own]))
        for owner in sorted(self.mask_checks):
            own = [self.own_mask_check] if owner == self.org else []
            check = self.mask_checks[owner]
            out.append((f"maskcheck.{owner}", [check.x, check.m, *own]))
        for key in sorted(self.bits):
            out.append((section_name(key), [self.bits[key].x, self.bits[key].m]))
        return out

    @classmethod
    def from_columns(
        cls,
        header: BatchHeader,
        columns: Mapping[str, list[Vec]],
        triples: tuple[Shared, Shared, Shared] | TripleSource | None = None,
    ) -> OrgMaterial:
        """Material from a batch's header and its sections' columns; ``triples`` (e.g. read
        lazily from the batch) replaces the ``triples`` section if given."""
        f, org = header.field, header.org

        def sh(name: str) -> Shared:
            return Shared(columns[name][0], columns[name][1])

        def own(name: str) -> Vec:
            return columns[name][2] if name in columns else f.zeros(0)

        def owners(kind: str) -> list[int]:
            return sorted(int(n.split(".")[1]) for n in columns if n.split(".")[0] == kind)

        bits = {}
        for name in columns:
            part = name.split(".")
            if part[0] == "bits":
                key = checked_key(part[1], *map(int, part[2:5]), f.bits)
                bits[key] = sh(name)
        if triples is None:
            t = columns["triples"]
            triples = (Shared(t[0], t[1]), Shared(t[2], t[3]), Shared(t[4], t[5]))
        return cls(
            session=header.session,
            org=org,
            n=header.n,
            field=f,
            alpha_i=header.alpha_i,
            triples=triples,
            masks={o: sh(f"masks.{o}") for o in owners("masks")},
            own_masks=own(f"masks.{org}"),
            mask_checks={o: sh(f"maskcheck.{o}") for o in owners("maskcheck")},
            own_mask_check=own(f"maskcheck.{org}"),
            bits=bits,
        )


def _cursor_name(key: Key) -> str:
    return f"{key.kind}/{key.width}/{key.shift}/{key.bits}"


def section_name(key: Key) -> str:
    """The name of the section that holds the bits of the masks of ``key``."""
    return f"bits.{key.kind}.{key.width}.{key.shift}.{key.bits}"
