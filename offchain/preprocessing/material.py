"""The material the preprocessing service deals to each org: its kinds, cursors and format.

Per session the dealer draws a fresh MAC key ``alpha`` and deals to every org: its key share
``alpha_i``; authenticated Beaver triples ``<a>, <b>, <c = ab>`` (twice as many as the job
uses: each is sacrifice-checked against a partner that is then thrown away); input masks
``<r>`` whose value only the owning org learns, plus one extra mask ``<s>`` per owner for the
mask check (:meth:`~offchain.engine.core.Engine.check_masks`), never handed out as an input mask;
and, for comparisons, *edaBits*: a random
``<r>`` of ``mask_bits`` bits together with shared bits ``<r_0>, ..., <r_{k-1}>`` of its low
``k`` bits (Escudero et al., CRYPTO 2020); and, for fixed point, truncation masks.

Masks are dealt as their bits only: every org computes ``<r> = sum_i 2^i <r_i>`` itself, so
``r`` and its low bits agree by construction, and a dealer can cheat on them only by dealing
a "bit" that is not 0 or 1 — which :meth:`~offchain.engine.core.Engine.check_bits` catches before
use, with one checked triple per bit (``Needs.bit_checks``).
The dealer (:mod:`offchain.preprocessing.dealer`) keeps nothing after it has dealt
(DESIGN.md, "Trust model").

Material is handed out through cursors that only move forward, so an item can be taken once.
The wire/disk format is binary: a JSON header naming each section, then the sections' field
elements in the field's fixed-width encoding.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

from offchain.exceptions import MaterialError
from offchain.hazmat.field import Field, Vec, field_for
from offchain.hazmat.shares import Shared

MAGIC = b"CMPCMAT3"


@dataclass(frozen=True)
class Needs:
    """What a job consumes: checked triples, input masks per org, edaBits of ``k`` bits."""

    triples: int = 0
    masks: tuple[int, ...] = ()
    edabits: int = 0
    k: int = 32
    mask_bits: int = 0  # total bits of an edaBit mask (0: no edaBits)
    truncations: int = 0  # truncation pairs (<r>, <r mod 2^trunc_bits>)
    trunc_bits: int = 16
    trunc_mask_bits: int = 0  # total bits of a truncation mask (0: none)

    @property
    def dealt_masks(self) -> tuple[int, ...]:
        """Masks the dealer deals per owner: the job's, plus one check mask ``<s>`` for each
        owner that has any (PROTOCOLS.md, "Input masks are checked before use")."""
        return tuple(m + 1 if m else 0 for m in self.masks)

    def counts(self) -> list[int]:
        """The counts the service commits on-chain with the batch hashes, for every org and
        the auditor to compare with what the job needs: ``[triples, edabits, k, mask_bits,
        truncations, trunc_bits, trunc_mask_bits, masks of org 0, masks of org 1, ...]``."""
        return [
            self.triples,
            self.edabits,
            self.k,
            self.mask_bits,
            self.truncations,
            self.trunc_bits,
            self.trunc_mask_bits,
            *self.masks,
        ]

    @property
    def bit_checks(self) -> int:
        """Dealt random bits, each checked (one triple) before use."""
        return self.edabits * self.mask_bits + self.truncations * self.trunc_mask_bits

    @property
    def checked_triples(self) -> int:
        """Triples the orgs sacrifice-check: the job's plus those of the bit check."""
        return self.triples + self.bit_checks

    def __add__(self, other: Needs) -> Needs:
        def pick(name: str, count: str) -> dict[str, int]:
            mine, theirs = getattr(self, count), getattr(other, count)
            keys = {"edabits": ("k", "mask_bits"), "truncations": ("trunc_bits", "trunc_mask_bits")}
            fields = keys[count]
            a = tuple(getattr(self, f) for f in fields)
            b = tuple(getattr(other, f) for f in fields)
            if mine and theirs and a != b:
                raise ValueError(f"cannot merge {name} of different widths")
            return dict(zip(fields, a if mine else b, strict=True))

        width = max(len(self.masks), len(other.masks))
        masks = tuple(
            (self.masks[i] if i < len(self.masks) else 0)
            + (other.masks[i] if i < len(other.masks) else 0)
            for i in range(width)
        )
        return Needs(
            triples=self.triples + other.triples,
            masks=masks,
            edabits=self.edabits + other.edabits,
            truncations=self.truncations + other.truncations,
            **pick("edaBits", "edabits"),
            **pick("truncation pairs", "truncations"),
        )


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
    triples: tuple[Shared, Shared, Shared]
    masks: dict[int, Shared]
    own_masks: Vec  # clear values of the masks owned by this org
    mask_checks: dict[int, Shared]  # one check mask <s> per owner with masks; not an input mask
    own_mask_check: Vec  # its clear value if this org owns masks (else empty)
    edabits: Shared  # every bit of every edaBit mask, element-major (count x mask_bits)
    k: int
    mask_bits: int
    truncs: Shared  # every bit of every truncation mask (count x trunc_mask_bits)
    trunc_bits: int
    trunc_mask_bits: int
    _cursors: dict[str, _Cursor] = field(default_factory=dict, repr=False)
    _derived: tuple[Shared, Shared, Shared, Shared] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never print key shares or shares
        return (
            f"OrgMaterial(session={self.session}, org={self.org}, "
            f"triples={self.remaining_triples}, edabits={self.edabit_count})"
        )

    def _cursor(self, name: str) -> _Cursor:
        return self._cursors.setdefault(name, _Cursor())

    @property
    def remaining_triples(self) -> int:
        """Triples not yet taken."""
        return len(self.triples[0]) - self._cursor("triples").used

    def take_triples(self, count: int) -> tuple[Shared, Shared, Shared]:
        """The next ``count`` triples ``(<a>, <b>, <c>)``; never handed out again."""
        s = self._cursor("triples").take(count, len(self.triples[0]), "triples")
        a, b, c = self.triples
        return a[s], b[s], c[s]

    def take_masks(self, owner: int, count: int) -> tuple[Shared, Vec | None]:
        """The next ``count`` input masks of ``owner``: shares, and clear values at the owner."""
        if owner not in self.masks:
            raise MaterialError(f"no input masks for org {owner}")
        s = self._cursor(f"masks/{owner}").take(count, len(self.masks[owner]), "input masks")
        clear = self.own_masks[s] if owner == self.org else None
        return self.masks[owner][s], clear

    @property
    def edabit_count(self) -> int:
        """edaBits dealt."""
        return len(self.edabits) // self.mask_bits if self.mask_bits else 0

    @property
    def truncation_count(self) -> int:
        """Truncation masks dealt."""
        return len(self.truncs) // self.trunc_mask_bits if self.trunc_mask_bits else 0

    def random_bits(self) -> Shared:
        """Every dealt mask bit (edaBits, then truncation masks), for the bit check."""
        return Shared.concat([self.edabits, self.truncs])

    def derive_masks(self) -> None:
        """Compute every ``<r> = sum_i 2^i <r_i>`` (and the low parts) from the dealt bits,
        once, so that the online phase only slices (local, no communication)."""
        if self._derived is not None:
            return
        f, e, t = self.field, self.edabit_count, self.truncation_count
        self._derived = (
            _weighted(f, self.edabits, e, self.mask_bits, self.mask_bits),
            self.edabits.columns(e, self.mask_bits, slice(0, self.k)),
            _weighted(f, self.truncs, t, self.trunc_mask_bits, self.trunc_mask_bits),
            _weighted(f, self.truncs, t, self.trunc_mask_bits, self.trunc_bits),
        )

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        """The next ``count`` edaBits: ``<r>`` and its low ``k`` bits (``count * k`` shares,
        element-major). ``r`` is derived from its dealt bits (:meth:`derive_masks`)."""
        if count and k != self.k:
            raise MaterialError(f"edaBits were dealt for {self.k}-bit values, not {k}-bit")
        s = self._cursor("edabits").take(count, self.edabit_count, "edaBits")
        self.derive_masks()
        r, low, _, _ = self._derived  # type: ignore[misc]
        return r[s], low[s.start * k : s.stop * k]

    def take_truncations(self, count: int, bits: int) -> tuple[Shared, Shared]:
        """The next ``count`` truncation pairs ``(<r>, <r mod 2^bits>)``, from dealt bits."""
        if count and bits != self.trunc_bits:
            raise MaterialError(
                f"truncation pairs were dealt for {self.trunc_bits} bits, not {bits}"
            )
        s = self._cursor("truncs").take(count, self.truncation_count, "truncation pairs")
        self.derive_masks()
        _, _, r, low = self._derived  # type: ignore[misc]
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

    # -- encoding ------------------------------------------------------------------------

    def _sections(self) -> list[tuple[str, Vec]]:
        a, b, c = self.triples
        out = [
            ("triples.a.x", a.x),
            ("triples.a.m", a.m),
            ("triples.b.x", b.x),
            ("triples.b.m", b.m),
            ("triples.c.x", c.x),
            ("triples.c.m", c.m),
        ]
        for owner in sorted(self.masks):
            out += [
                (f"masks.{owner}.x", self.masks[owner].x),
                (f"masks.{owner}.m", self.masks[owner].m),
            ]
        out.append(("masks.own", self.own_masks))
        for owner in sorted(self.mask_checks):
            out += [
                (f"maskcheck.{owner}.x", self.mask_checks[owner].x),
                (f"maskcheck.{owner}.m", self.mask_checks[owner].m),
            ]
        out.append(("maskcheck.own", self.own_mask_check))
        out += [
            ("edabits.x", self.edabits.x),
            ("edabits.m", self.edabits.m),
            ("trunc.x", self.truncs.x),
            ("trunc.m", self.truncs.m),
        ]
        return out

    def to_bytes(self) -> bytes:
        """The binary encoding that is sealed to the org."""
        sections = self._sections()
        header = json.dumps(
            {
                "session": self.session,
                "org": self.org,
                "n": self.n,
                "modulus": hex(self.field.p),
                "alpha_i": hex(self.alpha_i),
                "k": self.k,
                "mask_bits": self.mask_bits,
                "trunc_bits": self.trunc_bits,
                "trunc_mask_bits": self.trunc_mask_bits,
                "sections": [[name, len(v)] for name, v in sections],
            },
            sort_keys=True,
        ).encode()
        body = b"".join(self.field.encode(v) for _, v in sections)
        return MAGIC + struct.pack(">I", len(header)) + header + body

    @classmethod
    def from_bytes(cls, data: bytes) -> OrgMaterial:
        """Parse :meth:`to_bytes` output, rejecting anything malformed or unreduced."""
        try:
            if data[:8] != MAGIC:
                raise MaterialError("not chainmpc material (bad magic)")
            (hlen,) = struct.unpack(">I", data[8:12])
            header = json.loads(data[12 : 12 + hlen])
            fld = field_for(int(header["modulus"], 16))
            view = memoryview(data)[12 + hlen :]
            vecs: dict[str, Vec] = {}
            width = fld.byte_length
            for name, count in header["sections"]:
                size = int(count) * width
                if len(view) < size:
                    raise MaterialError(f"material truncated in section {name}")
                vecs[name] = fld.decode(view[:size])
                view = view[size:]
            if len(view):
                raise MaterialError("trailing bytes after the last section")
            alpha_i = int(header["alpha_i"], 16)
            if not 0 <= alpha_i < fld.p:
                raise MaterialError("MAC key share is not a field element")

            def sh(prefix: str) -> Shared:
                return Shared(vecs[f"{prefix}.x"], vecs[f"{prefix}.m"])

            def owners(kind: str) -> list[int]:
                names = (n.split(".") for n in vecs)
                return sorted({int(p[1]) for p in names if p[0] == kind and p[1] != "own"})

            return cls(
                session=int(header["session"]),
                org=int(header["org"]),
                n=int(header["n"]),
                field=fld,
                alpha_i=alpha_i,
                triples=(sh("triples.a"), sh("triples.b"), sh("triples.c")),
                masks={o: sh(f"masks.{o}") for o in owners("masks")},
                own_masks=vecs["masks.own"],
                mask_checks={o: sh(f"maskcheck.{o}") for o in owners("maskcheck")},
                own_mask_check=vecs["maskcheck.own"],
                edabits=sh("edabits"),
                k=int(header["k"]),
                mask_bits=int(header["mask_bits"]),
                truncs=sh("trunc"),
                trunc_bits=int(header["trunc_bits"]),
                trunc_mask_bits=int(header["trunc_mask_bits"]),
            )
        except MaterialError:
            raise
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise MaterialError(f"malformed material: {type(exc).__name__}") from None


def _weighted(f: Field, bits: Shared, count: int, width: int, upto: int) -> Shared:
    """``sum_{i < upto} 2^i <b_{j, i}>`` for each of ``count`` rows of ``width`` bit shares
    (local: public coefficients need no MAC key)."""

    def one(v: Vec) -> Vec:
        out = f.zeros(count)
        for i in range(upto if count else 0):
            out = f.add(out, f.mul_scalar(v[i::width], 1 << i))
        return out

    return Shared(one(bits.x), one(bits.m))
