"""Each org's sealed cache and the service's outbox, on real files (and a real second process
for the claim): every rule of delivery and consumption, attacked."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from offchain.preprocessing.cache import (
    OrgCache,
    Outbox,
    batch_hash,
    deployment_id,
    seal,
)
from offchain.preprocessing.material import MaterialError
from tests.helpers.batches import contents
from tests.helpers.harness import deal

ROOT = Path(__file__).resolve().parents[3]
DEP = deployment_id(1337, "0x" + "ab" * 20)
OTHER_DEP = deployment_id(1337, "0x" + "cd" * 20)
ORG = "0x" + "11" * 20


def files(directory: Path) -> list[Path]:
    """Every file under ``directory``, temporary ones included."""
    return sorted(p for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def batch():
    key = PrivateKey.generate()
    mat = deal(2, 1)[0]
    sealed = seal(mat, bytes(key.public_key))
    return key, mat, sealed, batch_hash(sealed)


@pytest.fixture
def delivered(tmp_path, batch):
    key, mat, sealed, h = batch
    cache = OrgCache(tmp_path / "org1")
    cache.deliver(DEP, 1, sealed)
    return cache, key, mat, h


def test_deployment_id_names_chain_and_manager() -> None:
    assert deployment_id(1337, "0x" + "AB" * 20) == "1337-0x" + "ab" * 20
    for bad in [(-1, "0x" + "ab" * 20), (1, "0xabc"), (1, "../../etc"), (True, "0x" + "ab" * 20)]:
        with pytest.raises(MaterialError):
            deployment_id(*bad)


@pytest.mark.parametrize("deployment", ["../escape", "1337-0xab/../..", "", "consumed"])
def test_names_that_could_escape_the_directory_are_refused(tmp_path, deployment) -> None:
    with pytest.raises(MaterialError, match="deployment"):
        OrgCache(tmp_path).deliver(deployment, 1, b"x")
    with pytest.raises(MaterialError, match="org"):
        Outbox(tmp_path).open(DEP, 1, "../../etc/passwd")
    with pytest.raises(MaterialError, match="session"):
        OrgCache(tmp_path).path(DEP, -1)
    assert files(tmp_path) == []


def test_cache_delivers_verifies_and_decrypts(delivered) -> None:
    cache, key, mat, h = delivered
    assert contents(cache.consume(DEP, 1, h, key)) == contents(mat)
    assert cache.is_consumed(h)


def test_two_deployments_sharing_one_root_do_not_collide(tmp_path) -> None:
    key = PrivateKey.generate()
    cache = OrgCache(tmp_path)
    first, second = (seal(deal(2, 1)[0], bytes(key.public_key)) for _ in range(2))
    cache.deliver(DEP, 1, first)
    cache.deliver(OTHER_DEP, 1, second)  # same session number, another session manager
    assert cache.path(DEP, 1) != cache.path(OTHER_DEP, 1)
    cache.consume(DEP, 1, batch_hash(first), key)
    cache.consume(OTHER_DEP, 1, batch_hash(second), key)


def test_consumed_batch_is_refused(delivered) -> None:
    cache, key, _, h = delivered
    cache.consume(DEP, 1, h, key)
    with pytest.raises(MaterialError, match="already consumed"):
        cache.consume(DEP, 1, h, key)


def test_restoring_a_consumed_file_does_not_replay_it(tmp_path, batch) -> None:
    key, _, sealed, h = batch
    cache = OrgCache(tmp_path)
    cache.deliver(DEP, 1, sealed)
    cache.consume(DEP, 1, h, key)
    cache.path(DEP, 1).write_bytes(sealed)  # e.g. restored from a backup
    with pytest.raises(MaterialError, match="already consumed"):
        cache.consume(DEP, 1, h, key)


def test_the_same_bytes_under_another_name_do_not_replay(tmp_path, batch) -> None:
    key, _, sealed, h = batch
    cache = OrgCache(tmp_path)
    cache.deliver(DEP, 1, sealed)
    cache.consume(DEP, 1, h, key)
    cache.deliver(OTHER_DEP, 1, sealed)  # a copy under another deployment's name
    with pytest.raises(MaterialError, match="already consumed"):
        cache.consume(OTHER_DEP, 1, h, key)


def test_edited_file_is_rejected_and_left_for_inspection(delivered, batch) -> None:
    cache, key, mat, h = delivered
    path = cache.path(DEP, 1)
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(MaterialError, match="does not match its on-chain commitment"):
        cache.consume(DEP, 1, h, key)
    assert path.read_bytes() == bytes(data)  # not destroyed
    assert not cache.is_consumed(h)
    path.write_bytes(batch[2])  # the right bytes back: still loadable, once
    assert contents(cache.consume(DEP, 1, h, key)) == contents(mat)


def test_batch_for_another_key_does_not_decrypt_and_stays(delivered) -> None:
    cache, key, _, h = delivered
    with pytest.raises(MaterialError, match="does not decrypt"):
        cache.consume(DEP, 1, h, PrivateKey.generate())
    cache.consume(DEP, 1, h, key)


def test_batch_for_another_session_is_refused(tmp_path, batch) -> None:
    key, _, sealed, h = batch  # dealt for session 1
    cache = OrgCache(tmp_path)
    cache.deliver(DEP, 2, sealed)
    with pytest.raises(MaterialError, match="is for session 1"):
        cache.consume(DEP, 2, h, key)


def test_delivery_never_overwrites(delivered) -> None:
    cache, _, _, _ = delivered
    before = cache.path(DEP, 1).read_bytes()
    with pytest.raises(MaterialError, match="already here"):
        cache.deliver(DEP, 1, b"other")
    assert cache.path(DEP, 1).read_bytes() == before
    assert files(cache.directory) == [cache.path(DEP, 1)]


def test_a_failed_write_leaves_nothing(tmp_path, batch) -> None:
    _, _, sealed, h = batch
    cache = OrgCache(tmp_path)

    def broken():
        yield sealed[:100]
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        cache.receive(DEP, 1, broken(), h)
    assert files(tmp_path) == []
    cache.receive(DEP, 1, [sealed[:100], sealed[100:]], h)  # the retry succeeds
    assert cache.path(DEP, 1).read_bytes() == sealed


def test_bytes_that_miss_the_commitment_never_become_the_entry(tmp_path, batch) -> None:
    _, _, sealed, h = batch
    cache = OrgCache(tmp_path)
    with pytest.raises(MaterialError, match="does not match its on-chain commitment"):
        cache.receive(DEP, 1, [sealed[:-1], b"\x00"], h)
    assert files(tmp_path) == []


def test_a_stale_temporary_file_never_blocks_a_retry(tmp_path, batch) -> None:
    _, _, sealed, h = batch
    cache = OrgCache(tmp_path)
    target = cache.path(DEP, 1)
    target.parent.mkdir(parents=True)
    stale = [target.with_suffix(".tmp"), target.parent / f".{target.name}.stale.tmp"]
    for path in stale:
        path.write_bytes(b"left by a crashed delivery")
    cache.receive(DEP, 1, [sealed], h)
    assert target.read_bytes() == sealed


def test_concurrent_deliveries_leave_one_whole_batch(tmp_path) -> None:
    cache = OrgCache(tmp_path)
    payloads = [bytes([i]) * 200_000 for i in range(6)]
    outcomes: list[str] = []

    def deliver(data: bytes) -> None:
        try:
            cache.deliver(DEP, 1, data)
            outcomes.append("ok")
        except MaterialError:
            outcomes.append("refused")

    threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert cache.path(DEP, 1).read_bytes() in payloads
    assert files(tmp_path) == [cache.path(DEP, 1)]


def test_outbox_puts_and_streams_each_orgs_batch(tmp_path) -> None:
    outbox = Outbox(tmp_path)
    with outbox.claim(DEP, 1):
        outbox.put(DEP, 1, ORG, b"sealed bytes")
    with outbox.open(DEP, 1, ORG.upper().replace("0X", "0x")) as f:
        assert f.read() == b"sealed bytes"
    with pytest.raises(MaterialError, match="no batch for org"):
        outbox.open(DEP, 2, ORG)


def test_put_outside_a_claim_is_refused(tmp_path) -> None:
    with pytest.raises(MaterialError, match="outside claim"):
        Outbox(tmp_path).put(DEP, 1, ORG, b"x")


def test_only_one_service_deals_a_session(tmp_path) -> None:
    first, second = Outbox(tmp_path), Outbox(tmp_path)
    with first.claim(DEP, 1):
        with (
            pytest.raises(MaterialError, match="session 1 is already being dealt by another"),
            second.claim(DEP, 1),
        ):
            pass
        first.put(DEP, 1, ORG, b"first")
    with pytest.raises(MaterialError, match="already being dealt"), second.claim(DEP, 1):
        pass  # a dealt session stays claimed until forget()
    with second.claim(OTHER_DEP, 1):  # another deployment's session 1 is free
        pass
    first.forget(DEP, 1)
    with second.claim(DEP, 1):
        second.put(DEP, 1, ORG, b"second")


def test_claim_is_exclusive_across_processes(tmp_path) -> None:
    code = (
        "import sys; from offchain.preprocessing.cache import Outbox\n"
        f"with Outbox(sys.argv[1]).claim({DEP!r}, 7):\n"
        "    print('claimed', flush=True); sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "claimed"
        with (
            pytest.raises(MaterialError, match="session 7 is already being dealt"),
            Outbox(tmp_path).claim(DEP, 7),
        ):
            pass
    finally:
        child.stdin.close()
        assert child.wait(timeout=30) == 0


def test_a_failed_dealing_rolls_back_its_batches_and_claim(tmp_path) -> None:
    outbox = Outbox(tmp_path)
    with pytest.raises(RuntimeError, match="dealer crashed"), outbox.claim(DEP, 1):
        outbox.put(DEP, 1, ORG, b"half of a dealing")
        raise RuntimeError("dealer crashed")
    with pytest.raises(MaterialError, match="no batch"):
        outbox.open(DEP, 1, ORG)
    assert files(tmp_path) == []
    with Outbox(tmp_path).claim(DEP, 1):  # a retry may deal afresh
        pass


def test_a_rival_claim_does_not_roll_back_the_dealers_batches(tmp_path) -> None:
    dealer = Outbox(tmp_path)
    with dealer.claim(DEP, 1):
        dealer.put(DEP, 1, ORG, b"dealt")
    with pytest.raises(MaterialError), Outbox(tmp_path).claim(DEP, 1):
        pass
    with dealer.open(DEP, 1, ORG) as f:
        assert f.read() == b"dealt"
