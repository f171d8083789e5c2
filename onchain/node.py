"""How long to wait for a JSON-RPC node, how often to ask again, and what to say meanwhile.

web3's own retry loop (``HTTPProvider._make_request``) waits silently and lets the raw
``requests`` exception out at the end; with its defaults a hung node meant ~52 s of silence per
call and then a traceback. :class:`NodeProvider` keeps web3's knob (``exception_retry_
configuration``: which errors, how many attempts, the backoff factor, which methods are safe
to repeat) but runs the loop itself, so that it can cap the whole call at a stated bound, say
what it is waiting for, and end in one :class:`~onchain.exceptions.NodeUnavailable` naming the
node and the method (docs/design.md, "Accounts and chains").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from web3 import HTTPProvider
from web3.exceptions import TimeExhausted
from web3.providers.rpc.utils import (
    REQUEST_RETRY_ALLOWLIST,
    ExceptionRetryConfiguration,
    check_if_retry_on_failure,
)
from web3.types import RPCEndpoint

from onchain.exceptions import NodeUnavailable

log = logging.getLogger(__name__)

# One request: ganache and anvil answer in milliseconds and a loaded Besu/geth node answers a
# call or a gas estimate well within a second; 8 s leaves room for a slow estimate of a
# deployment without letting one hung request eat the whole budget below.
NODE_TIMEOUT = 8.0
# Attempts per call, with waits of 1, 2, 4 and 8 s between them (15 s in all): long enough for
# a node restarting (ganache is back in 1-3 s, a Besu node in a few more), short enough that a
# dead node is reported while the user is still watching.
NODE_ATTEMPTS = 5
NODE_BACKOFF = 1.0
# The bound on one call, attempts and waits together: a hung node (accepts, never answers)
# costs at most this, then a NodeUnavailable. Each attempt's timeout is cut to what is left.
NODE_PATIENCE = 25.0

# What "the node did not answer" is: requests' ConnectionError, Timeout and HTTPError are
# OSErrors, as are socket errors; TimeExhausted is web3's streaming read timeout.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeExhausted)
# Every method web3 deems safe to repeat but eth_sendRawTransaction: a raw transaction whose
# answer was lost may already be in the node (ganache even executes a nonce-0 one again), so
# the Sender asks for its hash before it sends the same bytes again.
RETRIED_METHODS = [m for m in REQUEST_RETRY_ALLOWLIST if m != "eth_sendRawTransaction"]


@dataclass(frozen=True)
class Patience:
    """How long one JSON-RPC call may take: per request, attempts, first wait (doubling),
    and the bound on the whole call."""

    timeout: float = NODE_TIMEOUT
    attempts: int = NODE_ATTEMPTS
    backoff: float = NODE_BACKOFF
    total: float = NODE_PATIENCE


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def failure_reason(exc: BaseException, timeout: float) -> str:
    """A transport failure in a few words (``connection refused``, ``no answer within 8 s``)
    instead of urllib3's nested reprs; never the request, which may hold a signed tx."""
    if isinstance(exc, requests.Timeout | TimeoutError | TimeExhausted):
        return f"no answer within {timeout:g} s"
    text = str(exc)
    match = _ERRNO.search(text)
    if match:
        return match.group(1).strip().lower()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "it closed the connection without answering"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


class NodeProvider(HTTPProvider):
    """An ``HTTPProvider`` whose transport failures are retried with backoff within
    :class:`Patience`, announced through ``progress`` (and the ``onchain.node`` logger), and
    end in :class:`NodeUnavailable`."""

    def __init__(
        self,
        url: str,
        patience: Patience = Patience(),  # noqa: B008 - frozen, shared safely
        progress: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": patience.timeout},
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=TRANSPORT_ERRORS,
                retries=patience.attempts,
                backoff_factor=patience.backoff,
                method_allowlist=RETRIED_METHODS,
            ),
        )
        self.url = url
        self.patience = patience
        self.progress = progress

    def _announce(self, message: str) -> None:
        log.warning(message)
        if self.progress is not None:
            self.progress(message)

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        config = self.exception_retry_configuration  # None: one attempt (first contact)
        retried = config is not None and check_if_retry_on_failure(method, config.method_allowlist)
        attempts = config.retries if retried else 1
        errors = tuple(config.errors) if config is not None else TRANSPORT_ERRORS
        start = time.monotonic()
        deadline = start + self.patience.total
        kwargs: dict[str, Any] = self.get_request_kwargs()
        for attempt in range(1, attempts + 1):
            timeout = max(0.1, min(self.patience.timeout, deadline - time.monotonic()))
            try:
                return self._request_session_manager.make_post_request(
                    self.endpoint_uri, request_data, **{**kwargs, "timeout": timeout}
                )
            except errors as exc:
                reason = failure_reason(exc, timeout)
                wait = config.backoff_factor * 2 ** (attempt - 1) if retried else 0.0
                if attempt == attempts or time.monotonic() + wait >= deadline:
                    elapsed = time.monotonic() - start
                    raise NodeUnavailable(self.url, method, reason, attempt, elapsed) from None
                self._announce(
                    f"node at {self.url} not answering {method} ({reason}), "
                    f"retry {attempt + 1}/{attempts} in {wait:g} s"
                )
                time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises
