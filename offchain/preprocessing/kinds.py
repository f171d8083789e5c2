"""The kinds of bit-dealt preprocessing material, declared once.

Besides triples and input masks (which have checks of their own: the sacrifice and the mask
check), every kind of material is a random mask ``<r>`` dealt as its bits
``<r_0>, ..., <r_{bits-1}>``, from which each org derives ``<r> = sum_i 2^i <r_i>`` and a low
part itself; the bit check (:meth:`~offchain.engine.checks.MaterialChecks.check_bits`) covers
the bits of every kind and width at once. A kind says how wide its mask must be and what the
low part is; one item of material is keyed by a :class:`Key` ``(kind, width, shift, bits)``:

============  ================================  ==============================================
kind          key                               handed out
============  ================================  ==============================================
``edabits``   ``width = k`` (low bits), shift   ``<r>`` and its low ``k`` bits as shared bits
              0, ``bits = mask_bits_for(k, p)``  (Escudero et al., CRYPTO 2020): comparisons,
                                                bit decomposition of ``k + 1``-bit values
``truncs``    ``width = l`` (value bits),       ``<r>`` and ``<r mod 2^shift>``: truncation
              ``shift = m``, ``bits =``         pairs (Catrina–Saxena) for signed ``l``-bit
              ``trunc_mask_bits_for(l, m, p)``  values truncated by ``m`` bits
============  ================================  ==============================================

:class:`~offchain.preprocessing.material.Needs`, the dealer, the codec, the counting engine and
the engine's ``take_*`` and checks all iterate over :data:`KINDS`: a new kind is a new entry
here (a name, a code for the on-chain counts, a width rule and a low part), nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from offchain.exceptions import MaterialError, ProtocolAbort
from offchain.preprocessing.widths import mask_bits_for, trunc_mask_bits_for


class Key(NamedTuple):
    """One kind and width of material. ``bits`` (the dealt mask's width) follows from the
    others and the field (:meth:`Kind.key`); it is part of the key so that material of the
    wrong width is simply not found."""

    kind: str
    width: int
    shift: int
    bits: int

    def describe(self) -> str:
        """For messages: "edaBits for 32 bits", "truncation pairs for 64-bit values by 16"."""
        kind = KINDS.get(self.kind)
        return kind.describe(self) if kind else f"unknown material {self.kind!r}"


@dataclass(frozen=True)
class Kind:
    """A kind of bit-dealt mask: ``code`` (its number in :meth:`Needs.counts`), the width of
    its mask in a ``p_bits``-bit field, and its low part: the low ``low(key)`` bits, handed out
    as shared bits (``as_bits``) or as their weighted sum."""

    name: str
    code: int
    plural: str
    mask_bits: Callable[[int, int, int], int]  # (width, shift, p_bits) -> dealt bits
    low: Callable[[Key], int]
    as_bits: bool

    def key(self, width: int, shift: int, p_bits: int) -> Key:
        """The key of this kind's material for ``width``/``shift`` in a ``p_bits``-bit field.
        Raises :class:`~offchain.exceptions.ProtocolAbort` if the field is too small."""
        return Key(self.name, width, shift, self.mask_bits(width, shift, p_bits))

    def describe(self, key: Key) -> str:
        if self.name == "truncs":
            return f"{self.plural} for {key.width}-bit values by {key.shift} bits"
        return f"{self.plural} for {key.width} bits"


def _edabit_bits(width: int, shift: int, p_bits: int) -> int:
    if shift or width < 1:
        raise ValueError(f"no edaBits of width {width} and shift {shift}")
    return mask_bits_for(width, p_bits)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("edabits", 1, "edaBits", _edabit_bits, lambda key: key.width, as_bits=True),
        Kind(
            "truncs",
            2,
            "truncation pairs",
            lambda width, shift, p_bits: trunc_mask_bits_for(width, shift, p_bits),
            lambda key: key.shift,
            as_bits=False,
        ),
    )
}
BY_CODE: dict[int, Kind] = {k.code: k for k in KINDS.values()}


def edabit_key(k: int, p_bits: int) -> Key:
    """The key of edaBits with ``k`` shared low bits (for ``k + 1``-bit comparisons)."""
    return KINDS["edabits"].key(k, 0, p_bits)


def trunc_key(shift: int, width: int, p_bits: int) -> Key:
    """The key of truncation pairs for signed ``width``-bit values truncated by ``shift``."""
    return KINDS["truncs"].key(width, shift, p_bits)


def checked_key(kind: str, width: int, shift: int, bits: int, p_bits: int) -> Key:
    """``Key(kind, width, shift, bits)`` if it is a known kind's material for a ``p_bits``-bit
    field, with exactly the mask width that kind needs; else :class:`MaterialError` (what the
    dealer and the codec refuse)."""
    if kind not in KINDS:
        raise MaterialError(f"unknown kind of material {kind!r}")
    try:
        key = KINDS[kind].key(int(width), int(shift), p_bits)
    except (ValueError, ProtocolAbort) as exc:
        raise MaterialError(f"{kind} of width {width}, shift {shift}: {exc}") from None
    if key.bits != bits:
        raise MaterialError(
            f"{key.describe()} have masks of {key.bits} bits in a {p_bits}-bit field, not {bits}"
        )
    return key
