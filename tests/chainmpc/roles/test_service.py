"""``chainmpc preprocess deal`` as its own process against a real ganache node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from nacl.public import PrivateKey
from web3 import Web3

from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.keys import KeyPair, load_keys, new_keys
from chainmpc.roles.deployment import deploy
from offchain.hazmat.field import BN254_SCALAR
from offchain.preprocessing.cache import OrgCache, deployment_id
from onchain.clients import State
from onchain.commitments import job_hash, session_params_hash
from onchain.connection import connect
from onchain.transactions import Sender, TxLog

PASSPHRASE = "service passphrase"


@pytest.fixture
def session(ganache_url: str, tmp_path: Path):
    """A deployed consortium with three orgs, a registered service, and a way to open a session
    that every org has accepted (so that it awaits preprocessing)."""
    chain = connect(ganache_url)
    log = TxLog()
    funder = Sender(chain.w3, chain.funder, log, "funder")

    def funded(name: str) -> Sender:
        account = Account.create()
        funder.pay(account.address, Web3.to_wei(1, "ether"))
        return Sender(chain.w3, account, log, name)

    admin, service = funded("admin"), funded("service")
    d = deploy(admin)
    d.consortium.register_service(admin, service.address, "dealer")
    keys, senders = {}, []
    for k in range(3):
        org = funded(f"org{k + 1}")
        senders.append(org)
        keys[f"org{k + 1}"] = PrivateKey.generate()
        d.consortium.register_org(
            admin, org.address, f"org{k + 1}", bytes(keys[f"org{k + 1}"].public_key), "h:1"
        )
    orgs = [s.address for s in senders]

    def open_session(job: dict, accept: bool = True) -> int:
        now = chain.w3.eth.get_block("latest")["timestamp"]
        sid = d.sessions.open_session(
            admin, job_hash(job), orgs, BN254_SCALAR, service.address, now + 3600, 2
        )
        info = d.sessions.session(sid)
        params = session_params_hash(
            chain.w3.eth.chain_id, d.sessions.address, sid, info.job_hash, orgs,
            BN254_SCALAR, service.address, info.deadline, 2,
        )  # fmt: skip
        for s in senders if accept else []:
            d.sessions.accept_session(s, sid, params)
        return sid

    key_file = tmp_path / "service.json"
    new_keys(key_file, PASSPHRASE, strength="interactive",
             keys=KeyPair(service.account, PrivateKey.generate()))  # fmt: skip
    return chain, d, open_session, key_file, keys, orgs


def preprocess(chain, d, sid: int, key_file: Path, root: Path) -> subprocess.CompletedProcess:
    # The service is told the job by its canonical job file (the launcher writes the same).
    job_file = key_file.parent / "job.json"
    job_file.write_text(json.dumps(SumProductJob.in_memory([1, 2, 3]).description()))
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", "preprocess", "deal", "--rpc", chain.rpc,
         "--consortium", d.consortium.address, "--session", str(sid),
         "--cache-root", str(root), "--key", str(key_file), "--job", str(job_file)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "CHAINMPC_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip


def test_service_fills_each_cache_and_commits_matching_hashes(session, tmp_path) -> None:
    chain, d, open_session, key_file, keys, orgs = session
    sid = open_session(SumProductJob.in_memory([1, 2, 3]).description())
    proc = preprocess(chain, d, sid, key_file, tmp_path / "caches")
    assert proc.returncode == 0, proc.stderr
    assert "committed 3 batch hashes on-chain" in proc.stdout
    assert d.sessions.session(sid).state == State.PREPROCESSED
    for k, address in enumerate(orgs):
        name = f"org{k + 1}"
        cache = OrgCache(tmp_path / "caches" / name)
        deployment = deployment_id(chain.w3.eth.chain_id, d.sessions.address)
        material = cache.consume(deployment, sid, d.sessions.batch_hash(sid, address), keys[name])
        needs = SumProductJob.in_memory([1, 2, 3]).needs(material.field)
        # Two products, one bounded int32 input each (32 bit inputs and 32 bit-test triples).
        assert needs.triples == 2 + 3 * 32 and needs.masks == (32, 32, 32)
        assert material.org == k and material.remaining_triples == 2 * needs.checked_triples
    assert d.sessions.material_counts(sid) == needs.counts()
    again = preprocess(chain, d, sid, key_file, tmp_path / "other")
    assert again.returncode == 1 and "PREPROCESSED, not awaiting preprocessing" in again.stderr


def test_service_refuses_another_job_and_posts_nothing(session, tmp_path) -> None:
    chain, d, open_session, key_file, _, _ = session
    sid = open_session({**SumProductJob.in_memory([1, 2, 3]).description(), "version": 2})
    before = chain.w3.eth.block_number
    proc = preprocess(chain, d, sid, key_file, tmp_path / "caches")
    assert proc.returncode == 1 and "opened for another job" in proc.stderr
    assert chain.w3.eth.block_number == before
    assert not (tmp_path / "caches").exists()


def test_service_refuses_when_not_the_sessions_preprocessor(session, tmp_path) -> None:
    chain, d, open_session, _, _, _ = session
    sid = open_session(SumProductJob.in_memory([1, 2, 3]).description())
    impostor = tmp_path / "impostor.json"
    new_keys(impostor, PASSPHRASE, strength="interactive")
    proc = preprocess(chain, d, sid, impostor, tmp_path / "caches")
    assert proc.returncode == 1 and "not this service" in proc.stderr
    assert d.sessions.session(sid).state == State.ACCEPTED


def test_service_waits_until_every_org_accepted(session, tmp_path) -> None:
    chain, d, open_session, key_file, _, _ = session
    sid = open_session(SumProductJob.in_memory([1, 2, 3]).description(), accept=False)
    proc = preprocess(chain, d, sid, key_file, tmp_path / "caches")
    assert proc.returncode == 1 and "not every participant has accepted" in proc.stderr
    assert d.sessions.session(sid).state == State.OPENED and not (tmp_path / "caches").exists()


def test_service_without_ether_refuses_before_dealing(session, tmp_path) -> None:
    chain, d, open_session, key_file, _, _ = session
    sid = open_session(SumProductJob.in_memory([1, 2, 3]).description())
    service = Sender(chain.w3, load_keys(key_file, PASSPHRASE).account, TxLog(), "service")
    service.sweep(chain.funder.address)
    before = chain.w3.eth.block_number
    proc = preprocess(chain, d, sid, key_file, tmp_path / "caches")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert f"the service's account {service.address} holds" in proc.stderr
    assert "committing needs at least" in proc.stderr
    assert chain.w3.eth.block_number == before and not (tmp_path / "caches").exists()
