"""The exceptions of :mod:`onchain`, under one root, as web3.py's ``exceptions.py`` does:
catch :class:`OnchainError` to catch them all. A revert's message carries the decoded custom
error (``getSession reverted: UnknownSession(2)``), never a raw selector or a key."""

from __future__ import annotations


class OnchainError(Exception):
    """Root of every error raised by :mod:`onchain`."""


class ChainError(OnchainError, RuntimeError):
    """The chain cannot be reached or used; the message says which and why."""


class TransactionError(OnchainError, RuntimeError):
    """A transaction or call reverted or failed; the message names the function and the
    reason."""


class CompileError(OnchainError, RuntimeError):
    """The contracts could not be compiled (toolchain missing or solc reported errors)."""
