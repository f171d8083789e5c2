"""The exceptions of :mod:`onchain`, under one root, as web3.py's ``exceptions.py`` does:
catch :class:`OnchainError` to catch them all. A revert's message carries the decoded custom
error (``getSession reverted: UnknownSession(2)``), never a raw selector or a key."""

from __future__ import annotations


class OnchainError(Exception):
    """Root of every error raised by :mod:`onchain`."""


class ChainError(OnchainError, RuntimeError):
    """The chain cannot be reached or used; the message says which and why."""


class NodeUnavailable(ChainError):
    """The node did not answer a JSON-RPC call within its patience (refused, hung, dropped the
    connection): a failure of the node, never a revert. ``what`` names the transaction or call
    it was for, when the caller knows."""

    def __init__(
        self,
        url: str,
        method: str,
        reason: str,
        attempts: int = 1,
        seconds: float = 0.0,
        what: str | None = None,
    ) -> None:
        self.url, self.method, self.reason = url, method, reason
        self.attempts, self.seconds, self.what = attempts, seconds, what
        about = f" ({what})" if what else ""
        tries = f" ({attempts} attempts in {seconds:.0f} s)" if attempts > 1 else ""
        super().__init__(f"the node at {url} did not answer {method}{about}: {reason}{tries}")

    def about(self, what: str) -> NodeUnavailable:
        """The same failure, saying which transaction or call it was for."""
        return NodeUnavailable(
            self.url, self.method, self.reason, self.attempts, self.seconds, what
        )


class TransactionError(OnchainError, RuntimeError):
    """A transaction or call reverted or failed; the message names the function and the
    reason."""


class CompileError(OnchainError, RuntimeError):
    """The contracts could not be compiled (toolchain missing or solc reported errors)."""
