"""How wide masks must be: the statistical-security rule that sizes edaBit and truncation
masks. Dealer, counting and protocols all size material by these two functions, so a session's
material and the protocols that consume it cannot disagree."""

from __future__ import annotations

from offchain.exceptions import ProtocolAbort

KAPPA = 40  # minimum statistical security of masked openings, in bits


def mask_bits_for(m: int, p_bits: int) -> int:
    """Bits of the edaBit mask for comparing ``m + 1``-bit values in a ``p_bits``-bit field:
    as much statistical security as fits (at most 64 bits), never below :data:`KAPPA`."""
    kappa = min(64, p_bits - m - 4)
    if kappa < KAPPA:
        raise ProtocolAbort(f"a {p_bits}-bit field is too small for {m + 1}-bit comparisons")
    return m + 1 + kappa


def trunc_mask_bits_for(l: int, f: int, p_bits: int) -> int:  # noqa: E741 - the paper's l
    """Bits of the truncation mask for truncating signed ``l``-bit values by ``f`` bits in a
    ``p_bits``-bit field (mirrors :func:`mask_bits_for`): ``l + kappa`` with
    as much statistical security ``kappa`` as fits (at most 64), never below ``KAPPA`` = 40.

    ``x + 2^(l-1) < 2^l`` and ``r < 2^(l+kappa)``, so the opened sum stays below
    ``2^(l+kappa+1) <= 2^(p_bits-2) < p``: it never wraps. Raises :class:`ProtocolAbort` if
    the field is too small, :class:`ValueError` unless ``0 < f < l``.
    """
    if not 0 < f < l:
        raise ValueError(f"cannot truncate {l}-bit values by {f} bits")
    kappa = min(64, p_bits - l - 3)
    if kappa < KAPPA:
        raise ProtocolAbort(
            f"a {p_bits}-bit field is too small to truncate {l}-bit values with a "
            f"{KAPPA}-bit statistical mask (needs at least {l + KAPPA + 3} bits)"
        )
    return l + kappa
