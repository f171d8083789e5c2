"""Authenticated additive shares: the hazardous layer beneath the secure types.

Org i holds, for a secret ``x``, the pair ``(x_i, m_i)`` with ``sum x_i = x`` and
``sum m_i = alpha * x``, where ``alpha = sum alpha_i`` is the session's MAC key that nobody
holds whole. Linear operations are local; a public constant is added by org 0 to its value
share and by every org as ``alpha_i * c`` to its MAC share (PROTOCOLS.md, "Notation").

Nothing here talks to other orgs or checks anything: misuse (opening without a MAC check,
reusing a mask) is prevented one layer up, in :mod:`offchain.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.field import PrimeField


@dataclass(frozen=True)
class Share:
    """One org's authenticated share of a secret: value share ``x`` and MAC share ``m``."""

    x: int
    m: int

    def __repr__(self) -> str:  # shares are secret: never print them
        return "Share(<hidden>)"


@dataclass(frozen=True)
class ShareArithmetic:
    """Local (communication-free) arithmetic on one org's shares."""

    field: PrimeField
    index: int
    alpha_i: int

    def __repr__(self) -> str:  # holds a MAC key share
        return f"ShareArithmetic(org={self.index}, p={self.field.p})"

    def add(self, a: Share, b: Share) -> Share:
        """Share of ``a + b``."""
        p = self.field.p
        return Share((a.x + b.x) % p, (a.m + b.m) % p)

    def sub(self, a: Share, b: Share) -> Share:
        """Share of ``a - b``."""
        p = self.field.p
        return Share((a.x - b.x) % p, (a.m - b.m) % p)

    def scale(self, a: Share, c: int) -> Share:
        """Share of ``c * a`` for a public ``c``."""
        p = self.field.p
        return Share(a.x * c % p, a.m * c % p)

    def add_const(self, a: Share, c: int) -> Share:
        """Share of ``a + c`` for a public ``c``."""
        p = self.field.p
        x = (a.x + c) % p if self.index == 0 else a.x
        return Share(x, (a.m + self.alpha_i * c) % p)

    def linear(self, terms: list[tuple[int, Share]], const: int = 0) -> Share:
        """Share of ``sum c_k * s_k + const``."""
        p = self.field.p
        x = sum(c * s.x for c, s in terms)
        m = sum(c * s.m for c, s in terms)
        return self.add_const(Share(x % p, m % p), const)


def share_secret(field: PrimeField, value: int, alpha: int, n: int) -> list[Share]:
    """Deal ``value`` as ``n`` authenticated shares under the MAC key ``alpha`` (dealer only)."""
    xs = field.random(n - 1)
    xs.append((value - sum(xs)) % field.p)
    ms = field.random(n - 1)
    ms.append((alpha * value - sum(ms)) % field.p)
    return [Share(x, m) for x, m in zip(xs, ms, strict=True)]
