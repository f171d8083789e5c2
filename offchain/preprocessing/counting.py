"""Count exactly what a job consumes, by running it once with nothing real behind it.

MPC programs are data-oblivious: which protocols run, on how many elements, cannot depend
on secret values (anything that steers the computation is opened first). So running the
program once as org 0 of ``n``, on all-zero shares, with a network that echoes and material
that hands out zeros while counting, yields exactly the triples, input masks, edaBits and
truncation pairs a real session will take. The preprocessing service deals that, no more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from offchain.engine.core import CheckpointShare, Engine
from offchain.hazmat.field import Field
from offchain.hazmat.shares import Shared
from offchain.preprocessing.material import Needs
from offchain.preprocessing.widths import mask_bits_for


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
    k: int = 0
    trunc_bits: int = 0

    @property
    def mask_bits(self) -> int:
        return mask_bits_for(self.k, self.field.bits)

    @property
    def trunc_mask_bits(self) -> int:
        return self.field.bits - 2  # the widest mask any truncation accepts

    def _zeros(self, count: int) -> Shared:
        return Shared(self.field.zeros(count), self.field.zeros(count))

    def take_triples(self, count: int) -> tuple[Shared, Shared, Shared]:
        # Only a sacrifice takes raw triples; what counts is what mul() uses (below).
        return self._zeros(count), self._zeros(count), self._zeros(count)

    def take_masks(self, owner: int, count: int) -> tuple[Shared, object]:
        self.taken[f"masks/{owner}"] += count
        return self._zeros(count), self.field.zeros(count) if owner == self.org else None

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        if count and self.k and k != self.k:
            raise ValueError(f"the job compares at {self.k} and {k} bits; one width per session")
        if count:
            self.k = k
        self.taken["edabits"] += count
        return self._zeros(count), self._zeros(count * k)

    def take_truncations(self, count: int, bits: int) -> tuple[Shared, Shared]:
        if count and self.trunc_bits and bits != self.trunc_bits:
            raise ValueError("the job truncates by several widths; one width per session")
        if count:
            self.trunc_bits = bits
        self.taken["truncations"] += count
        return self._zeros(count), self._zeros(count)


class _CountingEngine(Engine):
    """An engine whose multiplications draw (and count) zero triples directly, and whose
    inputs count masks without waiting for another org's broadcast."""

    def take_edabits(self, count: int, k: int) -> tuple[Shared, Shared]:
        return self.material.take_edabits(count, k)

    def check_between_peers(self) -> CheckpointShare:
        share = self._peer_share()  # consumes no preprocessing; an echo always passes
        self.confirm_passed(share)
        return share

    def take_truncations(self, count: int, bits: int) -> tuple[Shared, Shared]:
        return self.material.take_truncations(count, bits)

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
        edabits=t["edabits"],
        k=material.k or 32,
        mask_bits=material.mask_bits if t["edabits"] else 0,
        truncations=t["truncations"],
        trunc_bits=material.trunc_bits or 16,
        trunc_mask_bits=material.trunc_mask_bits if t["truncations"] else 0,
    )
