"""The preprocessing service's dealer: fresh material for every org of one session.

Per session the dealer draws a fresh MAC key ``alpha`` and deals what :class:`Needs` asks for
(see :mod:`offchain.preprocessing.material` for the kinds of material and their format). It keeps
nothing after :meth:`Dealer.deal` returns (docs/threat-model.md); a dealer may cheat, which
the orgs' checks catch before any of its material is used (:mod:`offchain.engine.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import Shared, share_vector
from offchain.preprocessing.kinds import Key, checked_key
from offchain.preprocessing.material import MaterialError, Needs, OrgMaterial


@dataclass(frozen=True)
class Dealer:
    """A dealer-style preprocessing service for ``n`` orgs over ``field``."""

    field: Field
    n: int

    def deal(self, session: int, needs: Needs) -> list[OrgMaterial]:
        """Deal what ``needs`` asks for: ``2 * needs.checked_triples`` triples (each checked
        one with its sacrifice partner adjacent: pairs ``(2j, 2j+1)``), the input masks plus
        one check mask per owner that has any (``needs.dealt_masks``), and the bits of the
        masks of every kind and width in ``needs.items``. Raises :class:`MaterialError` for a
        key whose mask width is not the one its kind needs in this field. (Cheating dealers for
        demos and tests live in ``chainmpc/faults.py``, outside this code path.)
        """
        f, n = self.field, self.n
        if len(needs.masks) > n:
            raise MaterialError(f"input masks requested for {len(needs.masks)} orgs; only {n}")
        for key in needs.keys:
            checked_key(*key, f.bits)  # only the mask width its kind needs in this field
        alpha = f.to_ints(f.random(1))[0]
        alpha_shares = f.to_ints(f.random(n - 1)) if n > 1 else []
        alpha_shares.append((alpha - sum(alpha_shares)) % f.p)

        t = 2 * needs.checked_triples
        a, b = f.random(t), f.random(t)
        c = f.mul(a, b)
        sa, sb, sc = (share_vector(f, v, alpha, n) for v in (a, b, c))

        masks: dict[int, list[Shared]] = {}
        clear: dict[int, Vec] = {}
        checks: dict[int, list[Shared]] = {}  # the check mask <s> of each owner with masks
        check_clear: dict[int, Vec] = {}
        for owner, count in enumerate(needs.masks + (0,) * (n - len(needs.masks))):
            clear[owner], check_clear[owner] = f.random(count), f.random(1 if count else 0)
            masks[owner] = share_vector(f, clear[owner], alpha, n)
            checks[owner] = share_vector(f, check_clear[owner], alpha, n)

        bits: dict[Key, list[Shared]] = {}
        for key, count in needs.items:
            bits[key] = share_vector(f, f.random_bits(count * key.bits), alpha, n)

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
                mask_checks={o: checks[o][i] for o in range(n) if len(check_clear[o])},
                own_mask_check=check_clear[i],
                bits={key: shares[i] for key, shares in bits.items()},
            )
            for i in range(n)
        ]
