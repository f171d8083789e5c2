"""Prime fields for the SPDZ engine: vectors of elements, their arithmetic and wire encoding.

A session's modulus is a parameter recorded on-chain (docs/design.md, "Off-chain engine").
Two fields matter:

* :class:`Mersenne127` — p = 2^127 - 1, backed by compiled numba kernels
  (:mod:`offchain.hazmat.m127`) on ``uint64`` arrays of shape ``(N, 2)``; fast, and wide enough
  for 64-bit comparisons with 40-bit statistical masking. The engine's default for computation.
* :class:`PrimeField` — a prime of at least 64 bits, on NumPy object arrays of Python ints; used
  for the BN254 scalar field, whose elements Ethereum's precompiles understand.

A session runs only on a modulus from :data:`KNOWN_PRIMES` (docs/protocols.md, "Session parameters":
a fixed table, never merely "odd"): :func:`field_for` and :func:`check_modulus` refuse the rest.

Both expose the same vector interface, so the protocols never ask which one they run on. A
vector is a NumPy array whose first axis indexes elements: ``len``, slicing and
``np.concatenate`` work the same for both. Received bytes are decoded strictly: an unreduced
or truncated element is an error, never silently reduced.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import gmpy2
import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from offchain.exceptions import FieldError
from offchain.hazmat import m127

BN254_SCALAR = 21888242871839275222246405745257275088548364400416034343698204186575808495617
MERSENNE_127 = m127.P
MIN_MODULUS = 2**64  # MAC soundness ~1/p per check: no smaller prime is acceptable

KNOWN_PRIMES: dict[int, str] = {
    MERSENNE_127: "Mersenne 2^127 - 1",
    BN254_SCALAR: "BN254 scalar field r",
}

Vec = np.ndarray


def keystream(key: bytes, nbytes: int) -> bytes:
    """``nbytes`` of AES-256-CTR keystream under ``key``: a fast CSPRNG (AES-NI) for bulk
    randomness; with a fresh ``os.urandom`` key it is secret, with a hashed public seed it is a
    public challenge everyone expands alike."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    return encryptor.update(bytes(nbytes)) + encryptor.finalize()


class Field(ABC):
    """The integers modulo a prime ``p``, as vectors."""

    p: int

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Field) and other.p == self.p

    def __hash__(self) -> int:
        return hash(self.p)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p:#x})"

    @property
    def bits(self) -> int:
        """Bit length of the modulus."""
        return self.p.bit_length()

    # -- scalars -------------------------------------------------------------------------

    def from_signed(self, value: int) -> int:
        """Embed a signed integer (``|value| <= p/2``) into the field."""
        if not -(self.p // 2) <= value <= self.p // 2:
            raise FieldError("integer does not fit the field's signed range")
        return value % self.p

    def to_signed(self, element: int) -> int:
        """The signed integer in ``(-p/2, p/2]`` that ``element`` represents."""
        return element - self.p if element > self.p // 2 else element

    # -- vectors -------------------------------------------------------------------------

    @abstractmethod
    def zeros(self, n: int) -> Vec:
        """``n`` zeros."""

    @abstractmethod
    def from_ints(self, values: Iterable[int]) -> Vec:
        """A vector of ``values``, each reduced mod p (negatives allowed)."""

    @abstractmethod
    def to_ints(self, a: Vec) -> list[int]:
        """The elements as Python ints in ``[0, p)``."""

    @abstractmethod
    def encode(self, a: Vec) -> bytes:
        """Fixed-width wire encoding."""

    @abstractmethod
    def decode(self, data: bytes | memoryview) -> Vec:
        """Inverse of :meth:`encode`; raises :class:`FieldError` on bad data."""

    @abstractmethod
    def random(self, n: int) -> Vec:
        """``n`` uniform elements from the OS CSPRNG."""

    @abstractmethod
    def random_bits(self, n: int) -> Vec:
        """``n`` uniform elements of {0, 1}."""

    @abstractmethod
    def from_seed(self, seed: bytes, n: int) -> Vec:
        """``n`` elements expanded from ``seed`` (AES-CTR keyed by its hash; negligible bias):
        public challenges that everyone derives alike."""

    @abstractmethod
    def add(self, a: Vec, b: Vec) -> Vec:
        """Elementwise ``a + b``."""

    @abstractmethod
    def sub(self, a: Vec, b: Vec) -> Vec:
        """Elementwise ``a - b``."""

    @abstractmethod
    def mul(self, a: Vec, b: Vec) -> Vec:
        """Elementwise ``a * b``."""

    @abstractmethod
    def add_scalar(self, a: Vec, c: int) -> Vec:
        """``a + c`` for every element."""

    @abstractmethod
    def mul_scalar(self, a: Vec, c: int) -> Vec:
        """``c * a`` for every element."""

    @abstractmethod
    def dot(self, a: Vec, b: Vec) -> int:
        """``sum a_k b_k mod p``."""

    @abstractmethod
    def total(self, a: Vec) -> int:
        """``sum a_k mod p``."""

    @abstractmethod
    def low_bits(self, a: Vec, k: int) -> np.ndarray:
        """The low ``k`` bits of each element, ``uint8`` of shape ``(N, k)``, LSB first."""

    @abstractmethod
    def from_bits(self, bits: np.ndarray) -> Vec:
        """Elements 0/1 from a ``uint8`` array (any shape, flattened)."""

    @abstractmethod
    def from_int64(self, x: np.ndarray) -> Vec:
        """Embed signed 64-bit integers."""

    @abstractmethod
    def to_int64(self, a: Vec) -> np.ndarray:
        """Signed 64-bit integers that elements represent (must lie in range)."""

    def beaver(
        self,
        c: tuple[Vec, Vec],
        b: tuple[Vec, Vec],
        a: tuple[Vec, Vec],
        d: Vec,
        e: Vec,
        alpha_i: int,
        add_de: bool,
    ) -> tuple[Vec, Vec]:
        """One org's Beaver output ``(z, z_m)`` from its (value, MAC) shares of ``c, b, a``:
        ``z = c + d b + e a (+ d e at org 0)``, ``z_m = c_m + d b_m + e a_m + alpha_i d e``."""
        de = self.mul(d, e)
        z = self.add(self.add(c[0], self.mul(d, b[0])), self.mul(e, a[0]))
        zm = self.add(self.add(c[1], self.mul(d, b[1])), self.mul(e, a[1]))
        return (self.add(z, de) if add_de else z), self.add(zm, self.mul_scalar(de, alpha_i))

    def sum_vectors(self, vectors: Sequence[Vec]) -> Vec:
        """Elementwise sum of several vectors of equal length."""
        out = vectors[0]
        for v in vectors[1:]:
            out = self.add(out, v)
        return out


class Mersenne127(Field):
    """p = 2^127 - 1 on compiled kernels (see :mod:`offchain.hazmat.m127`)."""

    p = MERSENNE_127
    byte_length = 16

    def zeros(self, n: int) -> Vec:
        return m127.zeros(n)

    def from_ints(self, values: Iterable[int]) -> Vec:
        return m127.from_ints(values)

    def to_ints(self, a: Vec) -> list[int]:
        return m127.to_ints(a)

    def encode(self, a: Vec) -> bytes:
        return m127.to_bytes(a)

    def decode(self, data: bytes | memoryview) -> Vec:
        try:
            return m127.from_bytes(data)
        except ValueError as exc:
            raise FieldError(str(exc)) from None

    def random(self, n: int) -> Vec:
        return self._from_stream(keystream(os.urandom(32), 16 * n), n)

    def random_bits(self, n: int) -> Vec:
        bits = np.unpackbits(np.frombuffer(keystream(os.urandom(32), (n + 7) // 8), np.uint8))
        return self.from_bits(bits[:n])

    def from_seed(self, seed: bytes, n: int) -> Vec:
        return self._from_stream(keystream(hashlib.sha256(seed).digest(), 16 * n), n)

    @staticmethod
    def _from_stream(raw: bytes, n: int) -> Vec:
        a = np.frombuffer(raw, dtype=np.uint64).reshape(n, 2).copy()
        a[:, 1] &= np.uint64((1 << 63) - 1)  # 127 uniform bits; the value p has mass 2^-127
        a[(a[:, 0] == np.uint64(2**64 - 1)) & (a[:, 1] == np.uint64(2**63 - 1))] = 0
        return a

    def beaver(
        self,
        c: tuple[Vec, Vec],
        b: tuple[Vec, Vec],
        a: tuple[Vec, Vec],
        d: Vec,
        e: Vec,
        alpha_i: int,
        add_de: bool,
    ) -> tuple[Vec, Vec]:
        return m127.beaver(c, b, a, d, e, alpha_i, add_de)  # one fused pass

    def add(self, a: Vec, b: Vec) -> Vec:
        return m127.add(a, b)

    def sub(self, a: Vec, b: Vec) -> Vec:
        return m127.sub(a, b)

    def mul(self, a: Vec, b: Vec) -> Vec:
        return m127.mul(a, b)

    def add_scalar(self, a: Vec, c: int) -> Vec:
        return m127.add_scalar(a, c)

    def mul_scalar(self, a: Vec, c: int) -> Vec:
        return m127.mul_scalar(a, c)

    def dot(self, a: Vec, b: Vec) -> int:
        return m127.dot(a, b)

    def total(self, a: Vec) -> int:
        return m127.sum(a)

    def low_bits(self, a: Vec, k: int) -> np.ndarray:
        return m127.bit_decompose_public(a, k)

    def from_bits(self, bits: np.ndarray) -> Vec:
        out = np.zeros((bits.size, 2), dtype=np.uint64)
        out[:, 0] = bits.reshape(-1)
        return out

    def from_int64(self, x: np.ndarray) -> Vec:
        return m127.from_int64(np.ascontiguousarray(x, dtype=np.int64))

    def to_int64(self, a: Vec) -> np.ndarray:
        return m127.to_int64(a)


class PrimeField(Field):
    """A prime ``p >= 2^64``, on NumPy object arrays of Python ints (e.g. BN254's scalar field).

    Refuses a composite (``gmpy2.is_prime``: Miller-Rabin, 25 rounds, error below 2^-50 for an
    adversarial composite) and anything below 2^64. Sessions further restrict the modulus to
    :data:`KNOWN_PRIMES` (:func:`field_for`)."""

    def __init__(self, p: int) -> None:
        if not isinstance(p, int) or p < MIN_MODULUS:
            raise FieldError(f"modulus {p} is below 2^64")
        if not gmpy2.is_prime(p, 25):
            raise FieldError(f"modulus {p:#x} is not prime")
        self.p = p
        self.byte_length = (p.bit_length() + 7) // 8

    def _arr(self, values: Iterable[int]) -> Vec:
        vals = list(values)
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out

    def zeros(self, n: int) -> Vec:
        return self._arr([0] * n)

    def from_ints(self, values: Iterable[int]) -> Vec:
        return self._arr(int(v) % self.p for v in values)

    def to_ints(self, a: Vec) -> list[int]:
        return [int(v) for v in a]

    def encode(self, a: Vec) -> bytes:
        width = self.byte_length
        return b"".join(int(v).to_bytes(width, "big") for v in a)

    def decode(self, data: bytes | memoryview) -> Vec:
        data = bytes(data)
        width = self.byte_length
        if len(data) % width:
            raise FieldError(f"{len(data)} bytes is not a whole number of {width}-byte elements")
        values = [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]
        if any(v >= self.p for v in values):
            raise FieldError("received an unreduced field element")
        return self._arr(values)

    def random(self, n: int) -> Vec:
        return self._arr(secrets.randbelow(self.p) for _ in range(n))

    def random_bits(self, n: int) -> Vec:
        return self._arr(secrets.randbits(1) for _ in range(n))

    def from_seed(self, seed: bytes, n: int) -> Vec:
        width = self.byte_length + 16  # 128 extra bits: modular bias below 2^-128
        raw = keystream(hashlib.sha256(seed).digest(), width * n)
        return self._arr(
            int.from_bytes(raw[i : i + width], "big") % self.p for i in range(0, len(raw), width)
        )

    def add(self, a: Vec, b: Vec) -> Vec:
        return (a + b) % self.p

    def sub(self, a: Vec, b: Vec) -> Vec:
        return (a - b) % self.p

    def mul(self, a: Vec, b: Vec) -> Vec:
        return (a * b) % self.p

    def add_scalar(self, a: Vec, c: int) -> Vec:
        return (a + c) % self.p

    def mul_scalar(self, a: Vec, c: int) -> Vec:
        return (a * (c % self.p)) % self.p

    def dot(self, a: Vec, b: Vec) -> int:
        return int((a * b).sum()) % self.p if len(a) else 0

    def total(self, a: Vec) -> int:
        return int(a.sum()) % self.p if len(a) else 0

    def low_bits(self, a: Vec, k: int) -> np.ndarray:
        return np.array([[(int(v) >> i) & 1 for i in range(k)] for v in a], dtype=np.uint8)

    def from_bits(self, bits: np.ndarray) -> Vec:
        return self._arr(int(b) for b in bits.reshape(-1))

    def from_int64(self, x: np.ndarray) -> Vec:
        return self._arr(int(v) % self.p for v in x)

    def to_int64(self, a: Vec) -> np.ndarray:
        return np.array([self.to_signed(int(v)) for v in a], dtype=np.int64)


def check_modulus(p: int) -> str:
    """The name of ``p`` in :data:`KNOWN_PRIMES`; raises :class:`FieldError` naming the modulus
    for anything else (for the peer and the auditor to check a session's modulus)."""
    if not isinstance(p, int):
        raise FieldError(f"modulus {p!r} is not an integer")
    if p not in KNOWN_PRIMES:
        known = ", ".join(KNOWN_PRIMES.values())
        raise FieldError(f"modulus {p:#x} is not one of the known primes ({known})")
    return KNOWN_PRIMES[p]


def field_for(p: int) -> Field:
    """The fastest implementation of the field with modulus ``p``, which must be one of
    :data:`KNOWN_PRIMES` (:class:`FieldError` otherwise, naming the modulus)."""
    check_modulus(p)
    return Mersenne127() if p == MERSENNE_127 else PrimeField(p)
