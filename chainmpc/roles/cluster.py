"""``chainmpc run``: one session with the service and every org as its own OS process.

The launcher plays the admin (deploy, register, open), then starts ``chainmpc preprocess
serve`` and one ``chainmpc peer`` per org, exactly as each would run on its own machine: each
reads ``deployment.json`` and its own key file, posts its own transactions and talks to the
others over TCP; the service delivers each org's sealed batch over HTTP. The launcher only
relays their progress and, at the end, audits the session from the chain.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from chainmpc.jobs.base import Job
from chainmpc.keys import KeyPair, new_keys, write_secret_file
from chainmpc.roles.deployment import DeploymentRecord
from chainmpc.roles.launcher import STEP_TIMEOUT, Roles, Run
from offchain.transport.mesh import free_ports
from onchain.connection import Chain

#: The longest a whole session may take before the launcher stops its processes.
SESSION_LIMIT = 1800.0
#: How long the service gets to stop after SIGINT before it is killed.
STOP_GRACE = 10.0


class ProcessRun(Run):
    """A :class:`~chainmpc.roles.launcher.Run` whose orgs and service are OS processes."""

    def __init__(
        self,
        chain: Chain,
        job: Job,
        job_file: Path,
        inputs: list[Any],
        workdir: Path,
        progress: Callable[[str], None],
        command: tuple[str, ...] = ("-m", "chainmpc"),
    ) -> None:
        super().__init__(chain, job, inputs, Roles(), workdir, progress)
        self.job_file = job_file
        self.command = command  # how to start `chainmpc` (tests wrap it to inject faults)
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.output: dict[str, list[str]] = {}  # each process's lines, as relayed
        self.relays: list[threading.Thread] = []

    def setup(self) -> None:
        """As :meth:`Run.setup`, remembering where the deployment starts."""
        self.deployed_at = self.w3.eth.block_number
        super().setup()

    def session_phases(self) -> None:
        """Write the deployment file and every role's key file, start the service and one
        peer per org, relay their output, wait for the peers, then stop the service."""
        assert self.chain.rpc is not None, "processes need a node they can reach"
        passphrase = secrets.token_urlsafe(24)
        keys = self.workdir / "keys"
        keys.mkdir(mode=0o700, exist_ok=True)
        service_key = keys / "service.json"
        new_keys(service_key, passphrase, strength="interactive",
                 keys=KeyPair(self.service.account, PrivateKey.generate()))  # fmt: skip
        record = DeploymentRecord(
            self.w3.eth.chain_id, self.consortium.address, self.sessions.address,
            self.deployed_at, f"127.0.0.1:{free_ports(1)[0]}", self.chain.rpc,
        )  # fmt: skip
        deployment = self.workdir / "deployment.json"
        record.write(deployment)
        # Throwaway keys, but a killed run must still be recoverable: the passphrase is kept
        # beside them (0600) and the command that closes the session is printed now.
        secret = keys / "passphrase"
        write_secret_file(secret, passphrase.encode() + b"\n")
        first = keys / f"{self.orgs[0].name}.json"
        self.progress(
            f"if this run is killed, close session {self.session} with: chainmpc session abort "
            f"--deployment {deployment} --key {first} --passphrase-file {secret} "
            f"--session {self.session}"
        )
        env = {**os.environ, "CHAINMPC_PASSPHRASE": passphrase}
        self._start("service", "service: ", ["preprocess", "serve", "--deployment", str(deployment),
                                "--key", str(service_key), "--job", str(self.job_file),
                                "--outbox", str(self.workdir / "outbox")], env)  # fmt: skip
        for o in self.orgs:
            key = keys / f"{o.name}.json"
            new_keys(key, passphrase, strength="interactive", keys=KeyPair(o.account, o.box_key))
            self._start(o.name, "", ["peer", "--deployment", str(deployment), "--key", str(key),
                                 "--job", str(self.job_file), "--session", str(self.session),
                                 "--out", str(self.workdir / "orgs" / o.name),
                                 "--timeout", str(STEP_TIMEOUT)], env)  # fmt: skip
        try:
            self._wait_for_peers()
        finally:
            self._stop_all()

    def _start(self, name: str, prefix: str, args: list[str], env: dict[str, str]) -> None:
        """Start ``chainmpc ARGS`` as ``name``, relaying its lines (after ``prefix``)."""
        proc = subprocess.Popen(
            [sys.executable, *self.command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.processes[name] = proc
        lines = self.output[name] = []

        def relay() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line.rstrip())
                self.progress(f"  {prefix}{lines[-1]}")
            proc.stdout.close()

        thread = threading.Thread(target=relay, name=f"relay-{name}", daemon=True)
        thread.start()
        self.relays.append(thread)

    def _wait_for_peers(self) -> None:
        end = time.monotonic() + SESSION_LIMIT
        for o in self.orgs:
            proc = self.processes[o.name]
            try:
                code = proc.wait(timeout=max(1.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.errors.append(f"{o.name}: still running after {SESSION_LIMIT:.0f} s; stopped")
                continue
            if code != 0:
                said = [ln for ln in self.output[o.name] if ln.strip()] or [f"exit {code}"]
                last = said[-1]
                self.errors.append(f"{o.name}: {last.removeprefix('error: ')}")

    def _stop_all(self) -> None:
        """Interrupt what still runs (the service always does), then kill what will not stop."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self.relays:
            thread.join(timeout=STOP_GRACE)
