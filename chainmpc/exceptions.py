"""The exceptions of :mod:`chainmpc`, under one root: the CLI catches :class:`ChainmpcError`
(and the roots of :mod:`offchain` and :mod:`onchain`), never a bare ``Exception``. Each message
names what failed (the org, the parameter, the file and line) and never carries a secret."""

from __future__ import annotations


class ChainmpcError(Exception):
    """Root of every error raised by :mod:`chainmpc`."""


class InputError(ChainmpcError, ValueError):
    """An input, parameter or job file the job cannot accept; the message names it (file,
    line and column, or the job file's key)."""


class ParameterError(ChainmpcError, ValueError):
    """A session parameter this org does not accept; the message names it."""


class ServiceError(ChainmpcError, RuntimeError):
    """The service refuses to prepare this session; the message says why."""


class SessionAborted(ChainmpcError):
    """The session is aborted on-chain (by this org or another): stop."""


class BenchError(ChainmpcError, RuntimeError):
    """A benchmark run that gave no figures to report (its session aborted, or its audit
    failed); the message names the algorithm and the dataset."""
