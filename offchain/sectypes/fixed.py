"""Secure fixed-point arrays: secret reals ``X / 2^f`` on top of the SPDZ integer protocols.

A :class:`SecretFixed` holds a vector of secret signed integers ``X`` of ``bits`` bits (default
48) that stand for the reals ``x = X / 2^f`` (default ``f = 16``), so ``|x| < 2^(bits-f-1)``
(``2^31`` by default) with resolution one *ulp* ``= 2^-f``. Public operands (ints, floats,
lists or arrays of them) are encoded by rounding to the nearest multiple of ``2^-f``. Staying
within the declared width, also for every intermediate result, is the caller's precondition:
an overflow gives wrong values, never a leak. Nothing is opened implicitly; only
:func:`reveal_fixed` opens, after a MAC check, and MAC-checks what it returns.

Probabilistic truncation (Catrina–Saxena, FC 2010), :func:`trunc_pr`: for signed ``<x>`` of
``l`` bits, open ``c = x + 2^(l-1) + r`` with a truncation pair ``(<r>, <r mod 2^m>)`` from the
material (``r`` has ``l + kappa`` bits, ``kappa >= 40``, see
:func:`~offchain.preprocessing.widths.trunc_mask_bits_for`), then

    <x / 2^m>  ~  (x + 2^(l-1) - (c mod 2^m) + <r mod 2^m>) / 2^m - 2^(l-1-m),

which equals ``floor(x / 2^m) + u`` with ``u = 1`` with probability ``(x mod 2^m) / 2^m``: the
error is below one unit of the result and zero on average. One round, one opening and one
truncation pair per element. All truncations here open values of at most ``l = bits + f``
bits (a product before truncation), so a session deals its pairs as :func:`trunc_needs` says:
the key :func:`~offchain.preprocessing.kinds.trunc_key` ``(f, bits + f)``, masks of
``l + kappa`` bits (64 + 60 bits for 2^127 - 1, 64 + 64 for BN254). Several widths (fix32 and
fix48 values, say) can share one session: each has its own key.

Costs per element (``k`` = ``bits``, the width of the edaBits comparisons take):

=================  ======  =================  ==================  ===============================
operation          rounds  Beaver triples     truncation pairs    error (ulp = 2^-f)
=================  ======  =================  ==================  ===============================
``+ -`` (any)      0       0                  0                   exact (public: encoding ≤ 1/2)
``*`` secret       2       1                  1                   < 1 of the encoded product
``*`` public float 1       0                  1                   < 1 of the encoded product
``*`` public int   0       0                  0                   exact
``@`` (length n)   2       n                  1 (per dot)         < 1 of the encoded dot
``truncate(m)``    ⌈m/f⌉   0                  ⌈m/f⌉               < 1 (m ≤ f), < 2 (m > f)
``< <= > >=``      1+⌈log2 k⌉  triples_for(k)  0 (1 edaBit)       exact (of encoded values)
``reciprocal``     see :meth:`SecretFixed.reciprocal`
=================  ======  =================  ==================  ===============================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from offchain.engine.core import Engine
from offchain.hazmat.field import Field, Vec
from offchain.hazmat.shares import Shared
from offchain.preprocessing.kinds import trunc_key
from offchain.preprocessing.material import Needs
from offchain.protocols.compare import from_low_bits, less_than, triples_for
from offchain.protocols.inputs import input_bounded
from offchain.sectypes.array import SecretArray, open_checked
from offchain.sectypes.base import SecureArray, total
from offchain.sectypes.fixed_division import (
    RECIPROCAL_HI,
    RECIPROCAL_ITERATIONS,
    RECIPROCAL_LO,
    FixedDivision,
)

PublicReal = int | float | Sequence[int | float] | np.ndarray

DEFAULT_F = 16
DEFAULT_BITS = 48


# -- truncation --------------------------------------------------------------------------


def trunc_needs(field: Field, count: int, f: int = DEFAULT_F, bits: int = DEFAULT_BITS) -> Needs:
    """The :class:`~offchain.preprocessing.material.Needs` for ``count`` truncation pairs serving
    :class:`SecretFixed` values of ``f`` fractional and ``bits`` total bits over ``field``
    (products of ``bits + f`` bits truncated by ``f``:
    :func:`~offchain.preprocessing.kinds.trunc_key`). Add it to the job's other needs
    (``Needs.__add__``)."""
    return Needs(items={trunc_key(f, bits + f, field.bits): count})


def trunc_pr(engine: Engine, x: Shared, m: int, width: int) -> Shared:
    """``<x / 2^m>`` with probabilistic rounding for signed ``width``-bit ``x``
    (``|x| < 2^(width-1)``, precondition), by the Catrina–Saxena protocol (module docstring).

    Result: ``floor(x / 2^m)`` or ``floor(x / 2^m) + 1``, the latter with probability
    ``(x mod 2^m) / 2^m``; exact when ``2^m`` divides ``x``. One round, one opening (label
    ``trunc``, MAC-checked at the next checkpoint), ``len(x)`` truncation pairs of the key
    ``trunc_key(m, width, p_bits)`` (:class:`~offchain.exceptions.MaterialError` if too few or
    none of that width were dealt; :class:`ProtocolAbort` if the field is too small). The
    opened ``c`` hides ``x`` up to statistical distance ``2^-kappa``, ``kappa >= 40``.
    """
    f, ar = engine.field, engine.arith
    # The pairs' masks are l + kappa bits wide (trunc_key): a field too small for that refuses.
    r, r_low = engine.take_truncations(len(x), m, width)
    shift = 1 << (width - 1)
    shifted = ar.add_const(x, shift)
    (c,) = engine.open(ar.add(shifted, r), label="trunc")
    c_low = from_low_bits(f, f.low_bits(c, m), m)
    # (x + 2^(l-1) - c_low + r_low) is a multiple of 2^m: divide exactly in the field.
    y = ar.add(ar.add_public(shifted, f.sub(f.zeros(len(x)), c_low)), r_low)
    y = ar.scale(y, pow(1 << m, -1, f.p))
    return ar.add_const(y, -(shift >> m))


# -- the secure type ---------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


class SecretFixed(FixedDivision, SecureArray):
    """A vector of secret fixed-point numbers ``X / 2^f``, ``X`` a signed ``bits``-bit
    integer held as this org's authenticated shares. See the module docstring for costs;
    shape, indexing, ``+ -``, ``sum`` and ``if_else`` are the base's
    (:class:`~offchain.sectypes.base.SecureArray`), division is :class:`FixedDivision`'s."""

    __slots__ = ("f",)

    def __init__(
        self,
        engine: Engine,
        shared: Shared,
        f: int = DEFAULT_F,
        bits: int = DEFAULT_BITS,
        shape: tuple[int, ...] | None = None,
    ) -> None:
        if not 0 < f < bits - 1:
            raise ValueError(f"{f} fractional bits do not fit a {bits}-bit fixed-point number")
        super().__init__(engine, shared, bits, shape)
        self.f = f

    @classmethod
    def from_raw(cls, array: SecretArray, f: int = DEFAULT_F) -> SecretFixed:
        """Reinterpret a :class:`SecretArray`'s integers ``X`` as ``X / 2^f`` (local)."""
        return cls(array.engine, array.shared, f, array.bits)

    @classmethod
    def from_integers(
        cls, array: SecretArray, f: int = DEFAULT_F, bits: int = DEFAULT_BITS
    ) -> SecretFixed:
        """The same integers as fixed-point numbers, ``X * 2^f / 2^f`` (local; the precondition
        ``|X| < 2^(bits-f-1)`` is the caller's)."""
        return cls(array.engine, array.engine.arith.scale(array.shared, 1 << f), f, bits)

    @property
    def raw(self) -> SecretArray:
        """The underlying integers ``X`` as a :class:`SecretArray` of ``bits`` bits."""
        return SecretArray(self.engine, self.shared, self.bits)

    @property
    def width(self) -> int:
        """Bits of a product before truncation, and of every value this type truncates."""
        return self.bits + self.f

    def __repr__(self) -> str:
        return f"SecretFixed(<{len(self)} secret fix{self.bits}.{self.f}>)"

    def _like(self, shared: Shared, bits: int, shape: tuple[int, ...] | None) -> SecretFixed:
        return SecretFixed(self.engine, shared, self.f, bits, shape)

    def _format_bits(self, other: SecretFixed) -> int:
        if other.f != self.f or other.bits != self.bits:
            raise ValueError(
                f"fix{self.bits}.{self.f} and fix{other.bits}.{other.f} operands: convert first"
            )
        return self.bits

    def _peer_bits(self, other: SecretFixed) -> int:
        # Unlike integers, fixed-point operands never mix widths: the truncation masks are
        # dealt for one width.
        self._format_bits(other)
        if len(other) != len(self):
            raise ValueError(f"operands of length {len(self)} and {len(other)}")
        return self.bits

    # -- encoding of public operands -----------------------------------------------------

    def _values(self, value: PublicReal) -> list:
        if isinstance(value, int | float | np.integer | np.floating):
            return [value] * self.size
        values = list(np.asarray(value).reshape(-1).tolist())
        if len(values) != self.size:
            raise ValueError(f"public operand of length {len(values)} for {self.size} values")
        return values

    def encode(self, value: PublicReal) -> list[int]:
        """Public reals as fixed-point integers, rounded to nearest; :class:`ValueError` if
        one is not finite or does not fit ``bits`` bits."""
        return [encode_fixed(v, self.f, self.bits) for v in self._values(value)]

    _encode = encode

    # -- multiplication ------------------------------------------------------------------

    def __mul__(self, other: SecretFixed | PublicReal) -> SecretFixed:
        """Elementwise product.

        * secret: one Beaver multiplication, then :func:`trunc_pr` by ``f``: 2 rounds, one
          triple and one truncation pair per element, error < 1 ulp of the exact product of
          the encoded operands.
        * public int(s): local scaling, exact.
        * public float(s): local product with the encoded constant, then truncation: 1 round,
          one truncation pair per element, error < 1 ulp of the product with the encoded
          constant.

        Against the product of the unencoded reals ``a b``, add the encoding errors (at most
        1/2 ulp each): < ``1 + (|a| + |b|) / 2 + 1/4`` ulp, i.e. < 2 ulp for ``|a|, |b| <= 1``.
        Precondition: the product fits ``bits`` bits (it then fits ``bits + f`` before the
        truncation, the width the truncation masks are dealt for).
        """
        ar = self.engine.arith
        if isinstance(other, SecretFixed):
            self._peer_bits(other)
            return self._truncated(self.engine.mul(self.shared, other.shared))
        if isinstance(other, SecureArray):
            return NotImplemented
        values = self._values(other)
        if all(_is_int(v) for v in values):
            f = self.engine.field
            return self._new(ar.mul_public(self.shared, f.from_ints(int(v) for v in values)))
        return self._truncated(ar.mul_public(self.shared, self._public(values)))

    __rmul__ = __mul__

    def _truncated(self, product: Shared, m: int | None = None) -> SecretFixed:
        m = self.f if m is None else m
        return self._new(trunc_pr(self.engine, product, m, self.width))

    def dot(self, other: SecretFixed | PublicReal) -> SecretFixed:
        """``sum_i self_i other_i`` as a one-element array: elementwise products (one Beaver
        round if ``other`` is secret, local if public), a local sum, ONE truncation. 2 rounds
        (1 if public), ``len(self)`` triples, 1 truncation pair; error < 1 ulp of the exact
        dot product of the encoded operands. Precondition: the result fits ``bits`` bits."""
        if isinstance(other, SecretFixed):
            self._peer_bits(other)
            products = self.engine.mul(self.shared, other.shared)
        else:
            products = self.engine.arith.mul_public(self.shared, self._public(other))
        return self._truncated(total(self.engine, products))

    def __matmul__(self, other: SecretFixed | PublicReal) -> SecretFixed:
        return self.dot(other)

    __rmatmul__ = __matmul__

    def truncate(self, m: int) -> SecretFixed:
        """``self / 2^m`` with probabilistic rounding (``f`` fractional bits kept).

        ``m <= f``: scale by ``2^(f-m)`` (local, exact) and truncate by ``f``: 1 round, 1
        truncation pair per element, error < 1 ulp (exact if ``self`` is a multiple of
        ``2^(m-f)``). ``m > f``: ``ceil(m / f)`` such steps, error < 2 ulp.
        """
        if m < 0:
            raise ValueError("truncate by a negative number of bits")
        out = self
        while m > 0:
            step = min(m, self.f)
            scaled = out.engine.arith.scale(out.shared, 1 << (self.f - step))
            out = out._truncated(scaled)
            m -= step
        return out

    # -- comparisons ---------------------------------------------------------------------

    def _compare_width(self) -> int:
        # edaBits of this width (Needs keyed by edabit_key(bits, p_bits)): a session can hold
        # several widths, so a comparison never borrows another width's.
        return self.bits

    def __lt__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self < other]`` as a 0/1 :class:`SecretArray`: exact on the encoded values (a
        public operand is rounded to 2^-f first). Uses
        :func:`offchain.protocols.compare.less_than` at ``k = bits`` (edaBits of that width):
        ``1 + ceil(log2 k)`` rounds (7 for k = 48), ``triples_for(k)`` triples (88 for k = 48)
        and one edaBit per element."""
        o = self._secret(other)
        k = self._compare_width()
        return SecretArray(self.engine, less_than(self.engine, self.shared, o.shared, k), 1)

    def __gt__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self > other]``: as :meth:`__lt__`."""
        return self._secret(other) < self

    def __le__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self <= other] = 1 - [self > other]``: as :meth:`__lt__`."""
        return 1 - (self > other)

    def __ge__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self >= other] = 1 - [self < other]``: as :meth:`__lt__`."""
        return 1 - (self < other)


# -- free functions ----------------------------------------------------------------------


def encode_fixed(value: int | float, f: int = DEFAULT_F, bits: int = DEFAULT_BITS) -> int:
    """``round(value * 2^f)`` (ints exactly), checked to fit a signed ``bits``-bit integer."""
    if _is_int(value):
        x = int(value) << f
    else:
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"cannot encode {v} as a fixed-point number")
        x = round(v * (1 << f))
    if not -(1 << (bits - 1)) <= x < 1 << (bits - 1):
        raise ValueError(f"{value} is outside the fix{bits}.{f} range ±2^{bits - f - 1}")
    return x


def decode_fixed(x: int, f: int = DEFAULT_F) -> float:
    """The real that the signed integer ``x`` stands for (exact for ``|x| < 2^53``)."""
    return x / (1 << f)


def secret_fixed_input(
    engine: Engine,
    values: Sequence[float] | np.ndarray | None,
    owner: int,
    count: int,
    f: int = DEFAULT_F,
    bits: int = DEFAULT_BITS,
) -> SecretFixed:
    """Share ``owner``'s ``count`` private reals (``None`` at every other org), rounded to the
    nearest ``2^-f``; :class:`ValueError` at the owner if one does not fit. Each is provably a
    ``bits``-bit fixed-point number whatever the owner sends
    (:func:`~offchain.protocols.inputs.input_bounded`: 5 rounds, ``count * bits`` masks and checked
    triples)."""
    vec = _fixed_values(engine, values, f, bits)
    return SecretFixed(engine, input_bounded(engine, vec, owner, count, bits), f, bits)


def secret_fixed_input_unchecked(
    engine: Engine,
    values: Sequence[float] | np.ndarray | None,
    owner: int,
    count: int,
    f: int = DEFAULT_F,
    bits: int = DEFAULT_BITS,
) -> SecretFixed:
    """Like :func:`secret_fixed_input`, trusting the owner to stay in range: one round, one
    mask per value. Only for trusted owners (tests, benchmarks)."""
    vec = _fixed_values(engine, values, f, bits)
    return SecretFixed(engine, engine.input(vec, owner, count), f, bits)


def _fixed_values(
    engine: Engine, values: Sequence[float] | np.ndarray | None, f: int, bits: int
) -> Vec | None:
    if values is None:
        return None
    return engine.field.from_ints(encode_fixed(v, f, bits) for v in values)


def reveal_fixed(*arrays: SecretFixed, label: str = "reveal") -> list[list[float]]:
    """Open ``arrays`` to every org, as floats (exact: ``X / 2^f``), MAC-checked
    (:func:`~offchain.sectypes.array.open_checked`: refused while an earlier opening is unchecked;
    three rounds; no preprocessing)."""
    engine = arrays[0].engine
    fld = engine.field
    opened = open_checked(engine, *(a.shared for a in arrays), label=label)
    return [
        [decode_fixed(fld.to_signed(v), a.f) for v in fld.to_ints(o)]
        for a, o in zip(arrays, opened, strict=True)
    ]


def if_else(
    cond: SecretArray, a: SecretFixed | PublicReal, b: SecretFixed | PublicReal
) -> SecretFixed:
    """Elementwise ``a if cond else b`` for a secret 0/1 ``cond`` (e.g. a comparison):
    :meth:`~offchain.sectypes.base.SecureArray.if_else`, one round and one triple per element
    (no truncation: ``cond`` is an integer). Exact. One of ``a``, ``b`` must be secret."""
    if not isinstance(a, SecretFixed) and not isinstance(b, SecretFixed):
        raise TypeError("if_else on fixed-point numbers needs a secret a or b")
    return cond.if_else(a, b)


def division_cost(
    lo: int = RECIPROCAL_LO,
    hi: int = RECIPROCAL_HI,
    iterations: int = RECIPROCAL_ITERATIONS,
    k: int = DEFAULT_BITS,
    numerator: bool = True,
) -> tuple[int, int, int]:
    """``(triples, truncation pairs, edaBits)`` per element of :meth:`SecretFixed.divide`
    (``numerator=False``: :meth:`SecretFixed.reciprocal`) with ``k``-bit edaBits."""
    t = hi - lo
    extra = 1 if numerator else 0
    return t * triples_for(k) + 2 + extra + 2 * iterations, 2 + extra + 2 * iterations, t
