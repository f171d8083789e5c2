"""Bounded input: an org's private integers, in their declared range by construction.

:meth:`Engine.input` shares any field element the owner chooses. The owner checks its own
values, but a malicious owner need not: an input far outside its declared width makes the
result a value no run of the job could produce, and it breaks the statistical masking of
every later comparison or truncation, whose masked openings then show an honest org's secret
(``c = x y + r`` with ``x = 2^180`` reveals ``y`` in its high bits). So the owner inputs the
``bits`` bits of ``x + 2^(bits-1)`` instead, the orgs check that each is 0 or 1, and
``x = sum_i 2^i b_i - 2^(bits-1)`` is in ``[-2^(bits-1), 2^(bits-1))`` whatever the owner
sent. The check's outcome steers the computation (abort or go on), so it is MAC-checked
between the peers before it is trusted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Vec
from offchain.hazmat.shares import Shared, weighted_sum


def input_bounded(engine: Engine, values: Vec | None, owner: int, count: int, bits: int) -> Shared:
    """Share ``owner``'s ``count`` signed ``bits``-bit integers (field elements, ``None`` at
    every other org), each provably in ``[-2^(bits-1), 2^(bits-1))``.

    Rounds: 5 (input of the bits; the squares' Beaver round; the opening of the test; the peer
    MAC check, two). Openings: ``2 count bits + 1`` and the MAC check's. Preprocessing:
    ``count * bits`` input masks of ``owner`` and ``count * bits`` checked triples. Raises
    :class:`ProtocolAbort` naming the owner if a value is out of range (at every org), and at
    the owner, before anything is sent, for its own out-of-range value.
    """
    f = engine.field
    offset = 1 << (bits - 1)
    bit_values = None
    if values is not None:
        shifted = [f.to_signed(v) + offset for v in f.to_ints(values)]
        if any(not 0 <= v < 2 * offset for v in shifted):
            raise ProtocolAbort(f"input of org {owner}: a value is outside the int{bits} range")
        bit_values = f.from_ints((v >> i) & 1 for v in shifted for i in range(bits))
    b = _input_bits(engine, bit_values, owner, count * bits, f"the int{bits} range")
    x = weighted_sum(f, b, count, bits)
    return engine.arith.add_public(x, f.from_ints([-offset] * count))


def input_bounded_widths(
    engine: Engine, values: Vec | None, owner: int, widths: Sequence[int]
) -> Shared:
    """Like :func:`input_bounded`, value ``j`` being a signed ``widths[j]``-bit integer: one
    bounded input for values of several widths, in the same 5 rounds. Openings:
    ``2 sum(widths) + 1`` and the MAC check's; preprocessing: ``sum(widths)`` input masks of
    ``owner`` and as many checked triples."""
    f = engine.field
    offsets = [1 << (w - 1) for w in widths]
    bit_values = None
    if values is not None:
        shifted = [f.to_signed(v) + o for v, o in zip(f.to_ints(values), offsets, strict=True)]
        if any(not 0 <= v < 2 * o for v, o in zip(shifted, offsets, strict=True)):
            raise ProtocolAbort(f"input of org {owner}: a value is outside its declared range")
        bit_values = f.from_ints(
            (v >> i) & 1 for v, w in zip(shifted, widths, strict=True) for i in range(w)
        )
    b = _input_bits(engine, bit_values, owner, sum(widths), "its declared range")
    starts = np.cumsum([0, *widths[:-1]], dtype=np.int64)
    parts, slots = [], []
    for w in sorted(set(widths)):  # the bits of all values of one width, element-major
        group = [j for j, wj in enumerate(widths) if wj == w]
        index = (starts[group][:, None] + np.arange(w)).ravel()
        parts.append(weighted_sum(f, b[index], len(group), w))
        slots += group
    x = Shared.concat(parts)[np.argsort(np.asarray(slots))] if parts else b
    return engine.arith.add_public(x, f.from_ints([-o for o in offsets]))


def _input_bits(
    engine: Engine, bit_values: Vec | None, owner: int, count: int, what: str
) -> Shared:
    """Input ``count`` bits of ``owner`` and prove them 0 or 1 (MAC-checked before trusted)."""
    b = engine.input(bit_values, owner, count)
    in_range = engine.test_bits(b, f"input-range/{owner}") if count else True
    engine.check_between_peers()  # the outcome steers the computation: check it first
    if not in_range:
        raise ProtocolAbort(f"input of org {owner}: a value is outside {what}")
    return b
