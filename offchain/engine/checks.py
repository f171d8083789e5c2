"""The checks an engine runs on dealt material before using it: sacrifice, bits, input masks.

:class:`MaterialChecks` is the part of :class:`~offchain.engine.core.Engine` that checks
preprocessing and gates its use: triples only once sacrifice-checked, the masks of each kind
and width (:mod:`offchain.preprocessing.kinds`) only once the bit check covered their bits,
input masks only once mask-checked, and bits and masks only once the MAC check
covering their check has been confirmed (triples are not gated on that MAC check: the bit and
mask checks use them before it, and no input can be shared until it has passed). Every opening
goes through :meth:`~offchain.engine.core.Engine.open`, so it joins the transcript and the pending
MAC-check list: a check's outcome is trustworthy only once the checkpoint covering it has
passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from offchain.exceptions import MaterialError, ProtocolAbort
from offchain.hazmat.shares import Shared
from offchain.preprocessing.kinds import Key, edabit_key, trunc_key

if TYPE_CHECKING:
    from offchain.engine.transcript import Transcript
    from offchain.hazmat.field import Field
    from offchain.hazmat.shares import ShareArithmetic
    from offchain.preprocessing.material import OrgMaterial

#: Pairs sacrifice-checked per part: two rounds each; a part's triples are all that is held.
SACRIFICE_CHUNK = 1 << 13


class MaterialChecks:
    """Mixin of :class:`~offchain.engine.core.Engine`: the checks of dealt material, and the state
    that gates its use; it opens and multiplies through the engine's ``open`` and ``mul``.
    Serials count the MAC checks an engine produces (on-chain and between peers, in order); an
    opening is covered by the next check produced."""

    field: Field
    index: int
    material: OrgMaterial
    arith: ShareArithmetic
    session_tag: bytes
    transcript: Transcript
    _produced: dict
    _confirmed: set[int]

    def _init_checks(self) -> None:
        self._checked: tuple[int, int] | None = None  # sacrifice-checked: first, how many
        self._checked_used = 0
        self._bits_checked: frozenset[Key] = frozenset()  # kinds whose bit check gave 0 ...
        self._bits_serial = -1  # ... and the check with this serial, which covers it, passed
        self._masks_checked: bool | None = None  # None: check_masks() has not run
        self._masks_serial = -1

    # -- triples ---------------------------------------------------------------------------

    def sacrifice(self, count: int, t: int) -> int:
        """Check ``count`` triples, each against a partner triple that is thrown away.

        For ``<a>,<b>,<c>`` and partner ``<f>,<g>,<h>``: open ``rho = t a - f`` and
        ``sigma = b - g``, then open ``t c - h - sigma f - rho g - sigma rho``, which is 0 iff
        ``c - ab`` and ``h - fg`` cancel, which a dealer achieves only by guessing ``t``. ``t``
        must be derived after the triples are fixed (from their on-chain commitments). Two
        rounds per :data:`SACRIFICE_CHUNK` pairs (so memory is bounded by that, not by
        ``count``), three openings per pair, ``2 * count`` dealt triples. Returns the number
        of failed pairs; only if there are none do the checked triples become available to
        :meth:`mul`, which uses no other (re-reading them from the material as it needs
        them). The openings still need the next checkpoint's MAC check before the outcome can
        be trusted either way.
        """
        first, failed = self.material.triples_taken, 0
        for start in range(0, max(count, 1), SACRIFICE_CHUNK):
            failed += self._sacrifice_part(min(SACRIFICE_CHUNK, count - start), t)
        if not failed:
            self._checked = (first, count)
            self._checked_used = 0
        return failed

    def _sacrifice_part(self, count: int, t: int) -> int:
        # One part of the sacrifice, so that memory is bounded by the part, not by the batch.
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
        return sum(1 for v in f.to_ints(zs) if v != 0) if count else 0

    @property
    def checked_left(self) -> int:
        """Sacrifice-checked triples :meth:`mul` has not used yet."""
        return 0 if self._checked is None else self._checked[1] - self._checked_used

    def _take_checked(self, count: int) -> tuple[Shared, Shared, Shared]:
        if self._checked is None:
            raise ProtocolAbort(f"mul needs {count} sacrifice-checked triples, 0 left")
        first, checked = self._checked
        left = checked - self._checked_used
        if count > left:
            raise ProtocolAbort(f"mul needs {count} sacrifice-checked triples, {left} left")
        # Re-read the checked triples (pairs from ``first``) instead of holding them all: the
        # batch was authenticated when it was opened, so these are the bytes that were checked.
        a, b, c = self.material.triples_at(first + 2 * self._checked_used, 2 * count)
        self._checked_used += count
        return tuple(  # type: ignore[return-value]
            Shared(np.ascontiguousarray(g.x), np.ascontiguousarray(g.m))
            for g in (a[0::2], b[0::2], c[0::2])
        )

    # -- mask bits -------------------------------------------------------------------------

    def check_bits(self) -> int:
        """Check that every dealt mask bit, of every kind and width, is 0 or 1; returns the
        number of failed checks (0 or 1: the check is batched over all of them).

        ``<z_j> = <b_j> * <b_j>`` by Beaver (one sacrifice-checked triple per bit), then open
        ``w = sum_j rho_j (z_j - b_j)`` with ``rho`` expanded from the transcript digest after
        the squares' openings; ``w = 0`` unless some ``b_j`` is not a bit, except with
        probability ``1/p``. Two rounds, two openings. Only the kinds and widths whose bits
        were in the check become usable. Like the sacrifice, its openings need the next
        checkpoint's MAC check before the outcome can be trusted.
        """
        self._bits_serial = len(self._produced)  # the next check vouches for this one
        keys, bits = self.material.random_bits()
        ok = self.test_bits(bits, "bit-check") if len(bits) else True
        self._bits_checked = frozenset(keys) if ok else frozenset()
        if ok:
            self.material.derive_masks()  # preprocessing work, kept out of the online phase
        return 0 if ok else 1

    def test_bits(self, bits: Shared, label: str) -> bool:
        """Whether every shared value in ``bits`` is 0 or 1 (except with probability ``1/p``).

        ``<z_j> = <b_j> * <b_j>`` by Beaver, then open ``w = sum_j rho_j (z_j - b_j)`` with
        ``rho`` expanded from the transcript digest after the squares' openings. Two rounds,
        ``2 len(bits) + 1`` openings, ``len(bits)`` checked triples. The outcome is trustworthy
        only once a MAC check covering these openings has passed.
        """
        f = self.field
        diff = self.arith.sub(self.mul(bits, bits, label=f"{label}/square"), bits)
        seed = f"chainmpc/{label}".encode() + self.session_tag + self.transcript.digest()
        rho = f.from_seed(seed, len(bits))
        w = Shared(f.from_ints([f.dot(rho, diff.x)]), f.from_ints([f.dot(rho, diff.m)]))
        (opened,) = self.open(w, label=label)
        return f.to_ints(opened) == [0]

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        """``count`` edaBits for ``k + 1``-bit values (``<r>`` and its low ``k`` bits), with
        masks as wide as the statistical security requires in this field
        (:func:`~offchain.preprocessing.kinds.edabit_key`), only once :meth:`check_bits` has
        passed over their bits. Local."""
        return self._take_bits(edabit_key(k, self.field.bits), count)

    def take_truncations(self, count: int, bits: int, width: int) -> tuple[Shared, Shared]:
        """``count`` truncation pairs ``(<r>, <r mod 2^bits>)`` for signed ``width``-bit values
        (:func:`~offchain.preprocessing.kinds.trunc_key`), only once :meth:`check_bits` has
        passed over their bits. Local."""
        return self._take_bits(trunc_key(bits, width, self.field.bits), count)

    def _take_bits(self, key: Key, count: int) -> tuple[Shared, Shared]:
        if count and key not in self.material.bits:
            raise MaterialError(f"no {key.describe()} were dealt")
        self._require_checked_bits(key, count)
        return self.material.take(key, count)

    def _require_checked_bits(self, key: Key, count: int) -> None:
        if count and key not in self._bits_checked:
            raise ProtocolAbort(
                f"{key.describe()} are used only after check_bits() has passed over their bits"
            )
        if count and self._bits_serial not in self._confirmed:
            raise ProtocolAbort(
                "mask bits are used only after the MAC check covering check_bits() has passed"
            )

    # -- input masks -----------------------------------------------------------------------

    def check_masks(self, seed: bytes) -> bool:
        """Check every dealt input mask against its owner's clear value (docs/protocols.md, "Input
        masks are checked before use"); False iff this org's own masks do not match.

        For each owner ``o`` with masks ``<r_{o,1}>..<r_{o,K}>`` (all dealt, taken or not) and
        its extra dealt mask ``<s_o>``, open ``u_o = s_o + sum_k rho_k r_{o,k}``; the owner
        compares ``u_o`` with the same sum over its clear values. ``rho`` is expanded from
        ``seed``, which the caller derives after the batch commitments are on-chain; ``s_o``
        hides the ``r``. The coefficients are independent (``from_seed``), not the powers
        ``t^k`` of docs/protocols.md: a tightening, a wrong clear value passes with probability
        ``1/p`` instead of ``K/p``. One round, one opening per owner (label "mask-check",
        MAC-checked at the next checkpoint; none if no org has masks), consuming only the
        ``s_o``; runs once per session (a second opening would leak a combination of the masks).
        True at an org that owns no masks: only the owner can tell, and must abort on False;
        like the sacrifice's, the outcome proves the service cheated only once the checkpoint
        covering the opening has passed (before that, an org may have altered its share of u).
        """
        if self._masks_checked is not None:
            raise ProtocolAbort("check_masks() runs once per session")
        self._masks_checked = False
        self._masks_serial = len(self._produced)  # the next check vouches for the opening
        f, mat = self.field, self.material
        xs, ms, expected = [], [], None
        for pos, (owner, s, r) in enumerate(mat.mask_check_material()):
            tag = b"chainmpc/mask-check" + self.session_tag + owner.to_bytes(2, "big")
            rho = f.from_seed(tag + seed, len(r))
            xs.append((f.total(s.x) + f.dot(rho, r.x)) % f.p)
            ms.append((f.total(s.m) + f.dot(rho, r.m)) % f.p)
            if owner == self.index:
                if len(mat.own_mask_check) == 1 and len(mat.own_masks) == len(r):
                    clear = (f.total(mat.own_mask_check) + f.dot(rho, mat.own_masks)) % f.p
                    expected = (pos, clear)
                else:  # the service withheld clear values: nothing to check the masks by
                    expected = (pos, None)
        if xs:
            (u,) = self.open(Shared(f.from_ints(xs), f.from_ints(ms)), label="mask-check")
            self._masks_checked = expected is None or f.to_ints(u)[expected[0]] == expected[1]
        else:
            self._masks_checked = True
        return self._masks_checked

    def _require_checked_masks(self, count: int) -> None:
        if count and not self._masks_checked:
            raise ProtocolAbort("input masks are used only after check_masks() has passed")
        if count and self._masks_serial not in self._confirmed:
            raise ProtocolAbort(
                "input masks are used only after the MAC check covering check_masks() has passed"
            )
