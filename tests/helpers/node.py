"""Misbehaving nodes for the fault tests: a ganache this test owns (killed and restarted at
will, its state in a database directory), a TCP server that accepts and never answers, and a
JSON-RPC proxy that can forward a request and then drop the answer, or slip another raw
transaction in ahead of one."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from web3 import Web3

from offchain.transport.mesh import free_ports

ROOT = Path(__file__).resolve().parents[2]
GANACHE = ROOT / "node_modules" / ".bin" / "ganache"


class Ganache:
    """A ganache process (deterministic wallet, chain id 1337) on a free port of ``host``; with
    ``db`` its chain survives a restart. Every test's node is started here: the session-wide
    one (tests/conftest.py), the ones in network namespaces, the ones the fault tests kill."""

    def __init__(self, db: Path | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        (self.port,) = free_ports(1, host)
        self.db = db
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its JSON-RPC endpoint."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start it and wait until it answers (ganache needs about a second). A free port can
        be taken by another process before ganache binds it; then it starts again on another
        (a restart with ``db`` keeps its port: its clients know the URL)."""
        if shutil.which("node") is None or not GANACHE.exists():
            raise RuntimeError(f"{GANACHE}: ganache is not installed (run `npm ci`)")
        for attempt in range(3):
            error = self._start_once()
            if error is None:
                return
            if "EADDRINUSE" not in error or self.db is not None or attempt == 2:
                raise RuntimeError(f"ganache on {self.url} exited: {error}")
            (self.port,) = free_ports(1, self.host)

    def _start_once(self) -> str | None:
        args = [str(GANACHE), "--wallet.deterministic", "--chain.chainId", "1337"]
        args += ["--server.host", self.host, "--server.port", str(self.port)]
        args += ["--logging.quiet"]
        if self.db is not None:
            args += ["--database.dbPath", str(self.db)]
        # Started from its own binary (not npx) so that ending this PID ends the node.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        probe = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                assert self.proc.stderr is not None
                error = self.proc.stderr.read().decode(errors="replace")[-500:]
                self.proc = None
                return error
            try:
                if probe.is_connected():
                    return None
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ganache on {self.url} did not start within 60 s")
            time.sleep(0.1)

    def stop(self) -> None:
        """End this process (SIGTERM, so ganache flushes its database)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextmanager
def ganache(host: str = "127.0.0.1") -> Iterator[str]:
    """A fresh :class:`Ganache` on ``host`` for the duration of the block; its URL."""
    node = Ganache(host=host)
    node.start()
    try:
        yield node.url
    finally:
        node.stop()


class StalledNode:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte: a hung node."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # kept open, never read, never answered

    def close(self) -> None:
        """Stop accepting and close the held connections."""
        self.sock.close()
        for conn in self.held:
            conn.close()


#: A hook sees each request's JSON body before it is forwarded; it returns "drop" to forward it
#: and then close the connection without an answer, "cut" to close it without forwarding (a
#: node gone), "twice" to forward it twice and answer with the second answer (a load balancer
#: that retried upstream), anything else to answer normally.
Hook = Callable[[dict[str, Any]], str | None]


class Proxy:
    """A JSON-RPC proxy in front of ``upstream``; ``hook`` decides per request."""

    def __init__(self, upstream: str, hook: Hook) -> None:
        self.upstream = upstream
        self.hook = hook
        self.methods: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                proxy.methods.append(request.get("method"))
                action = proxy.hook(request)
                if action == "cut":
                    self.close_connection = True
                    return
                answer = requests.post(
                    proxy.upstream,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                if action == "twice":
                    answer = requests.post(
                        proxy.upstream,
                        data=body,
                        headers={"Content-Type": "application/json"},
                        timeout=30,
                    )
                if action == "drop":  # it reached the node; the client never hears back
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def send_raw(url: str, raw: bytes) -> Any:
    """Send one raw transaction to ``url`` directly (bypassing the proxy); the JSON answer."""
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction"}
    payload["params"] = ["0x" + raw.hex()]
    return requests.post(url, json=payload, timeout=30).json()
