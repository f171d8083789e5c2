"""Prime fields for the SPDZ engine: the modulus, encoding to bytes, signed embedding.

A session's modulus is a parameter recorded on-chain. Two primes matter (DESIGN.md, "Field"):
the BN254 scalar field, whose elements Ethereum's precompiles understand, and the Mersenne
prime 2^127 - 1. This first slice computes with Python integers; values travel as fixed-width
big-endian bytes so that every org parses exactly what every other org sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BN254_SCALAR = 21888242871839275222246405745257275088548364400416034343698204186575808495617
MERSENNE_127 = (1 << 127) - 1


class FieldError(ValueError):
    """A value that is not an element of the field, or bytes that do not decode to one."""


@dataclass(frozen=True)
class PrimeField:
    """The integers modulo the prime ``p``, with a fixed-width byte encoding."""

    p: int

    @property
    def byte_length(self) -> int:
        """Bytes needed to encode any element."""
        return (self.p.bit_length() + 7) // 8

    @property
    def bits(self) -> int:
        """Bit length of the modulus."""
        return self.p.bit_length()

    def random(self, count: int) -> list[int]:
        """``count`` uniformly random elements from the operating system's CSPRNG."""
        return [secrets.randbelow(self.p) for _ in range(count)]

    def encode(self, values: Iterable[int]) -> bytes:
        """Encode elements as concatenated fixed-width big-endian integers."""
        width = self.byte_length
        out = bytearray()
        for v in values:
            if not 0 <= v < self.p:
                raise FieldError("value is not a reduced field element")
            out += v.to_bytes(width, "big")
        return bytes(out)

    def decode(self, data: bytes) -> list[int]:
        """Inverse of :meth:`encode`; rejects truncated data and unreduced values."""
        width = self.byte_length
        if len(data) % width:
            raise FieldError(f"{len(data)} bytes is not a whole number of {width}-byte elements")
        values = [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]
        if any(v >= self.p for v in values):
            raise FieldError("received an unreduced field element")
        return values

    def from_signed(self, value: int) -> int:
        """Embed a signed integer (``|value| < p/2``) into the field."""
        if not -(self.p // 2) <= value <= self.p // 2:
            raise FieldError("integer does not fit the field's signed range")
        return value % self.p

    def to_signed(self, element: int) -> int:
        """The signed integer in ``(-p/2, p/2]`` that ``element`` represents."""
        return element - self.p if element > self.p // 2 else element

    def sum(self, values: Sequence[int]) -> int:
        """Sum of elements, reduced."""
        return sum(values) % self.p
