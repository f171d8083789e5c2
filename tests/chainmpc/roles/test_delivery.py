"""Batches over the network: a real BatchServer on 127.0.0.1, real TCP, real files; honest
fetches, impostors, stale and replayed requests, a lying server, a late one and a dead one."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from nacl.public import PrivateKey

from chainmpc.roles.delivery import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BatchServer,
    fetch_batch,
    request_message,
    sign_request,
)
from offchain.preprocessing.cache import OrgCache, Outbox, batch_hash, deployment_id, seal
from offchain.preprocessing.material import MaterialError
from offchain.transport.mesh import free_ports
from tests.helpers.harness import deal

DEP = deployment_id(1337, "0x" + "ab" * 20)
ORG_A, ORG_B, OUTSIDER = (Account.create() for _ in range(3))
PARTICIPANTS = {ORG_A.address.lower(), ORG_B.address.lower()}


def authorize(deployment: str, session: int, org: str) -> bool:
    return deployment == DEP and session == 1 and org in PARTICIPANTS


def files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def sealed() -> tuple[PrivateKey, bytes]:
    key = PrivateKey.generate()
    return key, seal(deal(2, 1)[0], bytes(key.public_key))


def serve(outbox: Outbox, port: int = 0) -> BatchServer:
    server = BatchServer(outbox, "127.0.0.1", port, authorize)
    server.start()
    return server


@pytest.fixture
def service(tmp_path, sealed):
    """A service whose outbox holds org A's batch for session 1."""
    outbox = Outbox(tmp_path / "outbox")
    with outbox.claim(DEP, 1):
        outbox.put(DEP, 1, ORG_A.address, sealed[1])
    server = serve(outbox)
    yield server, outbox
    server.close()


def get(endpoint: str, org: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"http://{endpoint}/v1/batch/{DEP}/1/{org}", headers=headers, timeout=10)


def signed_by(signer, org: str, stamp: int) -> dict[str, str]:
    """Headers of a request for ``org``'s batch, signed by ``signer`` at ``stamp``."""
    message = encode_defunct(text=request_message(DEP, 1, org, stamp))
    return {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: signer.sign_message(message).signature.hex(),
    }


def test_honest_fetch_lands_in_the_cache_and_loads(service, sealed, tmp_path) -> None:
    server, _ = service
    key, data = sealed
    cache = OrgCache(tmp_path / "org-a")
    seen: list[str] = []
    path = fetch_batch(
        server.endpoint, ORG_A, DEP, 1, cache, batch_hash(data),
        deadline=time.time() + 30, progress=seen.append,
    )  # fmt: skip
    assert path == cache.path(DEP, 1) and path.read_bytes() == data
    assert files(cache.directory) == [path]  # no temporary file left
    assert cache.consume(DEP, 1, batch_hash(data), key).session == 1
    assert seen == []


def test_the_response_streams_with_its_length(service, sealed) -> None:
    server, _ = service
    stamp = int(time.time())
    headers = {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_request(ORG_A, DEP, 1, stamp),
    }
    response = get(server.endpoint, ORG_A.address, headers)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(sealed[1]))
    assert response.content == sealed[1]


def test_a_wrong_signer_is_refused(service) -> None:
    server, _ = service
    response = get(
        server.endpoint, ORG_A.address, signed_by(OUTSIDER, ORG_A.address, int(time.time()))
    )
    assert response.status_code == 403
    assert "not signed by it" in response.text


def test_an_org_cannot_fetch_another_orgs_batch(service) -> None:
    server, _ = service
    response = get(
        server.endpoint, ORG_A.address, signed_by(ORG_B, ORG_A.address, int(time.time()))
    )
    assert response.status_code == 403
    assert "not signed by it" in response.text


def test_an_org_the_service_does_not_authorize_is_refused_at_once(service, tmp_path) -> None:
    server, _ = service
    response = get(
        server.endpoint, OUTSIDER.address, signed_by(OUTSIDER, OUTSIDER.address, int(time.time()))
    )
    assert response.status_code == 403 and "may not fetch" in response.text
    started = time.monotonic()
    with pytest.raises(MaterialError, match="refused the request: HTTP 403: org .* may not") as err:
        fetch_batch(server.endpoint, OUTSIDER, DEP, 1, OrgCache(tmp_path / "c"), b"\0" * 32,
                    deadline=time.time() + 30)  # fmt: skip
    assert time.monotonic() - started < 5  # a refusal is final: no waiting for the deadline
    assert OUTSIDER.key.hex().removeprefix("0x") not in str(err.value)


@pytest.mark.parametrize("skew", [-150, 150])
def test_a_stale_or_future_timestamp_is_refused(service, skew) -> None:
    server, _ = service
    response = get(
        server.endpoint, ORG_A.address, signed_by(ORG_A, ORG_A.address, int(time.time()) + skew)
    )
    assert response.status_code == 403
    assert "timestamp" in response.text


def test_a_signature_over_other_fields_is_refused(service) -> None:
    server, _ = service
    stamp = int(time.time())
    headers = signed_by(ORG_A, ORG_A.address, stamp)
    headers[TIMESTAMP_HEADER] = str(stamp - 1)  # replayed with a new timestamp
    assert get(server.endpoint, ORG_A.address, headers).status_code == 403


def test_tampered_bytes_are_rejected_and_the_cache_stays_empty(tmp_path, sealed) -> None:
    _, data = sealed
    outbox = Outbox(tmp_path / "outbox")
    with outbox.claim(DEP, 1):
        outbox.put(DEP, 1, ORG_A.address, data[:-1] + bytes([data[-1] ^ 1]))
    server = serve(outbox)
    cache = OrgCache(tmp_path / "org-a")
    seen: list[str] = []
    try:
        with pytest.raises(MaterialError, match="do not match the on-chain commitment"):
            fetch_batch(server.endpoint, ORG_A, DEP, 1, cache, batch_hash(data),
                        deadline=time.time() + 2, progress=seen.append)  # fmt: skip
    finally:
        server.close()
    assert files(tmp_path / "org-a") == []
    assert seen and "retry in" in seen[0]


def test_a_short_read_keeps_nothing(tmp_path, sealed) -> None:
    _, data = sealed
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    stop = threading.Event()

    def truncating_server() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                conn.sendall(head + data[: len(data) // 2])

    thread = threading.Thread(target=truncating_server, daemon=True)
    thread.start()
    cache = OrgCache(tmp_path / "org-a")
    try:
        with pytest.raises(
            MaterialError, match=f"127.0.0.1:{port}.*last: (short read|connection broken)"
        ):
            fetch_batch(f"127.0.0.1:{port}", ORG_A, DEP, 1, cache, batch_hash(data),
                        deadline=time.time() + 2)  # fmt: skip
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert files(tmp_path / "org-a") == []


def test_a_service_that_comes_up_late_is_waited_for(tmp_path, sealed) -> None:
    _, data = sealed
    (port,) = free_ports(1)
    cache = OrgCache(tmp_path / "org-a")
    seen: list[str] = []
    result: list[Path | Exception] = []

    def fetch() -> None:
        try:
            result.append(fetch_batch(f"127.0.0.1:{port}", ORG_A, DEP, 1, cache,
                                      batch_hash(data), deadline=time.time() + 30,
                                      progress=seen.append))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - reported below
            result.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(1.2)  # the service is down
    outbox = Outbox(tmp_path / "outbox")
    server = serve(outbox, port)  # up, but nothing dealt yet
    try:
        while not any("not there yet" in line for line in seen):
            assert thread.is_alive(), result
            time.sleep(0.1)
        with outbox.claim(DEP, 1):
            outbox.put(DEP, 1, ORG_A.address, data)
        thread.join(timeout=30)
    finally:
        server.close()
    assert result == [cache.path(DEP, 1)]
    assert seen[0].startswith(
        f"waiting for the preprocessing service at 127.0.0.1:{port}: connection refused; retry in"
    )


def test_the_deadline_ends_the_wait_naming_the_endpoint(tmp_path) -> None:
    (port,) = free_ports(1)
    started = time.monotonic()
    with pytest.raises(MaterialError, match=f"127.0.0.1:{port}.*last: connection refused") as err:
        fetch_batch(f"127.0.0.1:{port}", ORG_A, DEP, 1, OrgCache(tmp_path), b"\0" * 32,
                    deadline=time.time() + 1.5)  # fmt: skip
    assert time.monotonic() - started < 6
    assert ORG_A.key.hex().removeprefix("0x") not in str(err.value)


def raw(endpoint: str, request: bytes) -> bytes:
    host, port = endpoint.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /v1/batch/" + b"1" * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /v1/batch/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"GET /v1/batch/1-0xzz/1/0x" + b"1" * 40 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
        (b"POST /v1/batch HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", b"501"),
        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", b"431"),
    ],
    ids=["huge-line", "long-path", "garbage", "traversal", "bad-deployment", "post", "headers"],
)
def test_malformed_requests_are_refused_cleanly(service, capfd, request_bytes, status) -> None:
    server, _ = service
    reply = raw(server.endpoint, request_bytes)
    assert reply.split(b" ")[1] == status
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "0x" + "00" * 65},
        {TIMESTAMP_HEADER: str(int(time.time())), SIGNATURE_HEADER: "not hex"},
        {TIMESTAMP_HEADER: str(int(time.time())), SIGNATURE_HEADER: "0x" + "00" * 65},
    ],
)
def test_bad_authentication_headers_are_refused(service, capfd, headers) -> None:
    server, _ = service
    response = get(server.endpoint, ORG_A.address, headers)
    assert response.status_code in (400, 403)
    assert "Traceback" not in capfd.readouterr().err
    # ...and the server still serves an honest request afterwards
    stamp = int(time.time())
    good = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign_request(ORG_A, DEP, 1, stamp)}
    assert get(server.endpoint, ORG_A.address, good).status_code == 200
