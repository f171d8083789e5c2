"""The command line as a user runs it: exit codes, messages, and nothing posted on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from web3 import Web3


def chainmpc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", *args], capture_output=True, text=True, timeout=300
    )


def test_demo_on_the_embedded_chain(tmp_path) -> None:
    out = tmp_path / "outcome.json"
    proc = chainmpc("demo", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    for phase in ("deploy & register", "preprocess", "sacrifice check", "MAC check", "output"):
        assert phase in proc.stdout
    assert "sum = 35, product = -2520" in proc.stdout
    assert "audit of session 1: PASS" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["ok"] and doc["result"] == [35, -2520] and doc["audit"]["passed"]


def test_cheat_exits_non_zero_naming_the_cheater() -> None:
    proc = chainmpc("demo", "--cheat", "sigma", "--cheater", "3")
    assert proc.returncode == 1
    assert "session aborted on-chain" in proc.stdout
    assert "org3 revealed a MAC-check share" in " ".join(proc.stdout.split())
    assert "audit of session 1: FAIL" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inputs", "1,2"], "--inputs has 2 values; expected one per org (3)"),
        (["--inputs", "1,x,3"], "input of org 2 ('x') is not an integer"),
        (["--inputs", "1,2,4294967296"], "input of org 3 (4294967296) is outside the int32"),
        (["--orgs", "9"], "between 2 and 7 orgs"),
        (["--cheater", "4"], "--cheater 4: unknown org"),
    ],
)
def test_bad_input_posts_nothing(ganache_url: str, args: list[str], message: str) -> None:
    w3 = Web3(Web3.HTTPProvider(ganache_url))
    before = w3.eth.block_number
    proc = chainmpc("demo", "--rpc", ganache_url, *args)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert w3.eth.block_number == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:8545", "malformed RPC URL"),
        ("http://127.0.0.1:1", "cannot reach an Ethereum node at http://127.0.0.1:1"),
    ],
)
def test_bad_rpc_url(url: str, message: str) -> None:
    proc = chainmpc("demo", "--rpc", url)
    assert proc.returncode == 1 and message in proc.stderr


def test_demo_then_audit_on_ganache(ganache_url: str, tmp_path) -> None:
    proc = chainmpc("demo", "--rpc", ganache_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    audit_line = next(line for line in proc.stdout.splitlines() if "chainmpc audit" in line)
    args = audit_line.split("chainmpc ", 1)[1].split()
    report = chainmpc(*args, "--json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["passed"] and doc["state"] == "FINALISED"
    assert doc["unchecked"]  # without the job file, the audit says what it did not check

    job_file = tmp_path / "job.json"
    described = chainmpc("describe-job", "--orgs", "3")
    job_file.write_text(described.stdout)
    with_job = json.loads(chainmpc(*args, "--job", str(job_file), "--json").stdout)
    names = {c["name"] for c in with_job["checks"]}
    assert with_job["passed"] and not with_job["unchecked"]
    assert {"job hash matches the job file", "material counts are what the job needs"} <= names
    job_file.write_text(chainmpc("describe-job", "--orgs", "4").stdout)
    other = chainmpc(*args, "--job", str(job_file))
    assert other.returncode == 1 and "FAIL job hash matches the job file" in other.stdout

    cheat = chainmpc("demo", "--rpc", ganache_url, "--cheat", "digest")
    assert cheat.returncode == 1
    line = next(x for x in cheat.stdout.splitlines() if "chainmpc audit" in x)
    failed = chainmpc(*line.split("chainmpc ", 1)[1].split())
    assert failed.returncode == 1
    assert "DIGEST_MISMATCH" in failed.stdout


def test_audit_rejects_a_non_contract(ganache_url: str) -> None:
    proc = chainmpc(
        "audit", "--rpc", ganache_url, "--consortium", "0x" + "11" * 20, "--session", "1"
    )
    assert proc.returncode == 1 and "no contract at" in proc.stderr


def test_deploy_prints_linked_contract_addresses(ganache_url: str) -> None:
    proc = chainmpc("deploy", "--rpc", ganache_url)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    w3 = Web3(Web3.HTTPProvider(ganache_url))
    assert w3.eth.get_code(doc["consortium"]) and w3.eth.get_code(doc["manager"])
    from onchain.clients import ConsortiumClient

    consortium = ConsortiumClient(w3, doc["consortium"])
    assert consortium.session_manager() == doc["manager"]
    assert consortium.admin() == doc["admin"]
