"""The auditor as a user runs it against a real ganache node that this module owns: one
consortium holding an honest session, an aborted one (an org posted another transcript
digest) and one whose on-chain record the orgs forged (they skipped every MAC check and all
revealed a zero share, which the contract's sum accepts and finalises). The auditor reads the
deployment file, lists every session with its cost and verdict, writes a receipt of each, and
re-verifies the receipts, also after the node restarted from its database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from web3 import Web3
from web3.logs import DISCARD

from chainmpc.cheats import roles_for
from chainmpc.cli import main as cli
from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.deployment import DeploymentRecord
from chainmpc.roles.launcher import Roles, Run
from chainmpc.roles.service import preprocess
from onchain.commitments import new_salt, output_commitment, sigma_commitment
from onchain.compile import load_artifact
from onchain.connection import connect
from tests.helpers.node import Ganache, Proxy

INPUTS = [12, -7, 30]
JOB = SumProductJob.in_memory(INPUTS)


def chainmpc(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: its own process."""
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command run in this process (the CLI's code, without 3 s of start-up)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


class OneConsortium(Run):
    """Several sessions on one deployment; the service deals in this process (the service
    process is `chainmpc run`'s business, tested there)."""

    def _preprocess(self) -> None:
        preprocess(self.service, self.consortium, self.sessions, self.session, self.job,
                   self.deliver_to_cache, dealer_class=self.roles.dealer)  # fmt: skip

    def run_one(self, roles: Roles) -> int:
        """One session with ``roles``; its id."""
        self.roles = roles
        self.open_session()
        self.session_phases()
        return self.session

    def forged(self) -> int:
        """Every org skips the MAC check and reveals 0 at every checkpoint: the contract sums
        0 and finalises a result nobody computed."""
        self.open_session()
        sid, sm = self.session, self.sessions
        for s in self.org_senders:
            sm.accept_session(s, sid, sm.session(sid).params_hash)
        sm.commit_preprocessing(self.service, sid, [b"\x07" * 32] * 3, [1, 2, 3])
        for cp in range(3):
            if cp == 1:
                for s in self.org_senders:
                    sm.commit_input(s, sid, new_salt())
            if cp == 2:
                shares = {s.address: [5, 6] for s in self.org_senders}
                salts = {s.address: new_salt() for s in self.org_senders}
                for s in self.org_senders:
                    sm.commit_output(s, sid, output_commitment(
                        shares[s.address], salts[s.address], s.address, sm.chain_id, sm.address,
                        sid))  # fmt: skip
                for s in self.org_senders:
                    sm.reveal_output(s, sid, shares[s.address], salts[s.address])
            salts = {s.address: new_salt() for s in self.org_senders}
            for s in self.org_senders:
                c = sigma_commitment(0, salts[s.address], s.address, sm.chain_id, sm.address,
                                     sid, cp)  # fmt: skip
                sm.commit_checkpoint(s, sid, b"\x01" * 32, c)
            for s in self.org_senders:
                sm.reveal_sigma(s, sid, 0, salts[s.address])
        return sid


@dataclass
class World:
    node: Ganache
    deployment: Path
    block: int
    manager: str
    tmp: Path
    job_file: Path
    gas: dict[int, int]  # each session's gas, found by scanning every block
    receipts: dict[tuple[int, bool], dict] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("audit")
    node = Ganache(db=tmp / "db")
    node.start()
    try:
        chain = connect(node.url)
        run = OneConsortium(chain, JOB, INPUTS, Roles(), tmp, lambda _: None)
        block = chain.w3.eth.block_number + 1  # the first block of the deployment
        run.setup()
        assert run.run_one(Roles()) == 1
        assert run.run_one(roles_for("digest", 1)) == 2
        assert run.forged() == 3
        deployment = tmp / "deployment.json"
        DeploymentRecord(chain.w3.eth.chain_id, run.consortium.address, run.sessions.address,
                         block, "127.0.0.1:1", node.url).write(deployment)  # fmt: skip
        job_file = tmp / "job.json"
        job_file.write_text(json.dumps(JOB.description()))
        gas = gas_by_session(chain.w3, run.sessions.address, block)
        yield World(node, deployment, block, run.sessions.address, tmp, job_file, gas)
    finally:
        node.stop()


def gas_by_session(w3: Web3, manager: str, start: int) -> dict[int, int]:
    """The gas of every transaction that called the manager, by the session it named, found by
    scanning every block (not through the events, as the auditor does)."""
    contract = w3.eth.contract(address=manager, abi=load_artifact("SessionManager")["abi"])
    total: dict[int, int] = {}
    for n in range(start, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["to"] != manager:
                continue
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            fn, args = contract.decode_function_input(tx["input"])
            if fn.fn_name == "openSession":
                (opened,) = contract.events.SessionOpened().process_receipt(receipt, errors=DISCARD)
                sid = opened["args"]["sessionId"]
            else:
                sid = args["sessionId"]
            total[sid] = total.get(sid, 0) + receipt["gasUsed"]
    return total


def test_audit_all_lists_every_session_with_its_cost_and_verdict(world: World) -> None:
    proc = chainmpc("audit", "--all", "--deployment", str(world.deployment), "--json")
    assert proc.returncode == 1, proc.stderr  # not every session passes
    doc = json.loads(proc.stdout)
    rows = {r["session"]: r for r in doc["sessions"]}
    assert [rows[s]["verdict"] for s in (1, 2, 3)] == ["PASS", "ABORTED", "FAIL"]
    assert "DIGEST_MISMATCH" in rows[2]["reason"]
    assert "every sigma share is 0" in rows[3]["reason"]  # the contract said FINALISED
    assert rows[3]["state"] == "FINALISED"
    for s in (1, 2, 3):
        assert rows[s]["participants"] == 3
        assert rows[s]["gas"] == world.gas[s] > 0
    assert doc["from_block"] == world.block
    table = in_process("audit", "--all", "--deployment", str(world.deployment))
    assert table.returncode == 1
    for word in ("PASS", "ABORTED", "FAIL", f"{rows[1]['gas']:,}"):
        assert word in table.stdout
    assert f"logs read from block {world.block} (deployment)" in table.stdout


def test_the_audit_reads_logs_from_the_deployment_block(world: World) -> None:
    queries: list[dict[str, Any]] = []

    def hook(request: dict[str, Any]) -> None:
        if request["method"] == "eth_getLogs":
            queries.extend(request["params"])

    proxy = Proxy(world.node.url, hook)
    try:
        record = json.loads(world.deployment.read_text())
        via = world.tmp / "via-proxy.json"
        via.write_text(json.dumps({**record, "rpc": proxy.url}))
        assert in_process("audit", "--session", "1", "--deployment", str(via)).returncode == 0
        assert queries and all(int(q["fromBlock"], 16) == world.block > 0 for q in queries)
        # A file from before the block was recorded still reads: from block 0, saying so.
        del record["block"]
        via.write_text(json.dumps({**record, "rpc": proxy.url}))
        queries.clear()
        old = in_process("audit", "--session", "1", "--deployment", str(via))
        assert old.returncode == 0, old.stdout + old.stderr
        assert "logs read from block 0: " in old.stdout
        assert "records no deployment block" in old.stdout
        assert queries and all(int(q["fromBlock"], 16) == 0 for q in queries)
    finally:
        proxy.close()


def receipt(
    world: World, session: int, with_job: bool, run: Callable[..., Any] = chainmpc
) -> tuple[int, str, dict]:
    """``audit --receipt`` of ``session`` (its exit code, its output, the receipt), written
    once per module."""
    key = (session, with_job)
    path = world.tmp / f"receipt-{session}-{with_job}.json"
    if key not in world.receipts:
        job = ["--job", str(world.job_file)] if with_job else []
        proc = run("audit", "--session", str(session), "--deployment",
                        str(world.deployment), *job, "--receipt", str(path))  # fmt: skip
        world.receipts[key] = {"code": proc.returncode, "out": proc.stdout + proc.stderr}
    r = world.receipts[key]
    return r["code"], r["out"], json.loads(path.read_text())


def verify(
    world: World, doc: dict, name: str = "edited", run: Callable[..., Any] = chainmpc
) -> subprocess.CompletedProcess:
    path = world.tmp / f"{name}.json"
    path.write_text(json.dumps(doc))
    return run("audit", "verify-receipt", str(path), "--rpc", world.node.url)


def test_the_receipt_of_an_honest_session_holds_the_record_and_verifies(world: World) -> None:
    code, out, doc = receipt(world, 1, with_job=True)
    assert code == 0, out
    assert doc["format"] == "chainmpc-audit-receipt/1" and doc["verdict"]["verdict"] == "PASS"
    assert doc["job"]["file"]["matches"] and doc["job"]["hash"] == doc["job"]["file"]["hash"]
    assert [p["name"] for p in doc["roles"]["participants"]] == ["org1", "org2", "org3"]
    assert doc["roles"]["service"]["role"] == "preprocessing service"
    pre = doc["preprocessing"]
    assert len(pre["batches"]) == 3 and pre["counts"] == pre["counts_the_job_needs"]
    assert pre["checked_by"]["checkpoints"] == [0]
    assert len(doc["inputs"]) == 3
    cps = doc["checkpoints"]
    assert [c["mac_check"]["passed"] and c["digests_agree"] for c in cps] == [True] * 3
    assert [c["covers"].split()[1] for c in cps] == ["material", "inputs", "opened"]
    assert doc["output"]["revealed"]["signed"] == [35, -2520] == doc["result"]["signed"]
    assert doc["output"]["fixed_point"] is None  # integers: exact
    assert doc["result"]["interpreted"] == JOB.result([35, -2520])
    assert doc["gas"]["total"] == world.gas[1]
    w3 = Web3(Web3.HTTPProvider(world.node.url))
    for t in doc["transactions"]:
        assert w3.eth.get_transaction_receipt(t["hash"])["gasUsed"] == t["gas_used"]
    assert "salt" not in json.dumps(doc)  # no salt: the inputs' are secret, the rest not needed
    ok = verify(world, doc, "honest")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "matches the chain" in ok.stdout


def test_a_tampered_receipt_fails_naming_each_field(world: World) -> None:
    _, _, doc = receipt(world, 1, with_job=True)
    one = json.loads(json.dumps(doc))
    one["gas"]["total"] -= 1
    proc = verify(world, one, run=in_process)
    assert proc.returncode == 1 and "DIFFERS from the chain in 1 field" in proc.stdout
    assert "gas.total: receipt" in proc.stdout
    edited = json.loads(json.dumps(doc))
    edited["checkpoints"][1]["digests"][0]["digest"] = "0x" + "ab" * 32
    edited["result"]["signed"][0] = 36
    edited["roles"]["participants"][2]["name"] = "mallory"
    edited["preprocessing"]["batches"][1]["batch_hash"] = "0x" + "00" * 32
    # The job carried in the receipt is re-hashed: another job is named, not trusted.
    edited["job"]["file"]["canonical"]["name"] = "other"
    proc = verify(world, edited)
    assert proc.returncode == 1
    for name in ("checkpoints[1].digests[0].digest", "result.signed[0]",
                 "roles.participants[2].name", "preprocessing.batches[1].batch_hash",
                 "job.file.hash", "job.file.matches", "verdict.verdict"):  # fmt: skip
        assert f"{name}: receipt" in proc.stdout, proc.stdout


def test_receipts_of_aborted_and_forged_sessions_say_so_and_verify(world: World) -> None:
    code, _, aborted = receipt(world, 2, with_job=False, run=in_process)
    assert code == 1
    assert aborted["verdict"]["verdict"] == "ABORTED"
    assert aborted["abort"]["reason"] == "DIGEST_MISMATCH" and aborted["result"]["recorded"] == []
    assert aborted["job"]["file"] is None  # no job file given
    code, out, forged = receipt(world, 3, with_job=True)
    assert code == 1 and "FAIL checkpoint 0: MAC check sums to 0" in out
    assert forged["state"] == "FINALISED" and forged["verdict"]["verdict"] == "FAIL"
    assert not forged["verdict"]["passed"]
    for doc in (aborted, forged):
        proc = verify(world, doc, f"s{doc['session']}", run=in_process)
        assert proc.returncode == 0, proc.stdout


def test_after_the_node_restarts_from_its_database_the_receipts_still_verify(world: World) -> None:
    _, _, before = receipt(world, 1, with_job=True)
    listed = json.loads(in_process("audit", "--all", "--deployment", str(world.deployment),
                                   "--json").stdout)  # fmt: skip
    world.node.stop()
    world.node.start()
    proc = verify(world, before, "before-restart", run=in_process)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = in_process("audit", "--all", "--deployment", str(world.deployment), "--json")
    assert json.loads(again.stdout) == listed
