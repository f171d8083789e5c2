"""Count exactly what a job consumes, by running it once with nothing real behind it.

MPC programs are data-oblivious: which protocols run, on how many elements, cannot depend
on secret values (anything that steers the computation is opened first). So running the
program once as org 0 of ``n``, on all-zero shares, with a network that echoes and material
that hands out zeros while counting, yields exactly the triples, input masks and masks of
every kind and width (:mod:`offchain.preprocessing.kinds`) a real session will take, keyed as
the engine asks for them. The preprocessing service deals that, no more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from offchain.engine.core import CheckpointShare, Engine
from offchain.hazmat.field import Field
from offchain.hazmat.shares import Shared
from offchain.preprocessing.kinds import KINDS, Key
from offchain.preprocessing.material import Needs


@dataclass
class _Echo:
    """A network of ``n`` orgs in which everyone sends what org 0 sent."""

    n: int
    index: int = 0

    def exchange(self, payload: bytes) -> list[bytes]:
        return [payload] * self.n


@dataclass
class _CountingMaterial:
    """Zero material, unlimited, that counts what is taken."""

    field: Field
    n: int
    session: int = 0
    org: int = 0
    alpha_i: int = 0
    taken: Counter = field(default_factory=Counter)

    def _zeros(self, count: int) -> Shared:
        return Shared(self.field.zeros(count), self.field.zeros(count))

    def take_triples(self, count: int) -> tuple[Shared, Shared, Shared]:
        # Only a sacrifice takes raw triples; what counts is what mul() uses (below).
        return self._zeros(count), self._zeros(count), self._zeros(count)

    def take_masks(self, owner: int, count: int) -> tuple[Shared, object]:
        self.taken[f"masks/{owner}"] += count
        return self._zeros(count), self.field.zeros(count) if owner == self.org else None

    def take(self, key: Key, count: int) -> tuple[Shared, Shared]:
        self.taken[key] += count
        kind = KINDS[key.kind]
        return self._zeros(count), self._zeros(count * kind.low(key) if kind.as_bits else count)


class _CountingEngine(Engine):
    """An engine whose multiplications draw (and count) zero triples directly, and whose
    inputs count masks without waiting for another org's broadcast."""

    def check_between_peers(self) -> CheckpointShare:
        share = self._peer_share()  # consumes no preprocessing; an echo always passes
        self.confirm_passed(share)
        return share

    def _take_bits(self, key: Key, count: int) -> tuple[Shared, Shared]:
        return self.material.take(key, count)  # no bit check in a dry run

    def input(self, values: object, owner: int, count: int) -> Shared:
        masks, _ = self.material.take_masks(owner, count)
        return masks

    def _take_checked(self, count: int) -> tuple[Shared, Shared, Shared]:
        self.material.taken["triples"] += count
        zero = self.material._zeros(count)
        return zero, zero, zero


def count_needs(program: Callable[[Engine], object], orgs: int, field: Field) -> Needs:
    """What ``program(engine)`` consumes in a session of ``orgs`` orgs over ``field``.

    ``program`` runs as org 0 on zero shares; any input values it passes are ignored.
    """
    material = _CountingMaterial(field, orgs)
    engine = _CountingEngine(material, _Echo(orgs), b"count")  # type: ignore[arg-type]
    program(engine)
    t = material.taken
    return Needs(
        triples=t["triples"],
        masks=tuple(t[f"masks/{o}"] for o in range(orgs)),
        items={key: count for key, count in t.items() if isinstance(key, Key)},
    )
