"""The exceptions of :mod:`offchain`, under one root: catch :class:`OffchainError` to catch
them all. Messages name what failed (the check, the peer, the field or the material kind) and
never carry a share, a MAC share, a key or a private input."""

from __future__ import annotations


class OffchainError(Exception):
    """Root of every error raised by :mod:`offchain`."""


class FieldError(OffchainError, ValueError):
    """A value that is not an element of the field, or bytes that do not decode to one."""


class MaterialError(OffchainError, ValueError):
    """Material that is malformed, for another session/org, or already used up."""


class ProtocolAbort(OffchainError):
    """The protocol found a deviation and must stop (the message says what and where)."""


class TransportError(OffchainError):
    """A channel failed: peer unreachable, rejected, closed, timed out or tampered with.

    The message names the peer by index and says what went wrong; it never contains key
    material or payload bytes. ``peer`` is that index (``None`` if no single peer is at
    fault).
    """

    def __init__(self, message: str, peer: int | None = None) -> None:
        super().__init__(message)
        self.peer = peer
