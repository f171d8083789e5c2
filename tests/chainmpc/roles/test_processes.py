"""The per-org peers attacked: every role its own ``python -m chainmpc`` OS process, on a real
ganache node, through the command line only (tests/helpers/consortium.py sets it up).

Each case asserts what a user sees (exit codes, the one error line, ``session status``) and
what the chain records: a result only for a session finalised correctly, otherwise an abort
naming who aborted and with which claim.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from chainmpc.keys import KeyPair, load_keys, new_keys
from chainmpc.roles.org import SESSION_PHASES
from chainmpc.roles.peer import session_tag
from offchain.preprocessing.cache import OrgCache, deployment_id
from offchain.preprocessing.material import MaterialError
from offchain.transport.mesh import PeerNetwork, TransportError, free_ports
from onchain.clients import AbortClaim, State
from tests.helpers.consortium import (
    JOB,
    ORGS,
    PASSPHRASE,
    Consortium,
    build_consortium,
    sum_product_answer,
)

pytestmark = pytest.mark.ganache

#: ``--timeout`` of the peers in the fault cases.
FAULT_TIMEOUT = 10
#: How long a whole honest session may take as processes on a loaded 2-core machine.
SESSION = 120.0
#: The stated bound: with ``--timeout 10`` the surviving orgs exit within this many seconds
#: of a peer dying or hanging (the step timeout, the 3 s grace for the culprit's own abort,
#: a few transactions, and slack for the machine).
BOUND = 30.0


@pytest.fixture(scope="module")
def consortium(ganache_url: str, tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    """One consortium for the module: deploying it is the slow part, sessions are cheap."""
    return build_consortium(tmp_path_factory.mktemp("consortium"), ganache_url)


@pytest.fixture
def c(consortium: Consortium) -> Iterator[Consortium]:
    """The consortium, with every process a test started killed after it."""
    for org in ORGS:
        (consortium.out(org) / "result.json").unlink(missing_ok=True)
    try:
        yield consortium
    finally:
        consortium.stop_all()


def assert_finalised(c: Consortium, sid: int, peers: dict) -> None:
    """Every peer exits 0 with the plaintext answer; the chain says FINALISED."""
    for org, proc in peers.items():
        assert proc.wait(SESSION) == 0, proc.text()
        doc = json.loads((c.out(org) / "result.json").read_text())
        assert doc["session"] == sid and doc["result"] == sum_product_answer()
    assert c.info(sid).state == State.FINALISED
    assert c.sessions.result(sid)[0] == sum_product_answer()["sum"]


def assert_aborted(
    c: Consortium, sid: int, claims: Collection[AbortClaim], by: Collection[str]
) -> None:
    """ABORTED on-chain by one of ``by`` with one of ``claims``, no result, and `session
    status` says so."""
    info = c.until(sid, lambda i: i.state == State.ABORTED, "aborted", timeout=BOUND)
    abort = c.sessions.abort_info(sid)
    assert abort.claim in claims, abort
    assert abort.by in {c.address(org) for org in by}, abort
    assert c.sessions.result(sid) == []
    assert info.state != State.FINALISED
    status = c.status(sid)
    assert f"session {sid}: ABORTED" in status
    assert f"claim {abort.claim.name}, by {abort.by}" in status
    for org in ORGS:
        out = c.out(org) / "result.json"
        assert not out.exists() or json.loads(out.read_text())["session"] != sid


def assert_survivors_name(peers: dict, culprit: str, since: float) -> None:
    """The other orgs exit non-zero within :data:`BOUND`, their one error line naming the
    culprit."""
    for org, proc in peers.items():
        if org == culprit:
            continue
        assert proc.wait(max(1.0, since + BOUND - time.monotonic())) != 0, proc.text()
        assert culprit in proc.error(), proc.text()


def test_honest_run_finalises_with_the_plaintext_answer_and_audits(c: Consortium) -> None:
    c.serve()
    sid = c.open_session()
    assert_finalised(c, sid, c.peers(sid))
    assert f"session {sid}: FINALISED" in c.status(sid)
    audit = c.cli("audit", "--session", str(sid), "--rpc", c.rpc, "--consortium", c.consortium,
                  "--job", str(JOB))  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"audit of session {sid}: PASS" in audit.stdout


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def test_each_peer_shows_progress_as_its_output_allows_and_counts_every_phase(
    c: Consortium,
) -> None:
    """bank-a logs to a file (plain lines), bank-b runs on a terminal (the live panel),
    bank-c asks for JSON; each stats.json splits its totals by phase."""
    c.serve()
    sid = c.open_session()
    peers = {"bank-a": c.peer("bank-a", sid, json_log=False),
             "bank-b": c.peer("bank-b", sid, json_log=False, tty=True),
             "bank-c": c.peer("bank-c", sid)}  # fmt: skip
    assert_finalised(c, sid, peers)
    for proc in peers.values():
        proc.stop()  # closes the log (and drains bank-b's terminal to its end)
    stats = {org: json.loads((c.out(org) / "stats.json").read_text()) for org in ORGS}
    for org, s in stats.items():
        per = s["per_phase"]
        assert list(per) == list(SESSION_PHASES), org
        for key in ("rounds", "bytes_sent", "bytes_received"):
            assert sum(p[key] for p in per.values()) == s[key] > 0, (org, key)
        for key in ("network_wait_seconds", "chain_seconds"):
            assert sum(p[key] for p in per.values()) == pytest.approx(s[key], abs=0.01)
        assert sum(p["seconds"] for p in per.values()) <= s["wall_seconds"]
        assert per["compute"]["rounds"] > 0 and per["accept parameters"]["rounds"] == 0
        for phase, start in s["phases"].items():  # when each phase started, as before
            assert start <= s["wall_seconds"], phase
    plain = peers["bank-a"].text()
    assert "\x1b" not in plain, "escape codes in a log file"
    line = re.compile(r"^ *\d+\.\d\ds bank-a [a-zA-Z ]+: \S")
    assert all(line.match(ln) for ln in plain.splitlines() if ln), plain
    assert all(f"bank-a {phase}: started" in plain for phase in SESSION_PHASES), plain
    shown = ANSI.sub("", peers["bank-b"].text())
    assert "\x1b[" in peers["bank-b"].text(), "no panel drawn on the terminal"
    # The last frame stays on screen: its figures are the ones stats.json records.
    b = stats["bank-b"]
    last = shown[[m.start() for m in re.finditer(rf"bank-b +session {sid}", shown)][-1] :]
    assert "phase done" in last, last
    for words in (f"rounds {b['rounds']:,}", f"sent {b['bytes_sent']:,} B",
                  f"received {b['bytes_received']:,} B"):  # fmt: skip
        assert words in last, (words, last)
    compute = b["per_phase"]["compute"]
    row = next(ln.split() for ln in last.splitlines() if ln.split()[:1] == ["compute"])
    assert row[2:] == [f"{compute['rounds']:,}", f"{compute['bytes_sent']:,}",
                       f"{compute['bytes_received']:,}"], row  # fmt: skip
    events = peers["bank-c"].events()
    assert {e["phase"] for e in events if e["msg"] == "started"} == set(SESSION_PHASES)


def test_a_hung_peer_is_named_and_aborted_by_the_others(c: Consortium) -> None:
    c.serve()
    sid = c.open_session()
    peers = c.peers(sid, timeout=FAULT_TIMEOUT)
    # Stopped as the openings of the sacrifice check start: the others then block on a
    # receive from it (the mesh's timeout), not on the chain.
    peers["bank-c"].wait_for_phase("sacrifice check")
    peers["bank-c"].signal(signal.SIGSTOP)
    assert_survivors_name(peers, "bank-c", time.monotonic())
    assert_aborted(c, sid, {AbortClaim.TIMEOUT, AbortClaim.TRANSPORT_ERROR}, {"bank-a", "bank-b"})
    peers["bank-c"].signal(signal.SIGCONT)  # it wakes to an aborted session
    assert peers["bank-c"].wait(BOUND) != 0
    assert "was aborted on-chain by bank-" in peers["bank-c"].error()


def test_peers_wait_for_a_service_that_is_down_then_finalise(c: Consortium) -> None:
    sid = c.open_session()
    peers = c.peers(sid)
    for proc in peers.values():
        proc.wait_for("waiting for", 60)
    c.until(sid, lambda i: i.state == State.ACCEPTED, "accepted by every org")
    time.sleep(1.0)  # the peers keep waiting: nothing timed out
    assert all(p.popen.poll() is None for p in peers.values())
    c.serve()
    assert_finalised(c, sid, peers)


def test_a_killed_peer_is_named_and_aborted_then_a_rerun_finalises(c: Consortium) -> None:
    c.serve()
    first = c.open_session()
    peers = c.peers(first, timeout=FAULT_TIMEOUT)
    # Killed as its MAC check starts: the channels carry nothing more, so the others learn it
    # only from the chain, when its checkpoint commitment never comes (the step timeout).
    peers["bank-c"].wait_for_phase("MAC check")
    peers["bank-c"].signal(signal.SIGKILL)
    assert_survivors_name(peers, "bank-c", time.monotonic())
    assert_aborted(c, first, {AbortClaim.TIMEOUT}, {"bank-a", "bank-b"})
    # The rerun: a fresh session, fresh batches; the first session's are spent.
    second = c.open_session()
    assert_finalised(c, second, c.peers(second))
    deployment = deployment_id(c.sessions.chain_id, c.manager)
    for org in ORGS:
        old = c.sessions.batch_hash(first, c.address(org))
        new = c.sessions.batch_hash(second, c.address(org))
        assert old != new
        cache = OrgCache(c.out(org) / "cache")
        # Both batches are in the ledger; neither can be loaded again.
        assert cache.is_consumed(old) and cache.is_consumed(new)
        assert not cache.path(deployment, first).exists()
        box = load_keys(c.keys[org], PASSPHRASE).box_key
        with pytest.raises(MaterialError):
            cache.consume(deployment, first, old, box)


def _probe(endpoint: str, timeout: float) -> None:
    """Until ``endpoint`` accepts TCP connections."""
    host, _, port = endpoint.rpartition(":")
    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise AssertionError(f"nothing listens at {endpoint}") from None
            time.sleep(0.02)


def test_an_impostor_key_is_refused_and_a_wrong_key_handshake_too(
    c: Consortium, tmp_path: Path
) -> None:
    sid = c.open_session()
    stranger = tmp_path / "stranger.json"
    assert c.cli("keys", "new", "--out", str(stranger), "--strength", "interactive").returncode == 0
    # bank-a's account with an encryption key that is not the registered one.
    swapped = tmp_path / "swapped.json"
    account = load_keys(c.keys["bank-a"], PASSPHRASE).account
    new_keys(swapped, PASSPHRASE, strength="interactive",
             keys=KeyPair(account, PrivateKey.generate()))  # fmt: skip
    refused = [c.peer("bank-a", sid, key=stranger), c.peer("bank-a", sid, key=swapped)]
    assert [p.wait(60) for p in refused] == [1, 1]
    assert "is not a registered org" in refused[0].error()
    assert "encryption key registered for bank-a is not this key file's" in refused[1].error()
    assert c.info(sid).state == State.OPENED and not c.sessions.is_accepted(sid, account.address)

    # The honest run, with a process at bank-b's endpoint claiming to be bank-a.
    c.serve()
    peers = c.peers(sid)
    c.until(sid, lambda i: i.state == State.ACCEPTED, "accepted by every org")
    peers["bank-c"].signal(signal.SIGSTOP)  # bank-b keeps listening until bank-c connects
    _probe(c.endpoints["bank-b"], 60)
    registered = [c.registered_key(org) for org in ORGS]
    impostor = PrivateKey.generate()
    endpoints = [("127.0.0.1", free_ports(1)[0])] + [
        tuple(c.endpoints[o].rsplit(":", 1)) for o in ORGS[1:]
    ]
    net = PeerNetwork(0, impostor, [bytes(impostor.public_key), *registered[1:]],
                      [(h, int(p)) for h, p in endpoints],
                      session_tag(c.sessions.chain_id, c.manager, sid), timeout=3)  # fmt: skip
    failure: list[BaseException] = []
    thread = threading.Thread(target=lambda: _start(net, failure))
    thread.start()
    thread.join(30)
    peers["bank-c"].signal(signal.SIGCONT)
    assert failure and isinstance(failure[0], TransportError), failure
    assert_finalised(c, sid, peers)
    assert "claiming to be org 0" in peers["bank-b"].text()


def _start(net: PeerNetwork, failure: list[BaseException]) -> None:
    try:
        net.start()
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        failure.append(exc)
    finally:
        net.close()


def test_session_abort_closes_a_session_left_live(c: Consortium) -> None:
    sid = c.open_session()
    peers = c.peers(sid)
    c.until(sid, lambda i: i.state == State.ACCEPTED, "accepted by every org")
    for proc in peers.values():
        proc.signal(signal.SIGKILL)
        proc.wait(30)
    assert c.info(sid).state == State.ACCEPTED  # left live: no service, no peer
    done = c.cli("session", "abort", "--deployment", str(c.deployment), "--key",
                 str(c.keys["bank-a"]), "--session", str(sid), "--claim", "timeout")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"session {sid}: ABORTED" in done.stdout
    assert_aborted(c, sid, {AbortClaim.TIMEOUT}, {"bank-a"})


def test_ctrl_c_of_a_peer_mid_session_aborts_it_on_the_way_out(c: Consortium) -> None:
    c.serve()
    sid = c.open_session()
    peers = c.peers(sid, timeout=FAULT_TIMEOUT)
    peers["bank-b"].wait_for_phase("input")
    peers["bank-b"].signal(signal.SIGINT)
    assert peers["bank-b"].wait(BOUND) == 1
    assert_aborted(c, sid, {AbortClaim.PROTOCOL_ERROR}, {"bank-b"})
    for org in ("bank-a", "bank-c"):
        assert peers[org].wait(BOUND) != 0


def test_a_tampered_batch_in_the_outbox_is_refused(c: Consortium) -> None:
    sid = c.open_session()
    peers = c.peers(sid, timeout=FAULT_TIMEOUT)
    c.until(sid, lambda i: i.state == State.ACCEPTED, "accepted by every org")
    for proc in peers.values():
        proc.signal(signal.SIGSTOP)  # so no org fetches before the byte is flipped
    c.serve()
    c.until(sid, lambda i: i.state == State.PREPROCESSED, "preprocessed")
    deployment = deployment_id(c.sessions.chain_id, c.manager)
    sealed = c.outbox() / deployment / f"session-{sid}" / f"{c.address('bank-b').lower()}.sealed"
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 1
    sealed.write_bytes(bytes(data))
    since = time.monotonic()
    for proc in peers.values():
        proc.signal(signal.SIGCONT)
    assert peers["bank-b"].wait(BOUND) == 1
    assert "do not match the on-chain commitment" in peers["bank-b"].error()
    assert_aborted(c, sid, {AbortClaim.MATERIAL_REJECTED}, {"bank-b"})
    for org in ("bank-a", "bank-c"):
        assert peers[org].wait(max(1.0, since + BOUND - time.monotonic())) != 0
