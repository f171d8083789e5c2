"""Secure types: secret integer arrays whose operators run the SPDZ protocols.

The safe layer over :mod:`offchain.hazmat.shares`. An algorithm written with :class:`SecretArray`
reads like its NumPy plaintext version::

    total = sum(xs[1:], xs[0])          # local
    product = reduce(operator.mul, xs)  # one Beaver round per multiplication, vectorised
    smaller = a < b                     # 6 rounds for 32-bit values, all elements together
    same = a == b                       # 6 rounds, half the triples of <

Values are signed integers of at most ``bits`` bits (default 32), embedded in the field;
staying within that range is the caller's precondition: inputs are checked at the owner, but
results of arithmetic are not (they cannot be, without opening them). A comparison of values
outside the range gives a wrong answer, and its masked opening may wrap modulo p and so hide
them less well: size the declared width for the largest intermediate value.

Nothing is opened implicitly: only :func:`reveal` opens, only once everything opened before is
MAC-checked, and what it returns has passed a MAC check too (:func:`open_checked`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.field import Vec
from offchain.hazmat.shares import Shared
from offchain.protocols.bitdecomp import bit_decompose
from offchain.protocols.compare import equal, less_than
from offchain.protocols.inputs import input_bounded, input_bounded_widths

Public = int | Sequence[int] | np.ndarray


class SecretArray:
    """A 1-D or 2-D array of secret signed integers, held as this org's authenticated shares
    (row-major). Elementwise operations need equal sizes; public operands broadcast from a
    scalar."""

    __slots__ = ("engine", "shared", "bits", "shape")

    def __init__(
        self, engine: Engine, shared: Shared, bits: int = 32, shape: tuple[int, ...] | None = None
    ) -> None:
        self.engine = engine
        self.shared = shared
        self.bits = bits
        self.shape = (len(shared),) if shape is None else tuple(shape)
        if len(self.shape) not in (1, 2) or int(np.prod(self.shape)) != len(shared):
            raise ValueError(f"shape {self.shape} does not fit {len(shared)} values")

    def __repr__(self) -> str:
        return f"SecretArray(<{'x'.join(map(str, self.shape))} secret int{self.bits}>)"

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        """Number of elements."""
        return len(self.shared)

    def __getitem__(self, index: slice | int) -> SecretArray:
        if len(self.shape) == 1:
            return SecretArray(self.engine, self.shared[index], self.bits)
        rows, cols = self.shape
        picked = np.arange(rows)[index]
        flat = (np.atleast_1d(picked)[:, None] * cols + np.arange(cols)).ravel()
        shape = (cols,) if np.ndim(picked) == 0 else (len(flat) // cols, cols)
        return SecretArray(self.engine, self.shared[flat], self.bits, shape)

    def reshape(self, *shape: int) -> SecretArray:
        """The same values in another shape (local)."""
        return SecretArray(self.engine, self.shared, self.bits, shape)

    @property
    def T(self) -> SecretArray:  # noqa: N802 - NumPy's name
        """Transpose of a 2-D array (local)."""
        if len(self.shape) == 1:
            return self
        rows, cols = self.shape
        order = np.arange(rows * cols).reshape(rows, cols).T.ravel()
        return SecretArray(self.engine, self.shared[order], self.bits, (cols, rows))

    __hash__ = None  # type: ignore[assignment]  # == is a secure comparison, not identity

    @staticmethod
    def concat(arrays: Sequence[SecretArray]) -> SecretArray:
        """One array from several (local; the widest declared bit length wins)."""
        return SecretArray(
            arrays[0].engine,
            Shared.concat([a.shared for a in arrays]),
            max(a.bits for a in arrays),
        )

    def _new(self, shared: Shared, bits: int | None = None) -> SecretArray:
        shape = self.shape if len(shared) == self.size else None
        return SecretArray(self.engine, shared, self.bits if bits is None else bits, shape)

    def _public(self, value: Public) -> np.ndarray:
        f = self.engine.field
        values = self._ints(value)
        if len(values) != self.size:
            raise ValueError(f"public operand of {len(values)} values for {self.size}")
        return f.from_ints(values)

    # -- linear (local) ------------------------------------------------------------------

    def __add__(self, other: SecretArray | Public) -> SecretArray:
        ar = self.engine.arith
        if isinstance(other, SecretArray):
            return self._new(ar.add(self.shared, other.shared), max(self.bits, other.bits))
        return self._new(ar.add_public(self.shared, self._public(other)))

    __radd__ = __add__

    def __sub__(self, other: SecretArray | Public) -> SecretArray:
        return self + (-other if isinstance(other, SecretArray) else _negate(other))

    def __rsub__(self, other: Public) -> SecretArray:
        return -self + other

    def __neg__(self) -> SecretArray:
        return self._new(self.engine.arith.scale(self.shared, -1))

    def sum(self) -> SecretArray:
        """The sum of all elements, as a one-element array (local)."""
        f = self.engine.field
        x = f.from_ints([f.total(self.shared.x)])
        m = f.from_ints([f.total(self.shared.m)])
        return self._new(Shared(x, m))

    # -- multiplication (one round) ------------------------------------------------------

    def __mul__(self, other: SecretArray | Public) -> SecretArray:
        ar = self.engine.arith
        if isinstance(other, SecretArray):
            bits = max(self.bits, other.bits)
            return self._new(self.engine.mul(self.shared, other.shared), bits)
        if isinstance(other, int):
            return self._new(ar.scale(self.shared, other))
        return self._new(ar.mul_public(self.shared, self._public(other)))

    __rmul__ = __mul__

    def __matmul__(self, other: SecretArray) -> SecretArray:
        """Matrix product (1-D @ 1-D is the dot product): every elementwise product in one
        multiplication round, then local sums. ``(n, k) @ (k, m)`` uses ``n k m`` triples."""
        a_shape = self.shape if len(self.shape) == 2 else (1, self.shape[0])
        b_shape = other.shape if len(other.shape) == 2 else (other.shape[0], 1)
        (n, k), (k2, m) = a_shape, b_shape
        if k != k2:
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} do not align")
        i, j, t = np.meshgrid(np.arange(n), np.arange(m), np.arange(k), indexing="ij")
        left = self.shared[(i * k + t).ravel()]
        right = other.shared[(t * m + j).ravel()]
        products = self.engine.mul(left, right)  # ordered (i, j, t): k consecutive per output
        ar = self.engine.arith
        acc = products[0::k]
        for step in range(1, k):
            acc = ar.add(acc, products[step::k])
        shape = tuple(
            d for d, keep in ((n, len(self.shape) == 2), (m, len(other.shape) == 2)) if keep
        )
        return SecretArray(self.engine, acc, max(self.bits, other.bits), shape or (1,))

    # -- comparisons ---------------------------------------------------------------------

    def __lt__(self, other: SecretArray | Public) -> SecretArray:
        o = other if isinstance(other, SecretArray) else self._const(other)
        width = max(self.bits, o.bits)
        return self._new(less_than(self.engine, self.shared, o.shared, width), bits=1)

    def __gt__(self, other: SecretArray | Public) -> SecretArray:
        o = other if isinstance(other, SecretArray) else self._const(other)
        return o < self

    def __le__(self, other: SecretArray | Public) -> SecretArray:
        return 1 - (self > other)

    def __ge__(self, other: SecretArray | Public) -> SecretArray:
        return 1 - (self < other)

    def __eq__(self, other: SecretArray | Public) -> SecretArray:  # type: ignore[override]
        o = other if isinstance(other, SecretArray) else self._const(other)
        width = max(self.bits, o.bits)
        return self._new(equal(self.engine, self.shared, o.shared, width), bits=1)

    def __ne__(self, other: SecretArray | Public) -> SecretArray:  # type: ignore[override]
        return 1 - (self == other)

    def to_bits(self) -> SecretArray:
        """Two's-complement bits, LSB first, as a ``(size, bits)`` array of secret 0/1 values
        (decomposes ``x + 2^(bits-1)`` and flips the top bit). See
        :mod:`offchain.protocols.bitdecomp` for rounds and preprocessing."""
        offset = self.engine.arith.add_const(self.shared, 1 << (self.bits - 1))
        raw = bit_decompose(self.engine, offset, self.bits)
        bits = SecretArray(self.engine, raw, 1, (self.size, self.bits))
        flip = [1 if i == self.bits - 1 else 0 for i in range(self.bits)] * self.size
        signs = [-1 if i == self.bits - 1 else 1 for i in range(self.bits)] * self.size
        return bits * signs + flip

    def _const(self, value: Public) -> SecretArray:
        return self._new(self.engine.arith.constant(self._public(value)))

    def if_else(self, a: SecretArray | Public, b: SecretArray | Public) -> SecretArray:
        """Elementwise ``a if self else b`` for a 0/1 array ``self``: ``b + self * (a - b)``
        (one round if ``a`` or ``b`` is secret, local if both are public)."""
        if isinstance(a, SecretArray) or isinstance(b, SecretArray):
            sa = a if isinstance(a, SecretArray) else self._const(a)
            sb = b if isinstance(b, SecretArray) else self._const(b)
            return self * (sa - sb) + sb
        diff = [x - y for x, y in zip(self._ints(a), self._ints(b), strict=True)]
        return self * diff + b

    def _ints(self, value: Public) -> list[int]:
        if isinstance(value, int):
            return [value] * self.size
        if not isinstance(value, list | tuple | range | np.ndarray):
            raise TypeError(f"cannot combine a SecretArray with {type(value).__name__}")
        return [int(v) for v in np.asarray(value, dtype=object).ravel()]


def _negate(value: Public) -> Public:
    if isinstance(value, int):
        return -value
    return [-int(v) for v in value]


def _owner_values(engine: Engine, values: Sequence[int] | None, bits: int) -> Vec | None:
    if values is None:
        return None
    bound = 1 << (bits - 1)
    if any(not -bound <= int(v) < bound for v in values):
        raise ValueError(f"input outside the int{bits} range")
    return engine.field.from_ints(int(v) for v in values)


def secret_input(
    engine: Engine, values: Sequence[int] | None, owner: int, count: int, bits: int = 32
) -> SecretArray:
    """Share ``owner``'s ``count`` private signed ``bits``-bit integers (``None`` at every
    other org), each provably in range whatever the owner sends
    (:func:`~offchain.protocols.inputs.input_bounded`: 5 rounds, ``count * bits`` masks and checked
    triples)."""
    vec = _owner_values(engine, values, bits)
    return SecretArray(engine, input_bounded(engine, vec, owner, count, bits), bits)


def secret_input_widths(
    engine: Engine, values: Sequence[int] | None, owner: int, widths: Sequence[int]
) -> SecretArray:
    """Like :func:`secret_input`, value ``j`` a signed ``widths[j]``-bit integer: values of
    several widths in one bounded input (:func:`~offchain.protocols.inputs.input_bounded_widths`:
    5 rounds, ``sum(widths)`` masks and checked triples). The array's ``bits`` is the widest."""
    vec = None
    if values is not None:
        bounds = [1 << (w - 1) for w in widths]
        if any(not -b <= int(v) < b for v, b in zip(values, bounds, strict=True)):
            raise ValueError("input outside its declared range")
        vec = engine.field.from_ints(int(v) for v in values)
    shared = input_bounded_widths(engine, vec, owner, widths)
    return SecretArray(engine, shared, max(widths))


def secret_input_unchecked(
    engine: Engine, values: Sequence[int] | None, owner: int, count: int, bits: int = 32
) -> SecretArray:
    """Like :func:`secret_input`, but trusting the owner to stay in range: one round, one mask
    per value. Only for values whose owner is trusted (tests, benchmarks): a malicious owner's
    out-of-range input breaks the masking of later comparisons and truncations."""
    vec = _owner_values(engine, values, bits)
    return SecretArray(engine, engine.input(vec, owner, count), bits)


def open_checked(engine: Engine, *shared: Shared, label: str) -> list[Vec]:
    """Open ``shared`` as a result: refused (:class:`~offchain.engine.core.ProtocolAbort`) unless
    every earlier opening is MAC-checked and confirmed (:meth:`Engine.require_checked`); then
    one round to open, and a MAC check of the opened values between the peers
    (:meth:`Engine.check_between_peers`, two rounds) before they are returned. Three rounds,
    no preprocessing."""
    engine.require_checked(label)
    opened = engine.open(*shared, label=label)
    engine.check_between_peers()
    return opened


def reveal(*arrays: SecretArray, label: str = "reveal") -> list[list[int]]:
    """Open ``arrays`` to every org, as signed integers, MAC-checked (:func:`open_checked`:
    refused while an earlier opening is unchecked; three rounds; no preprocessing)."""
    engine = arrays[0].engine
    opened = open_checked(engine, *(a.shared for a in arrays), label=label)
    return [[engine.field.to_signed(v) for v in engine.field.to_ints(o)] for o in opened]
