"""The demo's and the tests' cheats, as wrappers around the honest code (docs/design.md, "Cheats").

Nothing here is reachable from a real run: production code paths
(:class:`offchain.engine.core.Engine`, :class:`offchain.preprocessing.dealer.Dealer`) have no
fault switches. A cheating org is an
:class:`TamperingEngine`; a cheating service is a :class:`CheatingDealer`, or any dealer's
output passed through :func:`corrupt_triple`, :func:`corrupt_bit` or :func:`shift_mask`. Each
cheat keeps the MACs consistent where a real cheater could, so that only the check meant for it
catches it. Imports only :mod:`offchain`.
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.engine.core import Engine, Network
from offchain.hazmat.field import Vec
from offchain.hazmat.shares import Shared
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import Key
from offchain.preprocessing.material import Needs, OrgMaterial


class TamperingEngine(Engine):
    """An org that cheats once, in the first opening labelled "mul" (a job multiplication, not
    the bit check's squares): ``kind`` "share" adds 1 to its share of the first value opened,
    "mac" adds 1 to its MAC share of it."""

    def __init__(
        self, material: OrgMaterial, network: Network, session_tag: bytes, kind: str = "share"
    ) -> None:
        if kind not in ("share", "mac"):
            raise ValueError(f"unknown tampering {kind!r}: 'share' or 'mac'")
        super().__init__(material, network, session_tag)
        self.kind: str | None = kind

    def open(self, *shared: Shared, label: str) -> list[Vec]:
        if self.kind is None or label != "mul":
            return super().open(*shared, label=label)
        parts = list(shared)
        for j, s in enumerate(parts):
            if len(s):
                parts[j] = _bump(self, s, self.kind)
                self.kind = None
                break
        return super().open(*parts, label=label)


def _bump(engine: Engine, s: Shared, kind: str) -> Shared:
    f = engine.field
    one = f.from_ints([1] + [0] * (len(s) - 1))
    return Shared(f.add(s.x, one), s.m) if kind == "share" else Shared(s.x, f.add(s.m, one))


def _shifted(mat: OrgMaterial, s: Shared, index: int, delta: int) -> Shared:
    """``mat``'s shares of the vector ``s`` with ``delta`` added to element ``index``, MACs kept
    consistent: org 0's value share moves by ``delta``, each org's MAC share by
    ``alpha_i * delta`` (a public constant, added as docs/protocols.md's notation says)."""
    f = mat.field
    dx = f.from_ints([delta if (j == index and mat.org == 0) else 0 for j in range(len(s))])
    dm = f.from_ints([mat.alpha_i * delta if j == index else 0 for j in range(len(s))])
    return Shared(f.add(s.x, dx), f.add(s.m, dm))


def corrupt_triple(materials: list[OrgMaterial], k: int, delta: int = 1) -> list[OrgMaterial]:
    """Deal triple number ``k`` with ``c = ab + delta`` (MACs consistent): the sacrifice catches
    it, unless the dealer can predict the challenge and corrupt the partner to match."""
    for mat in materials:
        a, b, c = mat.triples
        mat.triples = (a, b, _shifted(mat, c, k, delta))
    return materials


def corrupt_bit(materials: list[OrgMaterial], k: int, key: Key | None = None) -> list[OrgMaterial]:
    """Deal bit number ``k`` of the masks of ``key`` (default: the first key dealt, in sorted
    order, e.g. the edaBits) as 2, MACs consistent: the bit check catches it."""
    f = materials[0].field
    key = key or min(materials[0].bits)
    dealt = sum(f.to_ints(m.bits[key].x[k : k + 1])[0] for m in materials) % f.p
    for mat in materials:
        mat.bits[key] = _shifted(mat, mat.bits[key], k, 2 - dealt)
    return materials


def shift_mask(
    materials: list[OrgMaterial], owner: int, index: int, delta: int
) -> list[OrgMaterial]:
    """Hand ``owner`` the clear mask ``r - delta`` for its mask ``index`` (the shares stay those
    of ``r``): its input there becomes ``x + delta``, and only the mask check catches it."""
    mat = materials[owner]
    f = mat.field
    shift = f.from_ints([delta if j == index else 0 for j in range(len(mat.own_masks))])
    mat.own_masks = f.sub(mat.own_masks, shift)
    return materials


@dataclass(frozen=True)
class CheatingDealer(Dealer):
    """A dealer that applies the cheats it is given after dealing honestly: ``corrupt_triple``
    (triple number), ``corrupt_bit`` (edaBit bit number), ``shift_mask`` ((owner, index,
    delta))."""

    corrupt_triple: int | None = None
    corrupt_bit: int | None = None
    shift_mask: tuple[int, int, int] | None = None

    def deal(self, session: int, needs: Needs) -> list[OrgMaterial]:
        materials = super().deal(session, needs)
        if self.corrupt_triple is not None:
            corrupt_triple(materials, self.corrupt_triple)
        if self.corrupt_bit is not None:
            corrupt_bit(materials, self.corrupt_bit)
        if self.shift_mask is not None:
            shift_mask(materials, *self.shift_mask)
        return materials
