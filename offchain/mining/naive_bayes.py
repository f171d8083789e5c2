"""Naive Bayes over rows split horizontally between orgs: the counts (categorical) or the
per-class sums and sums of squares (gaussian) of every org's rows, added securely.

Each org counts its own rows in the clear (:func:`local_counts`); the orgs input those
aggregates with bounded input, so each is provably within its public range
(:meth:`NaiveBayesLayout.ranges`, rounded up to a power of two above its lower end as in
:mod:`offchain.mining.stats`), and add them (local). No org's own aggregate is ever opened.

The totals are packed several to a field element before they are opened (local: a public
linear combination, so it reveals exactly the totals and nothing else), because a session
reveals at most 64 elements and a categorical model has one count per attribute value and
class. Packing is exact only because every total is range-checked: a negative or oversized
count would borrow from or carry into its neighbour's slot.

The model (priors, likelihoods, means, variances) is computed in the clear from the totals;
:func:`plain_naive_bayes` is the plaintext reference the tests compare the MPC with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.engine.core import Engine
from offchain.hazmat.shares import Shared
from offchain.mining.stats import MAX_ROWS, input_width
from offchain.sectypes import array as sectypes
from offchain.sectypes.array import SecretArray

PACK_BITS = 124  # bits per opened element: below 2^127 - 1's signed range (and BN254's)
VARIANTS = ("categorical", "gaussian")


@dataclass(frozen=True)
class NaiveBayesLayout:
    """What is counted, all public: ``classes`` the number of target values; for the
    categorical variant ``categories`` the number of values of each attribute; for the gaussian
    one ``numeric`` the encoded ``(lo, hi)`` bounds of each attribute."""

    variant: str
    classes: int
    categories: tuple[int, ...] = ()
    numeric: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}")
        if self.variant == "categorical" and self.numeric:
            raise ValueError("a categorical layout has no numeric attributes")
        if self.variant == "gaussian" and self.categories:
            raise ValueError("a gaussian layout has no categorical attributes")

    @property
    def size(self) -> int:
        """How many aggregates each org inputs (and how many totals are revealed)."""
        return self.classes * (1 + sum(self.categories) + 2 * len(self.numeric))

    def ranges(self) -> list[tuple[int, int]]:
        """The declared ``(lo, hi)`` of each local aggregate, in order: the class counts; then
        categorical: ``counts[attr][value][class]``; gaussian: per attribute, ``Σx`` per class,
        then ``Σx²`` per class (encoded values)."""
        count = (0, MAX_ROWS)
        out = [count] * (self.classes * (1 + sum(self.categories)))
        for lo, hi in self.numeric:
            peak = max(lo * lo, hi * hi)
            out += [(MAX_ROWS * min(lo, 0), MAX_ROWS * max(hi, 0))] * self.classes
            out += [(0, MAX_ROWS * peak)] * self.classes
        return out

    def slots(self, orgs: int) -> list[tuple[int, int, int]]:
        """Where each total is opened: ``(element, bit offset, width)``, first fit in order.
        A total of ``orgs`` aggregates each in ``[lo, lo + 2^w)`` is packed as ``total - orgs
        lo`` in ``[0, orgs (2^w - 1)]``, so it fits its width whatever any org inputs."""
        used: list[int] = []
        out = []
        for lo, hi in self.ranges():
            width = (orgs * ((1 << input_width(lo, hi)) - 1)).bit_length()
            if width > PACK_BITS:
                raise ValueError(f"a total needs {width} bits; one element holds {PACK_BITS}")
            element = next((k for k, u in enumerate(used) if u + width <= PACK_BITS), len(used))
            if element == len(used):
                used.append(0)
            out.append((element, used[element], width))
            used[element] += width
        return out

    def output_length(self, orgs: int) -> int:
        """Field elements revealed for ``orgs`` orgs (several totals to an element)."""
        return 1 + max(e for e, _, _ in self.slots(orgs))

    def unpack(self, opened: Sequence[int], orgs: int) -> list[int]:
        """The totals, in :meth:`ranges` order, from the opened (signed) elements."""
        if len(opened) != self.output_length(orgs):
            raise ValueError(f"{len(opened)} outputs; this layout opens {self.output_length(orgs)}")
        totals = []
        for (lo, _), (element, offset, width) in zip(self.ranges(), self.slots(orgs), strict=True):
            packed = int(opened[element])
            if packed < 0:
                raise ValueError(f"output {element} is negative: not a packing of totals")
            totals.append(((packed >> offset) & ((1 << width) - 1)) + orgs * lo)
        return totals


def local_counts(
    layout: NaiveBayesLayout, target: Sequence[int], attributes: Sequence[Sequence[int]]
) -> tuple[int, ...]:
    """One org's aggregates in :meth:`NaiveBayesLayout.ranges` order: ``target`` the class
    index of each row, ``attributes[a]`` attribute ``a``'s encoded values (a category index
    or a number). In the clear: they never leave the org unshared."""
    rows, k = len(target), layout.classes
    if any(len(col) != rows for col in attributes) or rows > MAX_ROWS:
        raise ValueError(f"columns of unequal length or more than {MAX_ROWS} rows")
    if len(attributes) != len(layout.categories) + len(layout.numeric):
        raise ValueError("one column per attribute of the layout is needed")
    out = [0] * k
    for c in target:
        out[c] += 1
    for size, col in zip(layout.categories, attributes, strict=False):
        cells = [0] * (size * k)
        for v, c in zip(col, target, strict=True):
            cells[v * k + c] += 1
        out += cells
    if layout.variant == "gaussian":
        for col in attributes:
            sums, squares = [0] * k, [0] * k
            for v, c in zip(col, target, strict=True):
                sums[c] += v
                squares[c] += v * v
            out += sums + squares
    return tuple(out)


def plain_naive_bayes(
    layout: NaiveBayesLayout, target: Sequence[int], attributes: Sequence[Sequence[int]]
) -> list[int]:
    """The totals the MPC reveals, computed in the clear on the union of every org's rows
    (the same columns as :func:`local_counts`, concatenated): the plaintext reference."""
    return list(local_counts(layout, target, attributes))


def secure_naive_bayes(
    engine: Engine, layout: NaiveBayesLayout, own: Sequence[int] | None, orgs: int
) -> list[SecretArray]:
    """The totals of ``orgs`` orgs' aggregates (``own`` at this org, ``None`` in a dry run),
    packed into :meth:`NaiveBayesLayout.output_length` elements, not yet opened.

    Rounds: 5 per org (one bounded input of all its aggregates). Openings: those of the bounded
    inputs only. Preprocessing: per org, ``w`` masks and checked triples per aggregate of
    input width ``w`` (24 for a count); no comparison, no truncation.
    """
    ranges = layout.ranges()
    slots = layout.slots(orgs)
    if own is not None:
        bad = [i for i, (v, (lo, hi)) in enumerate(zip(own, ranges, strict=True))
               if not lo <= v <= hi]  # fmt: skip
        if bad:  # the slot, never the value: it is this org's secret
            raise ValueError(f"local aggregate {bad[0]} is outside its declared range")
    widths = [input_width(lo, hi) for lo, hi in ranges]
    # v goes in as v - lo - 2^(w-1), a signed w-bit value, so the range check is the input's
    shift = [lo + (1 << (w - 1)) for (lo, _), w in zip(ranges, widths, strict=True)]
    shares = []
    for o in range(orgs):
        values = None
        if o == engine.index and own is not None:
            values = [v - s for v, s in zip(own, shift, strict=True)]
        shares.append(sectypes.secret_input_widths(engine, values, o, widths))
    totals = sum(shares[1:], shares[0]).shared
    # total - orgs lo = sum of (input + 2^(w-1)): non-negative, within its slot
    offsets = [orgs * (s - lo) for s, (lo, _) in zip(shift, ranges, strict=True)]
    ar, field = engine.arith, engine.field
    elements = []
    for e in range(1 + max(el for el, _, _ in slots)):
        acc = ar.constant(field.zeros(1))
        constant = 0
        for i, (el, offset, _) in enumerate(slots):
            if el == e:
                acc = ar.add(acc, ar.scale(totals[i : i + 1], 1 << offset))
                constant += offsets[i] << offset
        elements.append(ar.add_const(acc, constant))
    packed = Shared.concat(elements)
    return [SecretArray(engine, packed, PACK_BITS + 1)]
