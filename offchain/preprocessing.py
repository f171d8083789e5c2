"""The preprocessing service's dealer and the material it deals to each org.

Per session the dealer draws a fresh MAC key ``alpha`` and deals to every org: its key share
``alpha_i``; authenticated Beaver triples ``<a>, <b>, <c = ab>`` (twice as many as the job
uses: each is sacrifice-checked against a partner that is then thrown away); input masks
``<r>`` whose value only the owning org learns; and, for comparisons, *edaBits*: a random
``<r>`` of ``mask_bits`` bits together with shared bits ``<r_0>, ..., <r_{k-1}>`` of its low
``k`` bits (Escudero et al., CRYPTO 2020; with a dealer they are plain preprocessing).
The dealer keeps nothing after :meth:`Dealer.deal` returns (DESIGN.md, "Trust model").

Material is handed out through cursors that only move forward, so an item can be taken once.
The wire/disk format is binary: a JSON header naming each section, then the sections' field
elements in the field's fixed-width encoding.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

from offchain.field import Field, Vec, field_for
from offchain.shares import Shared, share_vector

MAGIC = b"CMPCMAT2"


class MaterialError(ValueError):
    """Material that is malformed, for another session/org, or already used up."""


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
    edabits: tuple[Shared, Shared]  # (<r>, <bits> flattened element-major)
    k: int
    mask_bits: int
    truncs: tuple[Shared, Shared]  # (<r>, <r mod 2^trunc_bits>)
    trunc_bits: int
    trunc_mask_bits: int
    _cursors: dict[str, _Cursor] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never print key shares or shares
        return (
            f"OrgMaterial(session={self.session}, org={self.org}, "
            f"triples={self.remaining_triples}, edabits={len(self.edabits[0])})"
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

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        """The next ``count`` edaBits: ``<r>`` and its low ``k`` bits (``count * k`` shares,
        element-major)."""
        if count and k != self.k:
            raise MaterialError(f"edaBits were dealt for {self.k}-bit values, not {k}-bit")
        r, bits = self.edabits
        s = self._cursor("edabits").take(count, len(r), "edaBits")
        return r[s], bits[s.start * self.k : s.stop * self.k]

    def take_truncations(self, count: int, bits: int) -> tuple[Shared, Shared]:
        """The next ``count`` truncation pairs ``(<r>, <r mod 2^bits>)``."""
        if count and bits != self.trunc_bits:
            raise MaterialError(
                f"truncation pairs were dealt for {self.trunc_bits} bits, not {bits}"
            )
        r, low = self.truncs
        s = self._cursor("truncs").take(count, len(r), "truncation pairs")
        return r[s], low[s]

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
        r, bits = self.edabits
        out += [
            ("edabits.r.x", r.x),
            ("edabits.r.m", r.m),
            ("edabits.bits.x", bits.x),
            ("edabits.bits.m", bits.m),
            ("trunc.r.x", self.truncs[0].x),
            ("trunc.r.m", self.truncs[0].m),
            ("trunc.low.x", self.truncs[1].x),
            ("trunc.low.m", self.truncs[1].m),
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

            owners = sorted(
                {int(n.split(".")[1]) for n in vecs if n.startswith("masks.") and n != "masks.own"}
            )
            return cls(
                session=int(header["session"]),
                org=int(header["org"]),
                n=int(header["n"]),
                field=fld,
                alpha_i=alpha_i,
                triples=(sh("triples.a"), sh("triples.b"), sh("triples.c")),
                masks={o: sh(f"masks.{o}") for o in owners},
                own_masks=vecs["masks.own"],
                edabits=(sh("edabits.r"), sh("edabits.bits")),
                k=int(header["k"]),
                mask_bits=int(header["mask_bits"]),
                truncs=(sh("trunc.r"), sh("trunc.low")),
                trunc_bits=int(header["trunc_bits"]),
                trunc_mask_bits=int(header["trunc_mask_bits"]),
            )
        except MaterialError:
            raise
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise MaterialError(f"malformed material: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Dealer:
    """A dealer-style preprocessing service for ``n`` orgs over ``field``."""

    field: Field
    n: int

    def deal(
        self, session: int, needs: Needs, corrupt_triple: int | None = None
    ) -> list[OrgMaterial]:
        """Deal what ``needs`` asks for: ``2 * needs.triples`` triples (each checked one with
        its sacrifice partner adjacent: pairs ``(2j, 2j+1)``), the input masks, the edaBits.

        ``corrupt_triple`` deals triple number k with ``c = ab + 1``: fault injection, so that
        users and tests can watch the sacrifice check catch a cheating dealer.
        """
        f, n = self.field, self.n
        if len(needs.masks) > n:
            raise MaterialError(f"input masks requested for {len(needs.masks)} orgs; only {n}")
        alpha = f.to_ints(f.random(1))[0]
        alpha_shares = f.to_ints(f.random(n - 1)) if n > 1 else []
        alpha_shares.append((alpha - sum(alpha_shares)) % f.p)

        t = 2 * needs.triples
        a, b = f.random(t), f.random(t)
        c = f.mul(a, b)
        if corrupt_triple is not None:
            c = f.add(c, f.from_ints([1 if j == corrupt_triple else 0 for j in range(t)]))
        sa, sb, sc = (share_vector(f, v, alpha, n) for v in (a, b, c))

        masks: dict[int, list[Shared]] = {}
        clear: dict[int, Vec] = {}
        for owner in range(n):
            count = needs.masks[owner] if owner < len(needs.masks) else 0
            clear[owner] = f.random(count)
            masks[owner] = share_vector(f, clear[owner], alpha, n)

        e, k = needs.edabits, needs.k
        r, low = _masks_with_low_bits(f, e, needs.mask_bits, k)
        sr, sbits = share_vector(f, r, alpha, n), share_vector(f, low, alpha, n)

        tr, tb = needs.truncations, needs.trunc_bits
        t_r, t_bits = _masks_with_low_bits(f, tr, needs.trunc_mask_bits, tb)
        t_low = _weighted(f, t_bits, tr, tb)
        st, slow = share_vector(f, t_r, alpha, n), share_vector(f, t_low, alpha, n)

        return [
            OrgMaterial(
                session=session,
                org=i,
                n=n,
                field=f,
                alpha_i=alpha_shares[i],
                triples=(sa[i], sb[i], sc[i]),
                masks={o: masks[o][i] for o in range(n)},
                own_masks=clear[i],
                edabits=(sr[i], sbits[i]),
                k=k,
                mask_bits=needs.mask_bits if e else 0,
                truncs=(st[i], slow[i]),
                trunc_bits=tb,
                trunc_mask_bits=needs.trunc_mask_bits if tr else 0,
            )
            for i in range(n)
        ]


def _masks_with_low_bits(f: Field, count: int, mask_bits: int, k: int) -> tuple[Vec, Vec]:
    """``count`` uniform values of ``mask_bits`` bits and their low ``k`` bits (0/1 elements,
    ``count * k``, element-major)."""
    if not count:
        return f.zeros(0), f.zeros(0)
    if mask_bits < k or mask_bits >= f.bits - 1:
        raise MaterialError(f"a mask of {mask_bits} bits does not fit {k} low bits and the field")
    all_bits = f.random_bits(count * mask_bits)
    value = _weighted(f, all_bits, count, mask_bits)
    tail = all_bits.shape[1:]  # (2,) for Mersenne127 limbs, () for object arrays
    grid = all_bits.reshape((count, mask_bits, *tail))
    return value, np.ascontiguousarray(grid[:, :k]).reshape((count * k, *tail))


def _weighted(f: Field, bits: Vec, count: int, width: int) -> Vec:
    """``sum_i 2^i bits[j * width + i]`` for each of ``count`` elements."""
    out = f.zeros(count)
    for i in range(width):
        out = f.add(out, f.mul_scalar(bits[i::width], 1 << i))
    return out
