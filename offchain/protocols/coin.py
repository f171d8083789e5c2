"""A public random value no org chooses: the joint coin.

Each org inputs a uniform field element of its own (:meth:`Engine.input`: the owner broadcasts
``x_i - r_i`` for a mask only it knows), the orgs add the shares and open the sum, MAC-checked.
The sum is uniform as soon as one org's element is. An org that waits for the others (rushing)
sees only masked broadcasts before its own element is fixed by its broadcast, and the opening
is MAC-checked, so it can abort but not steer the value. Unlike a value hashed from on-chain
commitments, nothing can be ground: the last org to act has no choice that changes the sum
without a MAC failure.

Under the trust model (``docs/design.md``) the service knows every mask; a service colluding
with an org could learn the honest elements before that org inputs its own, as it could
learn any input. That collusion is outside what chainmpc protects.
"""

from __future__ import annotations

from offchain.engine.core import Engine
from offchain.sectypes.array import SecretArray, reveal


def joint_random(engine: Engine, label: str) -> tuple[SecretArray, int]:
    """A uniform public field element (as a signed integer) and its sharing.

    Rounds: ``orgs`` (one input each) + 3 (the checked opening). Openings: one element, and
    the MAC check's. Preprocessing: one input mask of every org. Refused, like any reveal,
    while an earlier opening is unchecked.
    """
    f = engine.field
    parts = [
        SecretArray(
            engine, engine.input(f.random(1) if org == engine.index else None, org, 1), f.bits
        )
        for org in range(engine.n)
    ]
    total = sum(parts[1:], parts[0])
    (value,) = reveal(total, label=label)
    return total, value[0]
