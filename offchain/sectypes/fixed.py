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

PublicReal = int | float | Sequence[int | float] | np.ndarray

DEFAULT_F = 16
DEFAULT_BITS = 48
RECIPROCAL_LO = -4  # default divisor range [2^lo, 2^hi] of reciprocal() and /
RECIPROCAL_HI = 8
RECIPROCAL_ITERATIONS = 3
_INITIAL = 1.5 + math.sqrt(2)  # 1/w ~ _INITIAL - 2w on [1/2, 1): relative error <= 0.0858


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


class SecretFixed:
    """A vector of secret fixed-point numbers ``X / 2^f``, ``X`` a signed ``bits``-bit
    integer held as this org's authenticated shares. See the module docstring for costs."""

    __slots__ = ("engine", "shared", "f", "bits")

    def __init__(
        self, engine: Engine, shared: Shared, f: int = DEFAULT_F, bits: int = DEFAULT_BITS
    ) -> None:
        if not 0 < f < bits - 1:
            raise ValueError(f"{f} fractional bits do not fit a {bits}-bit fixed-point number")
        self.engine = engine
        self.shared = shared
        self.f = f
        self.bits = bits

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

    def __len__(self) -> int:
        return len(self.shared)

    def __getitem__(self, index: slice | int) -> SecretFixed:
        return self._new(self.shared[index])

    def _new(self, shared: Shared) -> SecretFixed:
        return SecretFixed(self.engine, shared, self.f, self.bits)

    def _peer(self, other: SecretFixed) -> None:
        if other.f != self.f or other.bits != self.bits:
            raise ValueError(
                f"fix{self.bits}.{self.f} and fix{other.bits}.{other.f} operands: convert first"
            )
        if len(other) != len(self):
            raise ValueError(f"operands of length {len(self)} and {len(other)}")

    # -- encoding of public operands -----------------------------------------------------

    def _values(self, value: PublicReal) -> list:
        if isinstance(value, int | float | np.integer | np.floating):
            return [value] * len(self)
        values = list(np.asarray(value).reshape(-1).tolist())
        if len(values) != len(self):
            raise ValueError(f"public operand of length {len(values)} for {len(self)} values")
        return values

    def encode(self, value: PublicReal) -> list[int]:
        """Public reals as fixed-point integers, rounded to nearest; :class:`ValueError` if
        one is not finite or does not fit ``bits`` bits."""
        return [encode_fixed(v, self.f, self.bits) for v in self._values(value)]

    def _public(self, value: PublicReal) -> np.ndarray:
        return self.engine.field.from_ints(self.encode(value))

    # -- linear (local) ------------------------------------------------------------------

    def __add__(self, other: SecretFixed | PublicReal) -> SecretFixed:
        """``self + other``: local, exact (a public operand is first rounded to 2^-f)."""
        ar = self.engine.arith
        if isinstance(other, SecretFixed):
            self._peer(other)
            return self._new(ar.add(self.shared, other.shared))
        if isinstance(other, SecretArray):
            return NotImplemented
        return self._new(ar.add_public(self.shared, self._public(other)))

    __radd__ = __add__

    def __neg__(self) -> SecretFixed:
        """``-self``: local, exact."""
        return self._new(self.engine.arith.scale(self.shared, -1))

    def __sub__(self, other: SecretFixed | PublicReal) -> SecretFixed:
        """``self - other``: local, exact (public operands rounded to 2^-f)."""
        if isinstance(other, SecretFixed):
            return self + (-other)
        if isinstance(other, SecretArray):
            return NotImplemented
        return self + [-v for v in self._values(other)]

    def __rsub__(self, other: PublicReal) -> SecretFixed:
        return -self + other

    def sum(self) -> SecretFixed:
        """The sum of all elements as a one-element array: local, exact."""
        f = self.engine.field
        x = f.from_ints([f.total(self.shared.x)])
        m = f.from_ints([f.total(self.shared.m)])
        return self._new(Shared(x, m))

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
            self._peer(other)
            return self._truncated(self.engine.mul(self.shared, other.shared))
        if isinstance(other, SecretArray):
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
        ar = self.engine.arith
        if isinstance(other, SecretFixed):
            self._peer(other)
            products = self.engine.mul(self.shared, other.shared)
        else:
            products = ar.mul_public(self.shared, self._public(other))
        f = self.engine.field
        total = Shared(f.from_ints([f.total(products.x)]), f.from_ints([f.total(products.m)]))
        return self._truncated(total)

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

    def _operand(self, other: SecretFixed | PublicReal) -> SecretFixed:
        if isinstance(other, SecretFixed):
            self._peer(other)
            return other
        return self._new(self.engine.arith.constant(self._public(other)))

    def __lt__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self < other]`` as a 0/1 :class:`SecretArray`: exact on the encoded values (a
        public operand is rounded to 2^-f first). Uses
        :func:`offchain.protocols.compare.less_than` at ``k = bits`` (edaBits of that width):
        ``1 + ceil(log2 k)`` rounds (7 for k = 48), ``triples_for(k)`` triples (88 for k = 48)
        and one edaBit per element."""
        o = self._operand(other)
        k = self._compare_width()
        return SecretArray(self.engine, less_than(self.engine, self.shared, o.shared, k), 1)

    def __gt__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self > other]``: as :meth:`__lt__`."""
        return self._operand(other) < self

    def __le__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self <= other] = 1 - [self > other]``: as :meth:`__lt__`."""
        return 1 - (self > other)

    def __ge__(self, other: SecretFixed | PublicReal) -> SecretArray:
        """``[self >= other] = 1 - [self < other]``: as :meth:`__lt__`."""
        return 1 - (self < other)

    # -- reciprocal and division ---------------------------------------------------------

    def reciprocal(
        self,
        lo: int = RECIPROCAL_LO,
        hi: int = RECIPROCAL_HI,
        iterations: int = RECIPROCAL_ITERATIONS,
    ) -> SecretFixed:
        """``1 / self`` for every element in ``[2^lo, 2^hi]`` (precondition; default
        ``[2^-4, 2^8]``). See :meth:`divide` (numerator 1), which states the method and the
        costs; here the numerator product is skipped (one triple and one truncation pair per
        element fewer). Error (derived in :meth:`divide`, tested over the range):
        ``|r - 1/x| <= 2^-f (2 + 7/x)``.
        """
        return self._divide(None, lo, hi, iterations)

    def divide(
        self,
        divisor: SecretFixed,
        lo: int = RECIPROCAL_LO,
        hi: int = RECIPROCAL_HI,
        iterations: int = RECIPROCAL_ITERATIONS,
    ) -> SecretFixed:
        """``self / divisor`` elementwise for divisors in ``[2^lo, 2^hi]`` (precondition;
        default ``[2^-4, 2^8]``; needs ``hi < f`` and ``2^-lo`` well inside the range).

        Method (range-based scaling, then Newton–Raphson from a public linear guess):

        1. ``b_j = [x >= 2^j]`` for ``j = lo+1 .. hi``: one vectorised comparison of
           ``hi - lo`` public thresholds (``1 + ceil(log2 k)`` rounds);
        2. ``s = 2^-(e+1)`` for ``2^e <= x < 2^(e+1)``, a public linear combination of the
           ``b_j`` (local, exact); ``w = x s`` in ``[1/2, 1)`` and ``a s`` together (one
           multiplication and one truncation: 2 rounds);
        3. ``y_0 = 2.9142 - 2 w`` (relative error <= 0.0858), then ``iterations`` Newton steps
           ``y <- y (2 - w y)`` (4 rounds each): relative error ``0.0858^(2^iterations)``,
           below 2^-28 for the default 3, so rounding dominates;
        4. ``(a s) y`` (2 rounds).

        Cost per element, ``t = hi - lo`` (12 by default) and ``k`` the edaBit width:
        ``1 + ceil(log2 k) + 4 + 4 * iterations`` rounds (23 for k = 48), ``t`` edaBits,
        ``t * triples_for(k) + 3 + 2 * iterations`` triples and ``3 + 2 * iterations``
        truncation pairs (see :func:`division_cost`).

        Error, in ulp = 2^-f, each truncation contributing < 1 (tested over the range):
        ``|q - a/x| <= 4 + 7 |a| / x``. Because ``x s`` lies in ``[1/2, 1)``: ``w`` is off by
        < 1, so ``1/w`` by < 4; the last Newton step adds < 3 (``y <= 2``), the quadratic term
        is negligible, so ``y`` is within 7 of ``1/(x s)``; ``a s`` is off by < 1, which
        ``y <= 2`` turns into < 2; the final truncation adds < 1; and ``s < 1/x`` turns 7 into
        ``7 |a| / x``. For the reciprocal (``a = 1``, ``a s = s`` exact): ``2 + 7/x``.
        """
        if not isinstance(divisor, SecretFixed):
            raise TypeError("divide() takes a secret divisor; use / for public divisors")
        self._peer(divisor)
        return divisor._divide(self, lo, hi, iterations)

    def _divide(
        self, numerator: SecretFixed | None, lo: int, hi: int, iterations: int
    ) -> SecretFixed:
        e, f, ar, fld = self.engine, self.f, self.engine.arith, self.engine.field
        if not -f <= lo < hi < f or -lo > self.bits - f - 3:
            raise ValueError(f"divisor range [2^{lo}, 2^{hi}] does not suit fix{self.bits}.{f}")
        n, t = len(self), hi - lo
        # 1. lt_j = [x < 2^j], all thresholds in one comparison.
        thresholds = [1 << (f + j) for j in range(lo + 1, hi + 1)]
        consts = fld.from_ints(c for c in thresholds for _ in range(n))
        k = self._compare_width()
        xs = Shared.concat([self.shared] * t)
        lt = less_than(e, xs, ar.constant(consts), k)
        # 2. S = 2^(f-e-1) = 2^(f-hi-1) + sum_j lt_j 2^(f-j-1)   (integers, exact)
        s = ar.constant(fld.from_ints([1 << (f - hi - 1)] * n))
        for i, j in enumerate(range(lo + 1, hi + 1)):
            s = ar.add(s, ar.scale(lt[i * n : (i + 1) * n], 1 << (f - j - 1)))
        if numerator is None:
            w = self._truncated(e.mul(self.shared, s))
            scaled = self._new(s)
        else:
            both = self._truncated(
                e.mul(Shared.concat([self.shared, numerator.shared]), Shared.concat([s, s]))
            )
            w, scaled = both[:n], both[n:]
        # 3. Newton–Raphson for 1/w, w in [1/2, 1).
        y = w * -2 + _INITIAL
        for _ in range(iterations):
            y = y * (2 - w * y)
        # 4. a / x = (a s) / w
        return scaled * y

    def __truediv__(self, other: SecretFixed | PublicReal) -> SecretFixed:
        """``self / other``: a secret divisor as :meth:`divide` (divisor in [2^-4, 2^8]); a
        public one by multiplying with its encoded reciprocal (1 round, 1 truncation pair,
        error < ``(1 + |self| / 2)`` ulp: the truncation and the encoding of ``1/other``)."""
        if isinstance(other, SecretFixed):
            return self.divide(other)
        if isinstance(other, SecretArray):
            return NotImplemented
        values = self._values(other)
        if any(float(v) == 0.0 for v in values):
            raise ZeroDivisionError("fixed-point division by a public zero")
        return self * [1.0 / float(v) for v in values]

    def __rtruediv__(self, other: PublicReal) -> SecretFixed:
        """``public / self``: :meth:`reciprocal`, then a product with the encoded public
        value (one truncation round more)."""
        return self.reciprocal() * other


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
    ``b + cond (a - b)``, one round and one triple per element if ``a`` or ``b`` is secret
    (no truncation: ``cond`` is an integer), local if both are public. Exact."""
    proto = a if isinstance(a, SecretFixed) else b
    if not isinstance(proto, SecretFixed):
        raise TypeError("if_else on fixed-point numbers needs a secret a or b")
    engine = proto.engine
    diff = proto._operand(a) - b if not isinstance(a, SecretFixed) else a - b
    return proto._new(engine.mul(cond.shared, diff.shared)) + b


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
