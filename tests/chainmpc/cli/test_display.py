"""``chainmpc peer``'s progress views, driven by a phase meter over counters the test moves:
the panel must show the figures the meter holds, the per-phase figures must add up to the
totals, and a non-terminal must get plain lines."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from rich.console import Console

from chainmpc.cli.display import LiveView, Log, figure, live_wanted, render
from chainmpc.roles.progress import Figures, PhaseMeter

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Counters:
    """Stands in for a peer's transport and chain counters, and for the clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.figures = Figures()

    def clock(self) -> float:
        return self.now

    def read(self) -> Figures:
        return self.figures

    def advance(self, seconds: float, **more: float) -> None:
        """Time passes and the counters grow by ``more``."""
        self.now += seconds
        self.figures = self.figures + Figures(**more)


def terminal(width: int = 120) -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, force_terminal=True, width=width, color_system="truecolor"), buf


def text_of(buf: StringIO) -> str:
    return ANSI.sub("", buf.getvalue())


def session(c: Counters) -> PhaseMeter:
    """A meter through three phases with distinct traffic in each, ending in "compute"."""
    meter = PhaseMeter(c.read, c.clock)
    c.advance(0.5)  # before the first phase: not part of any phase
    meter.enter("accept parameters")
    c.advance(1.25, chain_seconds=1.0)
    meter.enter("sacrifice check")
    c.advance(2.0, rounds=3, bytes_sent=1200, bytes_received=1100, network_wait_seconds=0.5)
    meter.enter("compute")
    c.advance(4.0, rounds=40, bytes_sent=1_234_567, bytes_received=987_654)
    return meter


def test_the_panel_shows_the_meters_phase_rounds_bytes_and_elapsed() -> None:
    c = Counters()
    meter = session(c)
    out, buf = terminal()
    out.print(render("bank-a", 7, meter.progress()))
    shown = text_of(buf)
    now = meter.progress()
    assert now.figures.rounds == 43
    assert "bank-a" in shown and "session 7" in shown
    assert "phase compute" in shown and "4.0 s in phase" in shown
    assert "elapsed 7.8 s" in shown  # 0.5 + 1.25 + 2 + 4
    assert f"rounds {figure(43)}" in shown
    assert f"sent {figure(1_235_767)} B" in shown and f"received {figure(988_754)} B" in shown
    # The finished phases, one row each with their own figures.
    rows = {line.split()[0]: line.split() for line in shown.splitlines() if line.strip()}
    assert rows["sacrifice"][2:] == ["2.00", "3", "1,200", "1,100"]
    assert "compute" not in {p.name for p in now.finished}  # still running


def test_the_live_view_redraws_as_the_counters_move_and_keeps_the_last_frame() -> None:
    c = Counters()
    meter = PhaseMeter(c.read, c.clock)
    out, buf = terminal()
    view = LiveView("bank-b", meter, out)
    log = Log("bank-b", meter, as_json=False, out=out)
    with view.shown():
        view.session = 3
        log.enter("compute")
        c.advance(1.0, rounds=5, bytes_sent=500, bytes_received=400)
        out.print("a log line above the panel")
        c.advance(1.0, rounds=7, bytes_sent=700, bytes_received=600)
    shown = text_of(buf)
    assert "a log line above the panel" in shown
    assert "compute: started" in shown
    # The panel was drawn on the terminal (cursor movement), and its last frame, left on
    # screen, has the final counters.
    assert "\x1b[" in buf.getvalue()
    last = shown[[m.start() for m in re.finditer(r"bank-b +session 3", shown)][-1] :]
    assert "rounds 12" in last and "sent 1,200 B" in last and "received 1,000 B" in last


def test_per_phase_figures_add_up_to_the_totals() -> None:
    c = Counters()
    meter = session(c)
    meter.enter("")  # the session ends
    per = meter.per_phase()
    assert list(per) == ["accept parameters", "sacrifice check", "compute"]
    total = c.read()
    for key in ("rounds", "bytes_sent", "bytes_received"):
        assert sum(p[key] for p in per.values()) == getattr(total, key)
    for key in ("network_wait_seconds", "chain_seconds"):
        assert sum(p[key] for p in per.values()) == pytest.approx(getattr(total, key))
    assert sum(p["seconds"] for p in per.values()) == pytest.approx(7.25)  # not the 0.5 before
    assert per["compute"] == {"seconds": 4.0, "rounds": 40, "bytes_sent": 1_234_567,
                              "bytes_received": 987_654, "network_wait_seconds": 0.0,
                              "chain_seconds": 0.0}  # fmt: skip
    assert meter.phase == "done"
    assert meter.starts == [("accept parameters", 0.5), ("sacrifice check", 1.75),
                            ("compute", 3.75)]  # fmt: skip


def test_a_phase_entered_twice_keeps_both_parts() -> None:
    c = Counters()
    meter = PhaseMeter(c.read, c.clock)
    for phase, rounds in (("MAC check", 1), ("output", 2), ("MAC check", 4)):
        meter.enter(phase)
        c.advance(1.0, rounds=rounds)
    meter.enter("")
    assert meter.per_phase()["MAC check"]["rounds"] == 5
    assert meter.per_phase()["MAC check"]["seconds"] == 2.0


def test_only_a_real_terminal_gets_the_panel() -> None:
    assert live_wanted(terminal()[0], json_log=False)
    assert not live_wanted(terminal()[0], json_log=True)
    assert not live_wanted(Console(file=StringIO()), json_log=False)  # a pipe or a file
    dumb = Console(file=StringIO(), force_terminal=True, _environ={"TERM": "dumb"})
    assert not live_wanted(dumb, json_log=False)


def test_log_lines_are_plain_off_a_terminal_and_json_with_json_log(capsys) -> None:
    c = Counters()
    meter = PhaseMeter(c.read, c.clock)
    buf = StringIO()
    log = Log("bank-[a]", meter, as_json=False, out=Console(file=buf, width=200))
    c.advance(1.5)
    log.enter("input")
    log.say("waiting for [every org] ...")
    lines = buf.getvalue().splitlines()
    assert lines == ["   1.50s bank-[a] input: started",
                     "   1.50s bank-[a] input: waiting for [every org] ..."]  # fmt: skip
    assert "\x1b" not in buf.getvalue()
    as_json = Log("bank-a", meter, as_json=True, out=Console(file=StringIO()))
    as_json.say("hello")
    assert json.loads(capsys.readouterr().out) == {"t": 1.5, "org": "bank-a", "phase": "input",
                                                   "msg": "hello"}  # fmt: skip
