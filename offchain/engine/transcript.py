"""The running transcript digest of everything an org saw opened.

Every value opened or broadcast in a session is folded into a hash chain. At each checkpoint
every org posts its digest on-chain; the contract aborts unless all agree, so no org can have
shown different values to different orgs. The MAC check's random coefficients are derived from
the digest, i.e. only after every value they test is fixed (docs/protocols.md, "MAC check").
"""

from __future__ import annotations

import hashlib


class Transcript:
    """A hash chain over labelled protocol messages."""

    def __init__(self, session_tag: bytes) -> None:
        self._state = hashlib.sha256(b"chainmpc/transcript/v1" + session_tag).digest()
        self.messages = 0

    def absorb(self, label: str, data: bytes) -> None:
        """Fold one labelled message into the chain."""
        h = hashlib.sha256(self._state)
        h.update(len(label).to_bytes(2, "big") + label.encode())
        h.update(len(data).to_bytes(8, "big") + data)
        self._state = h.digest()
        self.messages += 1

    def digest(self) -> bytes:
        """The current 32-byte digest."""
        return self._state


def challenge(p: int, *parts: bytes, count: int) -> list[int]:
    """``count`` field elements derived from ``parts`` by hashing (negligible modular bias).

    Used for every public random challenge: MAC-check coefficients and the sacrifice ``t``.
    """
    seed = hashlib.sha256(b"".join(len(x).to_bytes(4, "big") + x for x in parts)).digest()
    return [
        int.from_bytes(hashlib.sha512(seed + j.to_bytes(8, "big")).digest(), "big") % p
        for j in range(count)
    ]
