"""The common base of the secure types (after MPyC's ``sectypes``): a secret-shared array with
a shape, whose linear operations, indexing and selection are the same whatever the values
stand for.

A subclass says how a public operand becomes field elements (:meth:`SecureArray._encode`),
which bit width the result of combining two operands has (:meth:`SecureArray._peer_bits`), and
how to build one of its own (:meth:`SecureArray._like`); it adds its multiplication and
comparisons, whose width rules differ (integers compare at their declared width, fixed point
truncates its products).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.shares import Shared


def total(engine: Engine, shared: Shared) -> Shared:
    """The sum of all elements of ``shared`` as one share (local: shares and MACs add up)."""
    f = engine.field
    return Shared(f.from_ints([f.total(shared.x)]), f.from_ints([f.total(shared.m)]))


class SecureArray:
    """A 1-D or 2-D array of secret values held as this org's authenticated shares
    (row-major). Elementwise operations need equal sizes; public operands broadcast from a
    scalar. Not for direct use: see :class:`~offchain.sectypes.array.SecretArray` and
    :class:`~offchain.sectypes.fixed.SecretFixed`."""

    __slots__ = ("engine", "shared", "bits", "shape")

    def __init__(
        self, engine: Engine, shared: Shared, bits: int, shape: tuple[int, ...] | None = None
    ) -> None:
        self.engine = engine
        self.shared = shared
        self.bits = bits
        self.shape = (len(shared),) if shape is None else tuple(shape)
        if len(self.shape) not in (1, 2) or int(np.prod(self.shape)) != len(shared):
            raise ValueError(f"shape {self.shape} does not fit {len(shared)} values")

    # -- what a subclass defines ---------------------------------------------------------

    def _like(self, shared: Shared, bits: int, shape: tuple[int, ...] | None) -> Self:
        """A value of this type and encoding around ``shared``."""
        raise NotImplementedError

    def _encode(self, value: Any) -> list[int]:
        """A public operand as ``size`` integers in this type's encoding."""
        raise NotImplementedError

    def _peer_bits(self, other: Self) -> int:
        """The declared width of a combination of ``self`` and ``other`` (or why they cannot
        be combined: :class:`ValueError`)."""
        return max(self.bits, other.bits)

    # -- shape ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[Self]:
        return (self[i] for i in range(len(self)))

    @property
    def size(self) -> int:
        """Number of elements."""
        return len(self.shared)

    def __getitem__(self, index: slice | int) -> Self:
        if len(self.shape) == 1:
            return self._like(self.shared[index], self.bits, None)
        rows, cols = self.shape
        picked = np.arange(rows)[index]
        flat = (np.atleast_1d(picked)[:, None] * cols + np.arange(cols)).ravel()
        shape = (cols,) if np.ndim(picked) == 0 else (len(flat) // cols, cols)
        return self._like(self.shared[flat], self.bits, shape)

    def reshape(self, *shape: int) -> Self:
        """The same values in another shape (local)."""
        return self._like(self.shared, self.bits, shape)

    @property
    def T(self) -> Self:  # noqa: N802 - NumPy's name
        """Transpose of a 2-D array (local)."""
        if len(self.shape) == 1:
            return self
        rows, cols = self.shape
        order = np.arange(rows * cols).reshape(rows, cols).T.ravel()
        return self._like(self.shared[order], self.bits, (cols, rows))

    @classmethod
    def concat(cls, arrays: Sequence[Self]) -> Self:
        """One flat array from several (local; the widest declared bit length wins, where the
        type allows mixed widths)."""
        first = arrays[0]
        bits = first.bits
        for a in arrays[1:]:
            bits = max(bits, first._format_bits(a))
        return first._like(Shared.concat([a.shared for a in arrays]), bits, None)

    def _format_bits(self, other: Self) -> int:
        # The width rule of _peer_bits without its size check: concat joins any sizes.
        return max(self.bits, other.bits)

    def _new(self, shared: Shared, bits: int | None = None) -> Self:
        shape = self.shape if len(shared) == self.size else None
        return self._like(shared, self.bits if bits is None else bits, shape)

    # -- public operands -----------------------------------------------------------------

    def _public(self, value: Any) -> np.ndarray:
        return self.engine.field.from_ints(self._encode(value))

    def constant(self, value: Any) -> Self:
        """A public value as a secret of this type and shape, with the trivial sharing
        (local; nothing about it is hidden)."""
        return self._new(self.engine.arith.constant(self._public(value)))

    def _secret(self, other: Self | Any) -> Self:
        # A secret operand of this type as is (if compatible), a public one as a constant.
        if isinstance(other, type(self)):
            self._peer_bits(other)
            return other
        return self.constant(other)

    # -- linear (local) ------------------------------------------------------------------

    def __add__(self, other: Self | Any) -> Self:
        ar = self.engine.arith
        if isinstance(other, type(self)):
            return self._new(ar.add(self.shared, other.shared), self._peer_bits(other))
        if isinstance(other, SecureArray):
            return NotImplemented
        return self._new(ar.add_public(self.shared, self._public(other)))

    __radd__ = __add__

    def __neg__(self) -> Self:
        return self._new(self.engine.arith.scale(self.shared, -1))

    def __sub__(self, other: Self | Any) -> Self:
        if isinstance(other, type(self)):
            return self + (-other)
        if isinstance(other, SecureArray):
            return NotImplemented
        f = self.engine.field
        negated = f.sub(f.zeros(self.size), self._public(other))
        return self._new(self.engine.arith.add_public(self.shared, negated))

    def __rsub__(self, other: Any) -> Self:
        return -self + other

    def sum(self) -> Self:
        """The sum of all elements, as a one-element array (local, exact)."""
        return self._new(total(self.engine, self.shared))

    # -- selection -----------------------------------------------------------------------

    def if_else(self, a: SecureArray | Any, b: SecureArray | Any) -> SecureArray:
        """Elementwise ``a if self else b`` for a secret 0/1 ``self`` (e.g. a comparison):
        ``b + self * (a - b)``, of the type of the secret one of ``a``, ``b``. One round and
        one triple per element if ``a`` or ``b`` is secret (no truncation: ``self`` is an
        integer), local if both are public. Exact."""
        proto = a if isinstance(a, SecureArray) else b
        if not isinstance(proto, SecureArray):
            diff = [x - y for x, y in zip(self._encode(a), self._encode(b), strict=True)]
            return self._new(self.engine.arith.mul_public(self.shared, self._public(diff))) + b
        sa, sb = proto._secret(a), proto._secret(b)
        diff = sa - sb
        return diff._new(self.engine.mul(self.shared, diff.shared)) + sb
