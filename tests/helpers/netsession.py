"""One honest session as separate OS processes, each role where a :class:`Placement` puts it:
a ganache node, ``preprocess serve``, ``session open`` and one ``chainmpc peer`` per org.

Shared by ``tests/chainmpc/roles/test_netns.py`` and ``scripts/bench_network.py``. The
consortium is set up as a real one would be (key files, ``consortium.toml``, ``deploy
--consortium --fund`` through the CLI); the admin is the node's development account, written
to a key file so that ``session open`` can use it. Each process logs to its own file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nacl.public import PrivateKey
from web3 import Web3

from chainmpc.exceptions import ChainmpcError
from chainmpc.jobs.registry import load_job
from chainmpc.keys import KeyPair, new_keys
from offchain.transport.mesh import free_ports
from onchain.connection import connect

ROOT = Path(__file__).resolve().parents[2]
GANACHE = ROOT / "node_modules" / ".bin" / "ganache"
#: How long one CLI step (deploy, open) or the service's start may take on a loaded machine.
STEP = 120.0


class SessionFailed(ChainmpcError):
    """A role's process failed or did not finish; the message names it and its last lines."""


@dataclass(frozen=True)
class Placement:
    """Where each role runs: the host ganache and the service listen on, and per org its
    endpoint host and the command prefix that puts its process there."""

    name: str
    host: str
    org_hosts: tuple[str, ...]
    prefixes: tuple[tuple[str, ...], ...]

    @staticmethod
    def loopback(orgs: int) -> Placement:
        """Every role on 127.0.0.1 in the root namespace."""
        return Placement("loopback", "127.0.0.1", ("127.0.0.1",) * orgs, ((),) * orgs)


@contextmanager
def ganache(host: str) -> Iterator[str]:
    """A ganache node (deterministic wallet, chain id 1337) on ``host``; its URL. As in
    tests/conftest.py, but on any host: the namespaces cannot reach the root's 127.0.0.1."""
    if shutil.which("node") is None or not GANACHE.exists():
        raise SessionFailed(f"{GANACHE}: ganache is not installed (run `npm ci`)")
    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [str(GANACHE), "--wallet.deterministic", "--chain.chainId", "1337", "--server.host",
         host, "--server.port", str(port), "--logging.quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://{host}:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                assert proc.stderr is not None
                raise SessionFailed(f"ganache exited: {proc.stderr.read().decode()[-500:]}")
            try:
                if Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected():
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > end:
                raise SessionFailed(f"ganache on {host}:{port} did not start within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Proc:
    """One ``[prefix] python -m chainmpc ...`` process, stdout and stderr in one log file."""

    def __init__(self, name: str, prefix: tuple[str, ...], args: list[str],
                 env: dict[str, str], log: Path) -> None:  # fmt: skip
        self.name = name
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen([*prefix, sys.executable, "-m", "chainmpc", *args],
                                      stdout=self._out, stderr=subprocess.STDOUT, env=env,
                                      cwd=ROOT)  # fmt: skip

    def text(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        """Its last lines, for a failure message."""
        return "\n".join(self.text().splitlines()[-8:])

    def wait_for(self, pattern: str, timeout: float) -> None:
        """Until its output matches ``pattern``; :class:`SessionFailed` if it exits first."""
        end = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if self.popen.poll() is not None or time.monotonic() > end:
                raise SessionFailed(f"{self.name}: no {pattern!r}:\n{self.tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Interrupt it (the service stops on SIGINT), kill it if it will not stop."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()


@dataclass
class SessionRun:
    """What one session left: each org's exit code, result.json and stats.json."""

    session: int
    codes: dict[str, int]
    results: dict[str, dict[str, Any]]
    stats: dict[str, dict[str, Any]]
    logs: dict[str, str]
    seconds: float  # from starting the peers to the last one's exit
    extra: dict[str, Any] = field(default_factory=dict)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "chainmpc", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=STEP)  # fmt: skip
    if done.returncode != 0:
        raise SessionFailed(f"chainmpc {args[0]}: exit {done.returncode}: {done.stderr[-800:]}")
    return done.stdout


def run_session(root: Path, rpc: str, job_file: Path, where: Placement,
                timeout: float = 60.0) -> SessionRun:  # fmt: skip
    """Deploy a consortium for ``job_file``'s orgs on ``rpc``, start the service and open a
    session, run one peer per org as ``where`` says, and collect what each wrote.

    The peers are given ``--timeout`` ``timeout`` seconds per step; a peer still running after
    ten times that is killed and reported with exit code -9."""
    job = load_job(job_file)
    orgs = list(job.spec.orgs)
    if len(where.org_hosts) != len(orgs):
        raise SessionFailed(f"{job_file}: {len(orgs)} orgs, placement has {len(where.org_hosts)}")
    # A throwaway passphrase for throwaway keys, handed to the children in the environment.
    env = {**os.environ, "CHAINMPC_PASSPHRASE": secrets.token_urlsafe(24)}
    env.pop("CHAINMPC_FUNDER_KEY", None)
    keys_dir, logs = root / "keys", root / "logs"
    keys_dir.mkdir(mode=0o700, parents=True)
    logs.mkdir()
    keys: dict[str, Path] = {}
    pairs: dict[str, KeyPair] = {}
    for role in ("service", *orgs):
        keys[role] = keys_dir / f"{role}.json"
        pairs[role] = new_keys(keys[role], env["CHAINMPC_PASSPHRASE"], strength="interactive")
    # The admin is the dev account that funds everything; its key file is for `session open`.
    keys["admin"] = keys_dir / "admin.json"
    new_keys(keys["admin"], env["CHAINMPC_PASSPHRASE"], strength="interactive",
             keys=KeyPair(connect(rpc).funder, PrivateKey.generate()))  # fmt: skip
    ports = free_ports(len(orgs) + 1)
    plan = [f'[service]\naddress = "{pairs["service"].address}"\nname = "dealer"\n'
            f'endpoint = "{where.host}:{ports[-1]}"\n']  # fmt: skip
    for org, host, port in zip(orgs, where.org_hosts, ports, strict=False):
        pair = pairs[org]
        plan.append(f'[orgs.{org}]\naddress = "{pair.address}"\n'
                    f'encryption_key = "{pair.encryption_key.hex()}"\n'
                    f'endpoint = "{host}:{port}"\n')  # fmt: skip
    (root / "consortium.toml").write_text("\n".join(plan))
    deployment = root / "deployment.json"
    _cli(env, "deploy", "--rpc", rpc, "--consortium", str(root / "consortium.toml"),
         "--key", str(keys["admin"]), "--out", str(deployment), "--fund", "10")  # fmt: skip
    procs: list[Proc] = []
    try:
        serve = Proc("service", (), ["preprocess", "serve", "--deployment", str(deployment),
                                     "--key", str(keys["service"]), "--job", str(job_file),
                                     "--outbox", str(root / "outbox")], env,
                     logs / "service.log")  # fmt: skip
        procs.append(serve)
        serve.wait_for("serving batches at", STEP)
        said = _cli(env, "session", "open", "--deployment", str(deployment),
                    "--key", str(keys["admin"]), "--job", str(job_file))  # fmt: skip
        match = re.search(r"opened session (\d+)", said)
        if not match:
            raise SessionFailed(f"session open said: {said!r}")
        sid = int(match[1])
        start = time.monotonic()
        peers = {}
        for org, prefix in zip(orgs, where.prefixes, strict=True):
            peers[org] = Proc(org, prefix, ["peer", "--deployment", str(deployment),
                                            "--key", str(keys[org]), "--job", str(job_file),
                                            "--session", str(sid), "--out", str(root / org),
                                            "--timeout", str(timeout)], env,
                              logs / f"{org}.log")  # fmt: skip
            procs.append(peers[org])
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
        for proc in reversed(procs):
            proc.stop()

    def read(org: str, name: str) -> dict[str, Any]:
        path = root / org / name
        return json.loads(path.read_text()) if path.exists() else {}

    return SessionRun(
        sid, codes, {o: read(o, "result.json") for o in orgs},
        {o: read(o, "stats.json") for o in orgs}, {o: peers[o].text() for o in orgs}, seconds,
    )  # fmt: skip
