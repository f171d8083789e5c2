"""Every argument of every command is checked before the first transaction.

Each case runs a command as a user would (its own process) against a real ganache node, with
one malformed argument: exactly one line on stderr naming the problem, a non-zero exit, no
traceback, and no new block.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from chainmpc.keys import new_keys
from onchain.connection import connect
from onchain.transactions import Sender, TxLog

UNFUNDED_KEY = "0x" + "ab" * 32
UNWRITABLE = "/proc/chainmpc-test"  # even root cannot create anything in /proc


@dataclass(frozen=True)
class World:
    """What the cases refer to: a node, a consortium with one finalised session, and files."""

    rpc: str
    consortium: str
    chain_id_only_rpc: str
    service_key: Path  # a funded account's key
    not_a_key: Path
    tmp: Path
    job_file: Path  # the demo's job, as `describe-job` prints it


class _ChainIdOnly(BaseHTTPRequestHandler):
    """A JSON-RPC endpoint that answers ``eth_chainId`` and errors on everything else."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply: dict = {"jsonrpc": "2.0", "id": request.get("id")}
        if request.get("method") == "eth_chainId":
            reply["result"] = "0x539"
        else:
            reply["error"] = {"code": -32601, "message": f"method {request.get('method')} n/a"}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


PASSPHRASE = "test passphrase"


def chainmpc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CHAINMPC_PASSPHRASE": PASSPHRASE, **(env or {})},
    )


@pytest.fixture(scope="module")
def world(ganache_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("cli-arguments")
    proc = chainmpc("demo", "--rpc", ganache_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "chainmpc audit" in x)
    consortium = line.split("--consortium ")[1].split()[0]
    chain = connect(ganache_url)
    service = new_keys(tmp / "service.json", PASSPHRASE, strength="interactive")
    Sender(chain.w3, chain.funder, TxLog(), "funder").pay(service.address, 10**18)
    (tmp / "not-a.key").write_text("hello\n")
    (tmp / "job.json").write_text(chainmpc("describe-job").stdout)
    server = HTTPServer(("127.0.0.1", 0), _ChainIdOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield World(
            ganache_url,
            consortium,
            f"http://127.0.0.1:{server.server_address[1]}",
            tmp / "service.json",
            tmp / "not-a.key",
            tmp,
            tmp / "job.json",
        )
    finally:
        server.shutdown()
        server.server_close()


def _preprocess(w: World, **override: str) -> list[str]:
    opts = {
        "--rpc": w.rpc,
        "--consortium": w.consortium,
        "--session": "1",
        "--cache-root": str(w.tmp / "caches"),
        "--key": str(w.service_key),
        "--job": str(w.job_file),
        **override,
    }
    return ["preprocess", "deal", *[x for kv in opts.items() for x in kv]]


def _audit(w: World, **override: str) -> list[str]:
    opts = {"--rpc": w.rpc, "--consortium": w.consortium, "--session": "1", **override}
    return ["audit", *[x for kv in opts.items() for x in kv]]


#: (id, the command line from the world, extra environment, what the one line must say)
CASES = [
    ("demo-workdir-missing", lambda w: ["demo", "--rpc", w.rpc, "--workdir", "/missing/dir"],
     None, "--workdir /missing/dir: its parent directory does not exist"),
    ("demo-workdir-unwritable", lambda w: ["demo", "--rpc", w.rpc, "--workdir", UNWRITABLE],
     None, f"--workdir {UNWRITABLE}: cannot write in /proc"),
    ("demo-workdir-a-file", lambda w: ["demo", "--rpc", w.rpc, "--workdir", str(w.service_key)],
     None, "Invalid value for '--workdir'"),
    ("demo-json-missing-dir", lambda w: ["demo", "--rpc", w.rpc, "--json", "/missing/x.json"],
     None, "--json /missing/x.json: its directory does not exist"),
    ("demo-json-unwritable", lambda w: ["demo", "--rpc", w.rpc, "--json", "/proc/x.json"],
     None, "--json /proc/x.json: cannot write it"),
    ("demo-json-a-directory", lambda w: ["demo", "--rpc", w.rpc, "--json", str(w.tmp)],
     None, "Invalid value for '--json'"),
    ("demo-inputs-empty", lambda w: ["demo", "--rpc", w.rpc, "--inputs", ""],
     None, "--inputs '': no values; expected one int32 per org (3)"),
    ("demo-inputs-blank", lambda w: ["demo", "--rpc", w.rpc, "--inputs", " "],
     None, "--inputs ' ': no values"),
    ("demo-inputs-count", lambda w: ["demo", "--rpc", w.rpc, "--inputs", "1,2"],
     None, "--inputs has 2 values; expected one per org (3)"),
    ("demo-orgs-not-int", lambda w: ["demo", "--rpc", w.rpc, "--orgs", "three"],
     None, "Invalid value for '--orgs': 'three' is not a valid integer"),
    ("demo-cheater-zero", lambda w: ["demo", "--rpc", w.rpc, "--cheater", "0"],
     None, "--cheater 0: unknown org"),
    ("demo-unfunded", lambda w: ["demo", "--rpc", w.rpc],
     {"CHAINMPC_FUNDER_KEY": UNFUNDED_KEY},
     f"CHAINMPC_FUNDER_KEY account {Account.from_key(UNFUNDED_KEY).address} holds 0 ETH; "
     "the demo (funding 5 accounts with 1 ETH each, plus gas) needs at least"),
    ("demo-rpc-malformed", lambda w: ["demo", "--rpc", "localhost:8545"],
     None, "malformed RPC URL 'localhost:8545'"),
    ("demo-rpc-chain-id-only", lambda w: ["demo", "--rpc", w.chain_id_only_rpc],
     None, "does not answer eth_getBalance: method eth_getBalance n/a"),
    ("demo-rpc-chain-id-only-funder-key", lambda w: ["demo", "--rpc", w.chain_id_only_rpc],
     {"CHAINMPC_FUNDER_KEY": UNFUNDED_KEY}, "does not answer eth_getBlockByNumber"),
    ("deploy-unfunded", lambda w: ["deploy", "--rpc", w.rpc],
     {"CHAINMPC_FUNDER_KEY": UNFUNDED_KEY}, "holds 0 ETH; deploying needs at least"),
    ("deploy-rpc-chain-id-only", lambda w: ["deploy", "--rpc", w.chain_id_only_rpc],
     None, "does not answer eth_getBalance"),
    ("deploy-rpc-missing", lambda w: ["deploy"], None, "Missing option '--rpc'"),
    ("preprocess-consortium-short", lambda w: _preprocess(w, **{"--consortium": "0x123"}),
     None, "--consortium '0x123': not an Ethereum address (expected 0x and 40 hex digits)"),
    ("preprocess-consortium-checksum",
     lambda w: _preprocess(w, **{"--consortium": _miscased(w.consortium)}),
     None, "bad checksum"),
    ("preprocess-consortium-no-code",
     lambda w: _preprocess(w, **{"--consortium": "0x" + "11" * 20}),
     None, f"--consortium 0x{'11' * 20}: no contract at that address"),
    ("preprocess-session-negative", lambda w: _preprocess(w, **{"--session": "-1"}),
     None, "Invalid value for '--session': -1 is not in the range x>=1"),
    ("preprocess-session-unknown", lambda w: _preprocess(w, **{"--session": "2"}),
     None, "--session 2: no session 2 on this consortium (sessions run from 1 to 1)"),
    ("preprocess-cache-root-unwritable",
     lambda w: _preprocess(w, **{"--cache-root": UNWRITABLE}),
     None, f"--cache-root {UNWRITABLE}: cannot write in /proc"),
    ("preprocess-key-file-missing",
     lambda w: _preprocess(w, **{"--key": "/missing/key"}),
     None, "Invalid value for '--key'"),
    ("preprocess-key-file-not-a-key",
     lambda w: _preprocess(w, **{"--key": str(w.not_a_key)}),
     None, "not a chainmpc key file"),
    ("preprocess-session-done", lambda w: _preprocess(w),
     None, "session 1 is FINALISED, not awaiting preprocessing"),
    ("audit-session-negative", lambda w: _audit(w, **{"--session": "-1"}),
     None, "Invalid value for '--session': -1 is not in the range x>=1"),
    ("audit-session-zero", lambda w: _audit(w, **{"--session": "0"}),
     None, "Invalid value for '--session': 0 is not in the range x>=1"),
    ("audit-session-unknown", lambda w: _audit(w, **{"--session": "2"}),
     None, "--session 2: no session 2 on this consortium (sessions run from 1 to 1)"),
    ("audit-consortium-short", lambda w: _audit(w, **{"--consortium": "0x123"}),
     None, "--consortium '0x123': not an Ethereum address"),
    ("audit-consortium-not-a-consortium",
     lambda w: _audit(w, **{"--consortium": _manager(w)}),
     None, "not a chainmpc consortium"),
    ("audit-job-not-toml",
     lambda w: _audit(w, **{"--job": str(w.not_a_key)}), None, "not-a.key: not a TOML job file"),
    ("audit-job-not-canonical",
     lambda w: _audit(w, **{"--job": str(_edited_job(w))}), None, "not in canonical form"),
    ("preprocess-job-missing", lambda w: _preprocess(w, **{"--job": "/missing/job.toml"}),
     None, "Invalid value for '--job': File '/missing/job.toml' does not exist"),
    ("preprocess-job-unknown-kind",
     lambda w: _preprocess(w, **{"--job": str(_job(w, 'kind = "regression"'))}),
     None, "job.kind: unknown kind 'regression'"),
    ("run-job-missing", lambda w: ["run", "/missing/job.toml", "--rpc", w.rpc],
     None, "Invalid value for 'JOB.toml': File '/missing/job.toml' does not exist"),
    ("run-job-not-toml", lambda w: ["run", str(w.not_a_key), "--rpc", w.rpc],
     None, "not-a.key: not a TOML job file"),
    ("run-out-unwritable", lambda w: ["run", str(_job(w)), "--rpc", w.rpc, "--out", UNWRITABLE],
     None, f"--out {UNWRITABLE}: cannot write in /proc"),
    ("run-out-a-file", lambda w: ["run", str(_job(w)), "--rpc", w.rpc, "--out", str(w.job_file)],
     None, "Invalid value for '--out'"),
    ("run-unfunded", lambda w: ["run", str(_job(w)), "--rpc", w.rpc],
     {"CHAINMPC_FUNDER_KEY": UNFUNDED_KEY}, "holds 0 ETH; running 'sum-product-example'"),
    ("run-rpc-malformed", lambda w: ["run", str(_job(w)), "--rpc", "localhost:8545"],
     None, "malformed RPC URL 'localhost:8545'"),
    ("run-no-job", lambda w: ["run"], None, "Missing argument 'JOB.toml'"),
    ("job-hash-missing", lambda w: ["job", "hash", "/missing/job.toml"],
     None, "File '/missing/job.toml' does not exist"),
    ("job-hash-unknown-kind", lambda w: ["job", "hash", str(_job(w, 'kind = "regression"'))],
     None, "job.toml: job.kind: unknown kind 'regression'"),
    ("job-hash-bad-toml", lambda w: ["job", "hash", str(_job(w, "[job"))],
     None, "job.toml: not a TOML job file"),
    ("audit-rpc-chain-id-only", lambda w: _audit(w, **{"--rpc": w.chain_id_only_rpc}),
     None, "does not answer eth_getBalance"),
    ("describe-job-orgs", lambda w: ["describe-job", "--orgs", "1"],
     None, "--orgs 1: this job needs between 2 and 7 orgs"),
    ("describe-job-orgs-not-int", lambda w: ["describe-job", "--orgs", "x"],
     None, "Invalid value for '--orgs': 'x' is not a valid integer"),
]  # fmt: skip


def _job(w: World, kind_line: str = 'kind = "sum-product"') -> Path:
    """The sum-product example, copied with its CSVs, its kind line replaced."""
    examples = Path(__file__).parents[3] / "examples"
    folder = w.tmp / "job"
    shutil.copytree(examples / "sum-product", folder / "sum-product", dirs_exist_ok=True)
    text = (examples / "sum-product.toml").read_text()
    (folder / "job.toml").write_text(text.replace('kind = "sum-product"', kind_line))
    return folder / "job.toml"


def _edited_job(w: World) -> Path:
    """The demo's canonical job file with a field added."""
    path = w.tmp / "edited.json"
    path.write_text(json.dumps({**json.loads(w.job_file.read_text()), "extra": 1}))
    return path


def _miscased(address: str) -> str:
    """``address`` with one letter's case swapped: a typo its checksum catches."""
    k = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:k] + address[k].swapcase() + address[k + 1 :]


def _manager(w: World) -> str:
    from onchain.clients import ConsortiumClient

    return ConsortiumClient(Web3(Web3.HTTPProvider(w.rpc)), w.consortium).session_manager()


@pytest.mark.parametrize(("build", "env", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_malformed_argument_fails_in_one_line_and_sends_nothing(
    world: World, build, env: dict[str, str] | None, message: str
) -> None:
    w3 = Web3(Web3.HTTPProvider(world.rpc))
    args = build(world)
    before = w3.eth.block_number
    proc = chainmpc(*args, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert w3.eth.block_number == before
