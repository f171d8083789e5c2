"""Preprocessing batches over the network: the service's :class:`BatchServer` and the org's
:func:`fetch_batch` (docs/design.md, "Preprocessing delivery").

The batch is sealed to the org's key and its hash is on-chain, so plain HTTP carries it: the
transport needs neither confidentiality nor integrity. What it needs is that only the org may
fetch its batch (no one else learns its size or timing, or drains the service), so each request
carries the org's EIP-191 signature over a domain-separated message naming the deployment, the
session, the org and a timestamp; the server recovers the signer, requires it to be the org in
the path and the timestamp to be fresh, then asks ``authorize``. The client streams the body
into a temporary file of its cache and keeps it only if it hashes to the on-chain commitment.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from offchain.preprocessing.cache import DEPLOYMENT_RE, OrgCache, Outbox, batch_hash
from offchain.preprocessing.material import MaterialError

log = logging.getLogger(__name__)

#: How far a request's timestamp may be from the server's clock, in seconds.
FRESHNESS = 120
#: Bytes per chunk streamed out and in: memory stays bounded whatever the batch size.
CHUNK = 64 * 1024
SIGNATURE_HEADER = "X-Chainmpc-Signature"
TIMESTAMP_HEADER = "X-Chainmpc-Timestamp"
_PATH_RE = re.compile(r"/v1/batch/([^/]{1,100})/([0-9]{1,20})/(0x[0-9a-fA-F]{40})")
_MAX_PATH = 256
_MAX_DELAY = 5.0
_MAX_REASON = 200


def request_message(deployment: str, session: int, org: str, timestamp: int) -> str:
    """The text an org signs to fetch its batch; the domain line keeps a signature made for
    anything else (a login, another protocol) from being accepted here, and vice versa."""
    return (
        "chainmpc preprocessing batch request v1\n"
        f"deployment: {deployment}\nsession: {session}\norg: {org.lower()}\n"
        f"timestamp: {timestamp}"
    )


def sign_request(account: LocalAccount, deployment: str, session: int, timestamp: int) -> str:
    """The signature header value for ``account``'s request (hex, 0x-prefixed)."""
    message = encode_defunct(text=request_message(deployment, session, account.address, timestamp))
    return "0x" + account.sign_message(message).signature.hex().removeprefix("0x")


class _Refused(Exception):
    """A request the server answers with an error status and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # so even a garbled request gets a status line
    timeout = 15  # a client that stalls mid-request does not hold a thread for ever

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        try:
            deployment, session, org = self._check()
            with self.server.outbox.open(deployment, session, org) as f:
                self._stream(f)
        except _Refused as refused:
            self._refuse(refused.status, refused.reason)
        except MaterialError:
            self._refuse(HTTPStatus.NOT_FOUND, "no batch for this org and session yet")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; it will retry
        except Exception:  # noqa: BLE001 - one bad request must not take the server down
            log.exception("batch server: request failed")
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    def _check(self) -> tuple[str, int, str]:
        if len(self.path) > _MAX_PATH:
            raise _Refused(HTTPStatus.BAD_REQUEST, "path too long")
        if self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers:
            raise _Refused(HTTPStatus.BAD_REQUEST, "a batch request has no body")
        match = _PATH_RE.fullmatch(self.path)
        if match is None or not DEPLOYMENT_RE.fullmatch(match[1]):
            raise _Refused(HTTPStatus.NOT_FOUND, "not a batch path")
        deployment, session, org = match[1], int(match[2]), match[3].lower()
        if session >= 2**64:
            raise _Refused(HTTPStatus.NOT_FOUND, "not a session number")
        stamp, signature = self.headers.get(TIMESTAMP_HEADER), self.headers.get(SIGNATURE_HEADER)
        if stamp is None or signature is None:
            raise _Refused(HTTPStatus.FORBIDDEN, f"needs {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
        if not re.fullmatch(r"[0-9]{1,12}", stamp):
            raise _Refused(HTTPStatus.BAD_REQUEST, f"{TIMESTAMP_HEADER} is not unix seconds")
        if abs(time.time() - int(stamp)) > FRESHNESS:
            raise _Refused(
                HTTPStatus.FORBIDDEN, f"timestamp is more than {FRESHNESS} s from the server's"
            )
        signer = _recover(request_message(deployment, session, org, int(stamp)), signature)
        if signer != org:
            raise _Refused(HTTPStatus.FORBIDDEN, f"request for org {org} is not signed by it")
        if not self.server.authorize(deployment, session, org):
            raise _Refused(
                HTTPStatus.FORBIDDEN, f"org {org} may not fetch session {session}'s batch"
            )
        return deployment, session, org

    def _stream(self, f: BinaryIO) -> None:
        size = os.fstat(f.fileno()).st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        while chunk := f.read(CHUNK):
            self.wfile.write(chunk)

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        body = (reason + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        log.info("batch server %s: " + format, self.address_string(), *args)


def _recover(message: str, signature: str) -> str:
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{130}", signature):
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{SIGNATURE_HEADER} is not a 65-byte hex value")
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception:  # noqa: BLE001 - eth_account raises several kinds for a bad signature
        raise _Refused(HTTPStatus.FORBIDDEN, "signature does not recover a signer") from None
    return signer.lower()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    outbox: Outbox
    authorize: Callable[[str, int, str], bool]

    def handle_error(self, request: object, client_address: object) -> None:
        # The base class prints a traceback to stderr; one log line is enough.
        log.warning("batch server: connection from %s failed", client_address, exc_info=True)


class BatchServer:
    """Serves the outbox's sealed batches to the orgs they are for (run by the service)."""

    def __init__(
        self, outbox: Outbox, host: str, port: int, authorize: Callable[[str, int, str], bool]
    ) -> None:
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.outbox = outbox
        self._server.authorize = authorize
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """``host:port`` actually bound (a port of 0 asks the OS to choose)."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread until :meth:`close`."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"batch-server-{self.endpoint}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


def fetch_batch(
    endpoint: str,
    account: LocalAccount,
    deployment: str,
    session: int,
    cache: OrgCache,
    expected_hash: bytes,
    *,
    deadline: float,
    progress: Callable[[str], None] = lambda _: None,
) -> Path:
    """Fetch this org's batch from the service at ``endpoint`` into ``cache``; retry (with
    backoff, saying so through ``progress``) while the service is down, has no batch yet or
    sends bytes that miss ``expected_hash``, until ``deadline`` (unix time).

    The batch becomes the cache entry only once its sha256 equals ``expected_hash`` (the
    on-chain commitment). Raises :class:`MaterialError` naming the endpoint and the last
    outcome at the deadline, or at once if the server refuses the request (403/400).
    """
    target = cache.path(deployment, session)
    if cache.is_consumed(expected_hash):
        raise MaterialError(f"{target}: batch for session {session} is already consumed")
    if target.exists() and batch_hash(target.read_bytes()) == expected_hash:
        return target  # fetched before (e.g. by a run that stopped after this step)
    url = f"http://{endpoint}/v1/batch/{deployment}/{session}/{account.address.lower()}"
    delay = 0.5
    while True:
        try:
            return _fetch_once(url, account, deployment, session, cache, expected_hash, deadline)
        except _Retry as retry:
            last = str(retry)
        remaining = deadline - time.time()
        if remaining <= 0:
            raise MaterialError(
                f"preprocessing service at {endpoint}: no batch for session {session} by the "
                f"deadline; last: {last}"
            )
        wait = round(min(delay, _MAX_DELAY, remaining), 1) or 0.1
        progress(
            f"waiting for the preprocessing service at {endpoint}: {last}; retry in {wait:g} s"
        )
        time.sleep(wait)
        delay *= 2


class _Retry(Exception):
    """One attempt failed in a way that may pass: say why, and try again."""


def _fetch_once(
    url: str,
    account: LocalAccount,
    deployment: str,
    session: int,
    cache: OrgCache,
    expected_hash: bytes,
    deadline: float,
) -> Path:
    stamp = int(time.time())
    headers = {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_request(account, deployment, session, stamp),
    }
    timeout = max(1.0, min(15.0, deadline - time.time()))
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.ConnectionError as exc:
        refused = "refused" in str(exc).lower()
        raise _Retry("connection refused" if refused else "cannot connect") from None
    except requests.Timeout:
        raise _Retry(f"no answer within {timeout:g} s") from None
    with response:
        if response.status_code == HTTPStatus.OK:
            return _keep(response, deployment, session, cache, expected_hash)
        reason = _reason(response)
        if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.BAD_REQUEST):
            host = url.split("/")[2]
            raise MaterialError(
                f"preprocessing service at {host} refused the request: HTTP "
                f"{response.status_code}: {reason}"
            )
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise _Retry(f"batch not there yet ({reason})")
        raise _Retry(f"HTTP {response.status_code}: {reason}")


def _keep(
    response: requests.Response,
    deployment: str,
    session: int,
    cache: OrgCache,
    expected_hash: bytes,
) -> Path:
    length = response.headers.get("Content-Length", "")
    if not length.isdigit():
        raise _Retry("response without a Content-Length")

    def chunks() -> Iterator[bytes]:
        received = 0
        for chunk in response.iter_content(CHUNK):
            received += len(chunk)
            if received > int(length):
                raise _Retry(f"more than the announced {length} bytes")
            yield chunk
        if received != int(length):
            raise _Retry(f"short read: {received} of {length} bytes")

    try:
        return cache.receive(deployment, session, chunks(), expected_hash)
    except requests.RequestException:
        raise _Retry("connection broken mid-transfer") from None
    except MaterialError:
        if cache.path(deployment, session).exists():
            raise  # a batch is already the entry: never replaced
        raise _Retry("the bytes received do not match the on-chain commitment") from None


def _reason(response: requests.Response) -> str:
    # The server's one-line reason, bounded and printable: it goes into our own messages.
    text = response.raw.read(_MAX_REASON, decode_content=True).decode("utf-8", "replace")
    return "".join(c for c in text.strip() if c.isprintable()) or response.reason or "no reason"
