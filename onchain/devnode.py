"""The embedded chain served over HTTP JSON-RPC, so separate processes can share it.

``chainmpc run`` without ``--rpc`` starts the service and each org as its own OS process, as on
separate machines; they need a node to talk to. This serves the in-process eth-tester chain
(the one ``chainmpc demo`` uses) on 127.0.0.1 for the life of the ``run`` process, one request
at a time (eth-tester is not thread-safe). It is a development chain: its funded accounts have
well-known keys, so it listens on loopback only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from web3 import Web3
from web3.middleware import combine_middleware
from web3.providers.eth_tester import EthereumTesterProvider

#: A JSON-RPC request larger than this is refused (a contract deployment is about 30 KB).
MAX_REQUEST = 1 << 20


class DevNode:
    """An eth-tester chain behind an HTTP JSON-RPC endpoint on 127.0.0.1 (port 0: any free)."""

    def __init__(self, port: int = 0) -> None:
        provider = EthereumTesterProvider()
        # Only eth-tester's own request and result formatting (JSON-RPC in, JSON-RPC out); the
        # client's web3 applies the rest.
        self._request = combine_middleware(
            middleware=provider._middleware,  # noqa: SLF001 - the provider's formatters
            w3=Web3(provider),
            provider_request_fn=provider.make_request,
        )
        self._lock = threading.Lock()
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_REQUEST:
                    self.send_error(413 if length else 411)
                    return
                try:
                    request = json.loads(self.rfile.read(length))
                    body = json.dumps(node.answer(request)).encode()
                except (ValueError, TypeError, KeyError):
                    self.send_error(400, "not a JSON-RPC request")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:  # quiet: the run prints its own progress
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, request: Any) -> Any:
        """The JSON-RPC response to ``request`` (a single call or a batch)."""
        if isinstance(request, list):
            return [self.answer(r) for r in request]
        with self._lock:
            response = dict(self._request(request["method"], request["params"]))
        response["id"] = request.get("id")
        response["jsonrpc"] = "2.0"
        return json.loads(json.dumps(response, default=_jsonable))

    def start(self) -> DevNode:
        """Serve in a background thread; returns ``self``."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DevNode:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    """eth-tester answers with bytes and HexBytes where JSON-RPC has 0x-hex strings."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot encode {type(value).__name__}")
