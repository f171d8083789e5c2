"""How ``chainmpc peer`` shows its progress: a live panel on a terminal, log lines otherwise,
JSON lines with ``--json-log``.

Every view reads one :class:`~chainmpc.roles.progress.PhaseMeter` (the peer's phase callback),
so the roles never learn which view is in use. Only counters are shown: phase, rounds, bytes,
seconds; never a share, an input or a key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from chainmpc.roles.progress import PhaseMeter, Progress

#: Redraws per second of the live panel: enough to see rounds move, cheap on 2 cores.
REFRESH_PER_SECOND = 4


def live_wanted(out: Console, json_log: bool) -> bool:
    """Whether to draw the live panel: only for a person at a real terminal (a log file, a
    pipe or a dumb terminal gets plain lines; machines asked for JSON)."""
    return not json_log and out.is_terminal and not out.is_dumb_terminal


class Log:
    """Progress as lines: ``[elapsed] org phase: message``, or one JSON object per line
    (``--json-log``) for machines. Phases go through ``meter``, which keeps their figures."""

    def __init__(self, org: str, meter: PhaseMeter, as_json: bool, out: Console) -> None:
        self.org = org
        self.meter = meter
        self.as_json = as_json
        self.out = out

    def say(self, message: str) -> None:
        """One progress line."""
        elapsed = self.meter.progress().elapsed
        phase = self.meter.phase
        if self.as_json:
            doc = {"t": round(elapsed, 3), "org": self.org, "phase": phase, "msg": message}
            print(json.dumps(doc), flush=True)
        else:
            self.out.print(f"[dim]{elapsed:7.2f}s[/] {escape(self.org)} [bold]{escape(phase)}[/]: "
                           f"{escape(message)}")  # fmt: skip

    def enter(self, phase: str) -> None:
        """A new phase begins ("" when the session ends)."""
        self.meter.enter(phase)
        if phase:
            self.say("started")


def figure(n: int) -> str:
    """A count as the panel shows it (thousands separated, so a glance reads the magnitude)."""
    return f"{n:,}"


def render(org: str, session: int | None, now: Progress) -> RenderableType:
    """The live panel: the current phase with the session's counters, then a row per finished
    phase (seconds, rounds, bytes each way)."""
    head = Table.grid(padding=(0, 2))
    for _ in range(4):
        head.add_column()
    where = f"session {session}" if session is not None else "no session yet"
    head.add_row(f"[bold]{escape(org)}[/]", escape(where), f"phase [bold]{escape(now.phase)}[/]",
                 f"{now.phase_elapsed:.1f} s in phase")  # fmt: skip
    f = now.figures
    head.add_row(f"elapsed {now.elapsed:.1f} s", f"rounds {figure(f.rounds)}",
                 f"sent {figure(f.bytes_sent)} B",
                 f"received {figure(f.bytes_received)} B")  # fmt: skip
    if not now.finished:
        return head
    done = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("phase", "seconds", "rounds", "sent B", "received B"):
        done.add_column(name, justify="left" if name == "phase" else "right")
    for p in now.finished:
        done.add_row(escape(p.name), f"{p.seconds:.2f}", figure(p.figures.rounds),
                     figure(p.figures.bytes_sent), figure(p.figures.bytes_received))  # fmt: skip
    return Group(head, done)


class LiveView:
    """The live panel of one org, redrawn from its meter a few times a second."""

    def __init__(self, org: str, meter: PhaseMeter, out: Console) -> None:
        self.org = org
        self.meter = meter
        self.out = out
        self.session: int | None = None  # shown once the org knows it

    def renderable(self) -> RenderableType:
        """The panel as of now."""
        return render(self.org, self.session, self.meter.progress())

    @contextmanager
    def shown(self) -> Iterator[None]:
        """Draw the panel while the block runs; log lines printed on ``out`` meanwhile appear
        above it, and the last frame stays on screen (the session's final figures)."""
        live = Live(get_renderable=self.renderable, console=self.out,
                    refresh_per_second=REFRESH_PER_SECOND, transient=False)  # fmt: skip
        with live:
            yield
