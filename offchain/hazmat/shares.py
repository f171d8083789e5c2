"""Authenticated additive shares: the hazardous layer beneath the secure types.

Org i holds, for a vector of secrets ``x``, the pair of vectors ``(x_i, m_i)`` with
``sum x_i = x`` and ``sum m_i = alpha * x``, where ``alpha = sum alpha_i`` is the session's MAC
key that nobody holds whole. Linear operations are local; a public constant is added by org 0
to its value share and by every org as ``alpha_i * c`` to its MAC share (docs/protocols.md).

Nothing here talks to other orgs or checks anything: misuse (opening without a MAC check,
reusing a mask) is prevented one layer up, in :mod:`offchain.engine.core`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from offchain.hazmat.field import Field, Vec


@dataclass(frozen=True)
class Shared:
    """One org's authenticated shares of a vector of secrets: values ``x`` and MACs ``m``."""

    x: Vec
    m: Vec

    def __post_init__(self) -> None:
        if len(self.x) != len(self.m):
            raise ValueError("value and MAC share vectors differ in length")

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:  # shares are secret: never print them
        return f"Shared(<{len(self)} hidden>)"

    def __getitem__(self, index: slice | int | np.ndarray) -> Shared:
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Shared(self.x[index], self.m[index])

    def columns(self, rows: int, width: int, cols: slice) -> Shared:
        """Columns ``cols`` of this vector read as an element-major ``rows x width`` matrix
        (e.g. the bits of ``rows`` values), flattened element-major again."""

        def pick(v: Vec) -> Vec:
            tail = v.shape[1:]  # (2,) for Mersenne127 limbs, () for object arrays
            if not rows:
                return v[:0]
            grid = v.reshape((rows, width, *tail))[:, cols]
            return np.ascontiguousarray(grid).reshape((-1, *tail))

        return Shared(pick(self.x), pick(self.m))

    @staticmethod
    def concat(parts: Sequence[Shared]) -> Shared:
        """One vector from several."""
        return Shared(np.concatenate([p.x for p in parts]), np.concatenate([p.m for p in parts]))


class ShareArithmetic:
    """Local (communication-free) arithmetic on one org's shares."""

    def __init__(self, field: Field, index: int, alpha_i: int) -> None:
        self.field = field
        self.index = index
        self._alpha_i = alpha_i

    def __repr__(self) -> str:  # holds a MAC key share
        return f"ShareArithmetic(org={self.index}, {self.field!r})"

    @property
    def alpha_i(self) -> int:
        """This org's MAC key share (secret)."""
        return self._alpha_i

    def add(self, a: Shared, b: Shared) -> Shared:
        """Shares of ``a + b``."""
        f = self.field
        return Shared(f.add(a.x, b.x), f.add(a.m, b.m))

    def sub(self, a: Shared, b: Shared) -> Shared:
        """Shares of ``a - b``."""
        f = self.field
        return Shared(f.sub(a.x, b.x), f.sub(a.m, b.m))

    def scale(self, a: Shared, c: int) -> Shared:
        """Shares of ``c * a`` for a public scalar ``c``."""
        f = self.field
        return Shared(f.mul_scalar(a.x, c), f.mul_scalar(a.m, c))

    def mul_public(self, a: Shared, c: Vec) -> Shared:
        """Shares of ``c * a`` for a public vector ``c`` (elementwise)."""
        f = self.field
        return Shared(f.mul(a.x, c), f.mul(a.m, c))

    def add_public(self, a: Shared, c: Vec) -> Shared:
        """Shares of ``a + c`` for a public vector ``c``."""
        f = self.field
        x = f.add(a.x, c) if self.index == 0 else a.x
        return Shared(x, f.add(a.m, f.mul_scalar(c, self._alpha_i)))

    def add_const(self, a: Shared, c: int) -> Shared:
        """Shares of ``a + c`` for a public scalar ``c``."""
        f = self.field
        x = f.add_scalar(a.x, c) if self.index == 0 else a.x
        return Shared(x, f.add_scalar(a.m, self._alpha_i * c % f.p))

    def constant(self, values: Vec) -> Shared:
        """Shares of a public vector."""
        n = len(values)
        return self.add_public(Shared(self.field.zeros(n), self.field.zeros(n)), values)


def share_vector(field: Field, values: Vec, alpha: int, n: int) -> list[Shared]:
    """Deal ``values`` as ``n`` orgs' authenticated shares under MAC key ``alpha`` (dealer only)."""
    count = len(values)
    macs = field.mul_scalar(values, alpha)
    xs = [field.random(count) for _ in range(n - 1)]
    ms = [field.random(count) for _ in range(n - 1)]
    xs.append(field.sub(values, field.sum_vectors(xs)) if xs else values)
    ms.append(field.sub(macs, field.sum_vectors(ms)) if ms else macs)
    return [Shared(x, m) for x, m in zip(xs, ms, strict=True)]


def weighted_sum(
    field: Field, bits: Shared, rows: int, width: int, upto: int | None = None
) -> Shared:
    """``sum_{i < upto} 2^i <b_{j,i}>`` for each row ``j`` of an element-major ``rows x width``
    matrix of shares (``upto`` defaults to ``width``): the value of shared bits, or of their low
    ``upto``. Local: public coefficients need no MAC key. On the comparison's timed path."""
    upto = width if upto is None else upto
    if not upto:
        return Shared(field.zeros(rows), field.zeros(rows))
    acc = bits.columns(rows, width, slice(0, 1))
    for i in range(1, upto):
        col = bits.columns(rows, width, slice(i, i + 1))
        acc = Shared(
            field.add(acc.x, field.mul_scalar(col.x, 1 << i)),
            field.add(acc.m, field.mul_scalar(col.m, 1 << i)),
        )
    return acc
