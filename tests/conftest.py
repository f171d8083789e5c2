"""Shared fixtures: each field the engine runs over, and a real ganache node, started on a free
127.0.0.1 port and stopped after."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from offchain.hazmat.field import Field
from offchain.transport.mesh import free_ports
from tests.helpers.harness import FIELDS

ROOT = Path(__file__).resolve().parents[1]
GANACHE = ROOT / "node_modules" / ".bin" / "ganache"


@pytest.fixture(params=sorted(FIELDS))
def field(request: pytest.FixtureRequest) -> Field:
    """Each supported field in turn: BN254's scalar field and 2^127 - 1."""
    return FIELDS[request.param]


@pytest.fixture(scope="session")
def ganache_url() -> Iterator[str]:
    """URL of a ganache 7.9 node (deterministic wallet, chain id 1337) for this test session."""
    if shutil.which("node") is None or not GANACHE.exists():
        pytest.fail("ganache is not installed: run `npm ci` in the repository root")
    (port,) = free_ports(1)
    # Started from its own binary (not npx) so that ending this PID ends the node.
    proc = subprocess.Popen(
        [
            str(GANACHE),
            "--wallet.deterministic",
            "--chain.chainId",
            "1337",
            "--server.host",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--logging.quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"ganache exited: {proc.stderr.read().decode()[-500:]}")
            try:
                if Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected():
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                pytest.fail("ganache did not start within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
