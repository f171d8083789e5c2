"""The preprocessing service's dealer and the material it deals to each org.

Per session the dealer draws a fresh MAC key ``alpha`` and deals to every org: its key share
``alpha_i``, authenticated Beaver triples ``<a>, <b>, <c = ab>`` and input masks ``<r>`` whose
value ``r`` only the owning org learns. It keeps nothing: after :meth:`Dealer.deal` returns,
the service holds no more than the sealed batches it delivers (DESIGN.md, "Trust model").

Triples are dealt in pairs for the sacrifice check (:func:`offchain.protocols.sacrifice`):
each triple the job uses is checked against one that is then thrown away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from offchain.field import PrimeField
from offchain.shares import Share, share_secret

FORMAT = "chainmpc-material/1"


class MaterialError(ValueError):
    """Material that is malformed, for another session/org, or already used up."""


@dataclass(frozen=True)
class Triple:
    """One org's shares of a Beaver triple."""

    a: Share
    b: Share
    c: Share


@dataclass(frozen=True)
class Mask:
    """One org's share of an input mask; ``r`` is the clear mask, known to its owner only."""

    owner: int
    share: Share
    r: int | None


@dataclass
class OrgMaterial:
    """Everything one org receives for one session. Items are handed out once (see ``take_*``)."""

    session: int
    org: int
    n: int
    field: PrimeField
    alpha_i: int
    triples: list[Triple] = field(default_factory=list)
    masks: list[Mask] = field(default_factory=list)

    def __repr__(self) -> str:  # never print key shares or shares
        return (
            f"OrgMaterial(session={self.session}, org={self.org}, "
            f"triples={len(self.triples)}, masks={len(self.masks)})"
        )

    def take_triples(self, count: int) -> list[Triple]:
        """Remove and return the next ``count`` triples: a triple can be taken once only."""
        if count > len(self.triples):
            raise MaterialError(f"job needs {count} more triples, {len(self.triples)} left")
        taken, self.triples = self.triples[:count], self.triples[count:]
        return taken

    def take_mask(self, owner: int) -> Mask:
        """Remove and return the next input mask owned by org ``owner``."""
        for k, mask in enumerate(self.masks):
            if mask.owner == owner:
                return self.masks.pop(k)
        raise MaterialError(f"no input mask left for org {owner}")

    def to_bytes(self) -> bytes:
        """Canonical JSON encoding (integers as hex), the plaintext that is sealed."""
        doc = {
            "format": FORMAT,
            "session": self.session,
            "org": self.org,
            "n": self.n,
            "modulus": hex(self.field.p),
            "alpha_i": hex(self.alpha_i),
            "triples": [
                [hex(v) for s in (t.a, t.b, t.c) for v in (s.x, s.m)] for t in self.triples
            ],
            "masks": [
                [m.owner, hex(m.share.x), hex(m.share.m), None if m.r is None else hex(m.r)]
                for m in self.masks
            ],
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> OrgMaterial:
        """Parse :meth:`to_bytes` output, rejecting anything malformed or unreduced."""
        try:
            doc = json.loads(data)
            if doc["format"] != FORMAT:
                raise MaterialError(f"unknown material format {doc['format']!r}")
            fld = PrimeField(int(doc["modulus"], 16))

            def elem(h: str) -> int:
                v = int(h, 16)
                if not 0 <= v < fld.p:
                    raise MaterialError("material holds an unreduced field element")
                return v

            triples = []
            for row in doc["triples"]:
                v = [elem(h) for h in row]
                if len(v) != 6:
                    raise MaterialError("a triple needs six elements")
                triples.append(Triple(Share(v[0], v[1]), Share(v[2], v[3]), Share(v[4], v[5])))
            masks = [
                Mask(int(o), Share(elem(x), elem(m)), None if r is None else elem(r))
                for o, x, m, r in doc["masks"]
            ]
            return cls(
                session=int(doc["session"]),
                org=int(doc["org"]),
                n=int(doc["n"]),
                field=fld,
                alpha_i=elem(doc["alpha_i"]),
                triples=triples,
                masks=masks,
            )
        except MaterialError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise MaterialError(f"malformed material: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Dealer:
    """A dealer-style preprocessing service for ``n`` orgs over ``field``."""

    field: PrimeField
    n: int

    def deal(
        self,
        session: int,
        triples: int,
        mask_owners: list[int],
        corrupt_triple: int | None = None,
    ) -> list[OrgMaterial]:
        """Deal ``2 * triples`` triples (each with its sacrifice partner) and one mask per owner.

        ``corrupt_triple`` deals triple number k with ``c = ab + 1``: fault injection, so that
        users and tests can watch the sacrifice check catch a cheating dealer.
        """
        fld, n = self.field, self.n
        alpha = fld.random(1)[0]
        out = [OrgMaterial(session, i, n, fld, 0) for i in range(n)]
        alpha_shares = fld.random(n - 1)
        alpha_shares.append((alpha - sum(alpha_shares)) % fld.p)
        for i, mat in enumerate(out):
            mat.alpha_i = alpha_shares[i]
        for k in range(2 * triples):
            a, b = fld.random(2)
            c = (a * b + (1 if k == corrupt_triple else 0)) % fld.p
            sa, sb, sc = (share_secret(fld, v, alpha, n) for v in (a, b, c))
            for i, mat in enumerate(out):
                mat.triples.append(Triple(sa[i], sb[i], sc[i]))
        for owner in mask_owners:
            if not 0 <= owner < n:
                raise MaterialError(f"mask owner {owner} is not one of the {n} orgs")
            r = fld.random(1)[0]
            sr = share_secret(fld, r, alpha, n)
            for i, mat in enumerate(out):
                mat.masks.append(Mask(owner, sr[i], r if i == owner else None))
        return out
