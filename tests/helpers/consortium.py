"""The multi-machine walkthrough as OS processes on one host: the one orchestrator of the
process tests (tests/chainmpc/roles/test_processes.py, test_netns.py) and of
scripts/bench_network.py.

:func:`build_consortium` does what a real consortium does once, through the CLI only: ``keys
new`` for the admin, the service and each org, ``consortium.toml`` with free ports on the hosts
a :class:`Placement` gives, funding the fresh accounts out of band (from the node's dev
account), ``deploy --consortium``. A :class:`Consortium` then starts ``preprocess serve``,
``session open`` and one ``peer`` per org as separate ``python -m chainmpc`` processes (each
behind its placement's command prefix, e.g. ``ip netns exec``), each logging to its own file so
a test can time a fault on a log line and read what the user saw afterwards;
:meth:`Consortium.run_session` is one honest session from start to end.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from chainmpc.jobs.spec import load_spec
from offchain.transport.mesh import free_ports
from onchain.clients import ConsortiumClient, SessionClient, SessionInfo
from onchain.connection import connect
from onchain.transactions import Sender, TxLog

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "examples" / "sum-product.toml"
ORGS = ("bank-a", "bank-b", "bank-c")
PASSPHRASE = "correct horse battery staple, for throwaway test keys"
FUNDING = 10 * 10**18
#: Rows and columns of the pseudo-terminal a ``tty`` process draws on.
TTY_SIZE = (40, 120)


def sum_product_answer(job: Path = JOB) -> dict[str, int]:
    """The plaintext sum and product of a sum-product job's CSVs (``DIR/*.csv`` next to it),
    read independently of the package: what every org's result.json must say."""
    values = []
    for path in sorted((job.parent / job.stem).glob("*.csv")):
        with path.open() as f:
            values += [int(row["value"]) for row in csv.DictReader(f)]
    product = 1
    for v in values:
        product *= v
    return {"sum": sum(values), "product": product}


#: How long a CLI step (keys, deploy, open, status, abort) may take on a loaded 2-core machine.
STEP = 90.0


@dataclass(frozen=True)
class Placement:
    """Where each role runs: the host the service listens on, and per org its endpoint host
    and the command prefix that puts its process there."""

    name: str
    host: str
    org_hosts: tuple[str, ...]
    prefixes: tuple[tuple[str, ...], ...]

    @staticmethod
    def loopback(orgs: int) -> Placement:
        """Every role on 127.0.0.1 in the root namespace."""
        return Placement("loopback", "127.0.0.1", ("127.0.0.1",) * orgs, ((),) * orgs)


@dataclass
class SessionRun:
    """What one session left: each org's exit code, result.json, stats.json and log."""

    session: int
    codes: dict[str, int]
    results: dict[str, dict[str, Any]]
    stats: dict[str, dict[str, Any]]
    logs: dict[str, str]
    seconds: float  # from starting the peers to the last one's exit
    extra: dict[str, Any] = field(default_factory=dict)


class Proc:
    """One ``[prefix] python -m chainmpc ...`` process, its stdout and stderr in one log file;
    with ``tty``, on a pseudo-terminal of ``TTY_SIZE`` (what a user's terminal is), copied to
    the log file as it comes."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log: Path,
        prefix: Iterable[str] = (), tty: bool = False,
    ) -> None:  # fmt: skip
        self.name = name
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self._copier: threading.Thread | None = None
        out: Any = self._out
        if tty:
            master, out = pty.openpty()
            fcntl.ioctl(out, termios.TIOCSWINSZ, struct.pack("HHHH", *TTY_SIZE, 0, 0))
            env = {**env, "TERM": "xterm-256color"}
        self.popen = subprocess.Popen(
            [*prefix, sys.executable, "-m", "chainmpc", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        if tty:
            os.close(out)  # the child holds the terminal now; EOF comes when it exits
            self._copier = threading.Thread(target=self._copy, args=(master,), daemon=True)
            self._copier.start()

    def _copy(self, master: int) -> None:
        """Drain the terminal into the log (a full terminal would block the child)."""
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every end of the terminal is closed
                    break
                if not chunk:
                    break
                self._out.write(chunk)
                self._out.flush()
        finally:
            os.close(master)

    @property
    def pid(self) -> int:
        """The OS process id."""
        return self.popen.pid

    def text(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        """Its last lines, for a failure message."""
        return "\n".join(self.text().splitlines()[-8:])

    def events(self) -> list[dict[str, Any]]:
        """Its ``--json-log`` lines so far."""
        out = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # a line still being written
        return out

    def wait_for(self, pattern: str, timeout: float) -> None:
        """Until its output matches ``pattern`` (a regex); fail the test if it exits or the
        time runs out first."""
        end = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited before {pattern!r}:\n{self.text()}")
            if time.monotonic() > end:
                raise AssertionError(f"{self.name}: no {pattern!r} in {timeout} s:\n{self.text()}")
            time.sleep(0.05)

    def wait_for_phase(self, phase: str, timeout: float = 60.0) -> None:
        """Until its JSON log says ``phase`` started."""
        self.wait_for(rf'"phase": "{re.escape(phase)}", "msg": "started"', timeout)

    def wait(self, timeout: float) -> int:
        """Its exit code, waiting at most ``timeout`` seconds (fails the test otherwise)."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout} s") from None

    def error(self) -> str:
        """The one ``error:`` line it printed (the CLI prints exactly one on failure)."""
        lines = [ln for ln in self.text().splitlines() if ln.startswith("error:")]
        assert len(lines) == 1, f"{self.name}: expected one error line:\n{self.text()}"
        return lines[0]

    def signal(self, sig: int) -> None:
        """Send ``sig`` to this process (only this one: it is ours)."""
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def stop(self) -> None:
        """Kill it if it still runs (a stopped process is resumed so it can die)."""
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
            self.popen.kill()
        self.popen.wait(timeout=30)
        if self._copier is not None:
            self._copier.join(timeout=10)
        self._out.close()


@dataclass
class Consortium:
    """A deployed consortium whose roles are key files and CLI processes in ``root``."""

    root: Path
    rpc: str
    job: Path
    orgs: tuple[str, ...]
    keys: dict[str, Path]  # role name (admin, service, each org) -> key file
    endpoints: dict[str, str]  # org name -> host:port
    deployment: Path
    consortium: str
    manager: str
    env: dict[str, str]
    sessions: SessionClient
    where: Placement
    procs: list[Proc] = field(default_factory=list)
    _runs: int = 0

    def cli(self, *args: str, timeout: float = STEP) -> subprocess.CompletedProcess[str]:
        """Run one ``chainmpc`` command to its end; its exit code and output."""
        return subprocess.run(
            [sys.executable, "-m", "chainmpc", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=ROOT,
            timeout=timeout,
        )

    def start(self, name: str, *args: str, prefix: Iterable[str] = (), tty: bool = False) -> Proc:
        """Start ``[prefix] chainmpc ARGS`` as ``name`` in the background (``tty``: on a
        terminal)."""
        self._runs += 1
        log = self.root / "logs" / f"{self._runs:03d}-{name}.log"
        proc = Proc(name, list(args), self.env, log, prefix, tty)
        self.procs.append(proc)
        return proc

    def outbox(self) -> Path:
        """The service's outbox directory."""
        return self.root / "outbox"

    def out(self, org: str) -> Path:
        """The org's --out directory (result.json, and its batch cache with the ledger)."""
        return self.root / "orgs" / org

    def serve(self, wait: bool = False) -> Proc:
        """Start ``preprocess serve`` (the peers wait for it; ``wait``: until it listens)."""
        proc = self.start(
            "service", "preprocess", "serve", "--deployment", str(self.deployment),
            "--key", str(self.keys["service"]), "--job", str(self.job),
            "--outbox", str(self.outbox()),
        )  # fmt: skip
        if wait:
            proc.wait_for("serving batches at", STEP)
        return proc

    def open_session(self, key: str = "admin") -> int:
        """``session open`` of the consortium's job; the new session's id."""
        done = self.cli("session", "open", "--deployment", str(self.deployment),
                        "--key", str(self.keys[key]), "--job", str(self.job))  # fmt: skip
        assert done.returncode == 0, done.stderr
        match = re.search(r"opened session (\d+)", done.stdout)
        assert match, done.stdout
        return int(match[1])

    def peer(
        self, org: str, session: int, *, key: Path | None = None, timeout: float = 30,
        json_log: bool = True, tty: bool = False,
    ) -> Proc:  # fmt: skip
        """Start ``chainmpc peer`` for ``org`` on ``session`` with JSON logs (or, without
        ``json_log``, what a user sees: on a terminal with ``tty``). The default step timeout
        leaves room for a machine loaded by other work; the fault cases pass 10 s."""
        return self.start(
            org, "peer", "--deployment", str(self.deployment), "--key", str(key or self.keys[org]),
            "--job", str(self.job), "--session", str(session), "--out", str(self.out(org)),
            "--timeout", str(timeout), *(["--json-log"] if json_log else []),
            prefix=self.where.prefixes[self.orgs.index(org)], tty=tty,
        )  # fmt: skip

    def peers(
        self, session: int, orgs: Iterable[str] | None = None, timeout: float = 30
    ) -> dict[str, Proc]:
        """One ``peer`` process per org (every org by default)."""
        return {org: self.peer(org, session, timeout=timeout) for org in orgs or self.orgs}

    def run_session(self, timeout: float = 60.0) -> SessionRun:
        """One honest session: ``preprocess serve``, ``session open``, a peer per org (each
        given ``--timeout`` ``timeout`` per step, killed and reported with exit code -9 if it
        still runs after ten times that); what each org wrote."""
        for org in self.orgs:
            for name in ("result.json", "stats.json"):
                (self.out(org) / name).unlink(missing_ok=True)
        try:
            self.serve(wait=True)
            sid = self.open_session()
            start = time.monotonic()
            peers = self.peers(sid, timeout=timeout)
            end = start + 10 * timeout
            codes = {}
            for org, proc in peers.items():
                try:
                    codes[org] = proc.popen.wait(timeout=max(1.0, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    codes[org] = proc.popen.wait()
            seconds = time.monotonic() - start
        finally:
            self.stop_all()

        def read(org: str, name: str) -> dict[str, Any]:
            path = self.out(org) / name
            return json.loads(path.read_text()) if path.exists() else {}

        return SessionRun(
            sid, codes, {o: read(o, "result.json") for o in self.orgs},
            {o: read(o, "stats.json") for o in self.orgs}, {o: peers[o].text() for o in self.orgs},
            seconds,
        )  # fmt: skip

    def status(self, session: int) -> str:
        """``session status`` output (it needs no key)."""
        done = self.cli("session", "status", "--deployment", str(self.deployment),
                        "--session", str(session))  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def address(self, org: str) -> str:
        """The org's registered account."""
        return ConsortiumClient(self.sessions.w3, self.consortium).orgs()[org]

    def registered_key(self, org: str) -> bytes:
        """The org's registered X25519 public key."""
        registry = ConsortiumClient(self.sessions.w3, self.consortium)
        return bytes(registry.org_info(self.address(org))[1])

    def info(self, session: int) -> SessionInfo:
        """The session as on-chain now."""
        return self.sessions.session(session)

    def until(self, session: int, ready: Any, what: str, timeout: float = 60.0) -> SessionInfo:
        """Poll the chain until ``ready(info)``."""
        end = time.monotonic() + timeout
        while True:
            info = self.info(session)
            if ready(info):
                return info
            if time.monotonic() > end:
                raise AssertionError(f"session {session}: not {what} after {timeout} s: {info}")
            time.sleep(0.05)

    def stop_all(self) -> None:
        """Kill every process this consortium started that still runs."""
        for proc in self.procs:
            proc.stop()
        self.procs.clear()


def build_consortium(
    root: Path, rpc: str, job: Path = JOB, where: Placement | None = None
) -> Consortium:
    """Keys, ``consortium.toml``, funding and ``deploy --consortium``, all as a real
    consortium would, on the node at ``rpc``, for the orgs of ``job`` placed as ``where``
    says (all on loopback by default)."""
    orgs = load_spec(job).orgs
    where = where or Placement.loopback(len(orgs))
    if len(where.org_hosts) != len(orgs):
        raise ValueError(f"{job}: {len(orgs)} orgs, placement has {len(where.org_hosts)}")
    env = {**os.environ, "CHAINMPC_PASSPHRASE": PASSPHRASE}
    env.pop("CHAINMPC_FUNDER_KEY", None)
    (root / "keys").mkdir(mode=0o700, parents=True)
    (root / "logs").mkdir()
    keys: dict[str, Path] = {}
    public: dict[str, tuple[str, str]] = {}
    for role in ("admin", "service", *orgs):
        keys[role] = root / "keys" / f"{role}.json"
        done = subprocess.run(
            [sys.executable, "-m", "chainmpc", "keys", "new", "--out", str(keys[role]),
             "--strength", "interactive"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=STEP,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        address = re.search(r"address: (0x[0-9a-fA-F]{40})", done.stdout)
        box = re.search(r"encryption key: ([0-9a-f]{64})", done.stdout)
        assert address and box, done.stdout
        public[role] = (address[1], box[1])
    ports = free_ports(len(orgs) + 1)
    hosts = zip(orgs, where.org_hosts, ports, strict=False)
    endpoints = {org: f"{host}:{port}" for org, host, port in hosts}
    plan = [f'[service]\naddress = "{public["service"][0]}"\nname = "dealer"\n'
            f'endpoint = "{where.host}:{ports[-1]}"\n']  # fmt: skip
    for org in orgs:
        address, box = public[org]
        plan.append(f'[orgs.{org}]\naddress = "{address}"\nencryption_key = "{box}"\n'
                    f'endpoint = "{endpoints[org]}"\n')  # fmt: skip
    (root / "consortium.toml").write_text("\n".join(plan))
    # Out of band, as a real consortium funds its accounts: from the node's dev account.
    chain = connect(rpc)
    funder = Sender(chain.w3, chain.funder, TxLog(), "funder")
    for address, _ in public.values():
        funder.pay(address, FUNDING)
    deployment = root / "deployment.json"
    done = subprocess.run(
        [sys.executable, "-m", "chainmpc", "deploy", "--rpc", rpc, "--consortium",
         str(root / "consortium.toml"), "--key", str(keys["admin"]), "--out", str(deployment)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=STEP,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(deployment.read_text())
    return Consortium(root, rpc, job, orgs, keys, endpoints, deployment, doc["consortium"],
                      doc["manager"], env, SessionClient(chain.w3, doc["manager"]),
                      where)  # fmt: skip
