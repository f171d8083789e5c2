"""Secure types: secret field elements whose operators run the SPDZ protocols.

The safe layer over :mod:`offchain.shares`. An algorithm written with :class:`SecretValue`
reads like its plaintext version (``total = a + b + c``, ``product = a * b * c``); addition and
multiplication by public integers are local, secret-by-secret multiplication is a Beaver
round. Values are never opened implicitly: only :func:`reveal` opens, and what it returns
is still subject to the next MAC check.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.engine import Engine
from offchain.shares import Share


class SecretValue:
    """A secret element of the session's field, held as this org's authenticated share."""

    __slots__ = ("engine", "share")

    def __init__(self, engine: Engine, share: Share) -> None:
        self.engine = engine
        self.share = share

    def __repr__(self) -> str:
        return "SecretValue(<secret>)"

    def _lift(self, other: SecretValue | int) -> SecretValue:
        if isinstance(other, SecretValue):
            return other
        if isinstance(other, int):
            zero = Share(0, 0)
            return SecretValue(self.engine, self.engine.arith.add_const(zero, other))
        return NotImplemented

    def __add__(self, other: SecretValue | int) -> SecretValue:
        o = self._lift(other)
        return SecretValue(self.engine, self.engine.arith.add(self.share, o.share))

    __radd__ = __add__

    def __sub__(self, other: SecretValue | int) -> SecretValue:
        o = self._lift(other)
        return SecretValue(self.engine, self.engine.arith.sub(self.share, o.share))

    def __rsub__(self, other: int) -> SecretValue:
        return self._lift(other) - self

    def __neg__(self) -> SecretValue:
        return SecretValue(self.engine, self.engine.arith.scale(self.share, -1))

    def __mul__(self, other: SecretValue | int) -> SecretValue:
        if isinstance(other, int):
            return SecretValue(self.engine, self.engine.arith.scale(self.share, other))
        if isinstance(other, SecretValue):
            (z,) = self.engine.mul([self.share], [other.share])
            return SecretValue(self.engine, z)
        return NotImplemented

    __rmul__ = __mul__


def secret_input(engine: Engine, values: Sequence[int] | None, owner: int) -> list[SecretValue]:
    """Share ``owner``'s private values (``None`` at every other org). One round."""
    return [SecretValue(engine, s) for s in engine.input(values, owner)]


def reveal(values: Sequence[SecretValue], label: str = "reveal") -> list[int]:
    """Open ``values`` to every org (one round). MAC-check before trusting the result."""
    if not values:
        return []
    return values[0].engine.open([v.share for v in values], label)
