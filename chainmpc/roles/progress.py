"""What one org has done so far in a session, and what each phase of it cost.

A :class:`PhaseMeter` is told each phase as it starts (it is the ``phase`` callback of
:func:`~chainmpc.roles.org.take_part`) and reads the org's counters from a callable, so the
roles know nothing of displays: a live display, log lines and ``stats.json`` all read the same
meter. Only counters are kept (rounds, bytes, seconds): never a share, an input or a key.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    """An org's counters at one instant, all cumulative from the start of its session."""

    rounds: int = 0
    bytes_sent: int = 0  # on the wire, framing and crypto overhead included
    bytes_received: int = 0
    network_wait_seconds: float = 0.0  # blocked in recv
    chain_seconds: float = 0.0  # own transactions plus waiting for the others' steps

    def __sub__(self, other: Figures) -> Figures:
        return Figures(
            *(getattr(self, f.name) - getattr(other, f.name) for f in dataclasses.fields(self))
        )

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


@dataclass(frozen=True)
class PhaseFigures:
    """What one phase cost: its wall time and the counters' growth during it."""

    name: str
    seconds: float
    figures: Figures

    def as_dict(self) -> dict[str, float | int]:
        """The ``stats.json`` form (seconds rounded to the millisecond)."""
        f = self.figures
        return {
            "seconds": round(self.seconds, 3),
            "rounds": f.rounds,
            "bytes_sent": f.bytes_sent,
            "bytes_received": f.bytes_received,
            "network_wait_seconds": round(f.network_wait_seconds, 3),
            "chain_seconds": round(f.chain_seconds, 3),
        }


@dataclass(frozen=True)
class Progress:
    """A snapshot for a display: the current phase, how long it and the session have run,
    the counters now, and the phases already finished."""

    phase: str
    elapsed: float
    phase_elapsed: float
    figures: Figures
    finished: tuple[PhaseFigures, ...]


class PhaseMeter:
    """Splits an org's counters by session phase.

    ``read`` returns the counters now (it is called at each phase boundary and by displays,
    possibly from another thread, so it must be safe to call at any time). A phase entered
    twice (it does not happen in a session, but a meter must not lose figures) adds up."""

    def __init__(self, read: Callable[[], Figures], clock: Callable[[], float] = time.monotonic):
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self.start = clock()
        self.phase = "start"
        self._since = self.start
        self._base = Figures()
        self._finished: list[PhaseFigures] = []
        self.starts: list[tuple[str, float]] = []  # (phase, seconds from start)

    def enter(self, phase: str) -> None:
        """``phase`` starts ("" when the session ends): close the current one."""
        with self._lock:
            now, figures = self._clock(), self._read()
            if self.phase != "start":
                self._finished.append(
                    PhaseFigures(self.phase, now - self._since, figures - self._base)
                )
            self._since, self._base = now, figures
            self.phase = phase or "done"
            if phase:
                self.starts.append((phase, round(now - self.start, 3)))

    def progress(self) -> Progress:
        """The snapshot a display shows."""
        with self._lock:
            now = self._clock()
            return Progress(self.phase, now - self.start, now - self._since, self._read(),
                            tuple(self._finished))  # fmt: skip

    def per_phase(self) -> dict[str, dict[str, float | int]]:
        """Every finished phase's figures, in order, phases entered twice added up (the
        ``per_phase`` of ``stats.json``)."""
        merged: dict[str, PhaseFigures] = {}
        with self._lock:
            for p in self._finished:
                if p.name in merged:
                    old = merged[p.name]
                    p = PhaseFigures(p.name, old.seconds + p.seconds, old.figures + p.figures)
                merged[p.name] = p
        return {name: p.as_dict() for name, p in merged.items()}
