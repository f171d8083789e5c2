"""Misbehaving nodes for the fault tests: a ganache this test owns (killed and restarted at
will, its state in a database directory), a TCP server that accepts and never answers, and a
JSON-RPC proxy that can forward a request and then drop the answer, or slip another raw
transaction in ahead of one."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from web3 import Web3

from offchain.transport.mesh import free_ports

ROOT = Path(__file__).resolve().parents[2]
GANACHE = ROOT / "node_modules" / ".bin" / "ganache"


class Ganache:
    """A ganache process on a fixed free port; with ``db`` its chain survives a restart."""

    def __init__(self, db: Path | None = None) -> None:
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers (ganache needs about a second)."""
        args = [str(GANACHE), "--wallet.deterministic", "--chain.chainId", "1337"]
        args += ["--server.host", "127.0.0.1", "--server.port", str(self.port)]
        args += ["--logging.quiet"]
        if self.db is not None:
            args += ["--database.dbPath", str(self.db)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        probe = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ganache exited: {self.proc.stderr.read().decode()[-500:]}")
            try:
                if probe.is_connected():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ganache did not start within 60 s")
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
