"""One nonce at a time per account on this machine: a lock held from reading the account's
pending nonce until the node has taken the transaction signed with it.

Three demos funded by the same account, or two threads sending from one, otherwise read the
same nonce and all but one fail with "nonce too low". The lock is an ``flock`` on a file per
(chain id, address), so it holds across threads and processes alike and is released by the
kernel if its holder dies. Another machine with the same key is not covered; the Sender's
nonce-conflict handling is (docs/design.md, "Accounts and chains").
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from onchain.exceptions import ChainError

# A holder keeps the lock for one send: reads, signing and the send with its retries, each
# call bounded by NODE_PATIENCE (25 s). Several queued senders ahead of us fit in this.
NONCE_LOCK_TIMEOUT = 180.0
_POLL = 0.05  # seconds between attempts to take a busy lock

_in_process: dict[Path, threading.Lock] = {}
_guard = threading.Lock()


def nonce_lock_path(chain_id: int, address: str) -> Path:
    """The lock file of ``address`` on chain ``chain_id``, in a directory of this user's
    (``0700``: other users cannot hold our accounts' locks)."""
    directory = Path(tempfile.gettempdir()) / f"chainmpc-nonces-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"{chain_id}-{address.lower()}.lock"


@contextmanager
def nonce_lock(chain_id: int, address: str, timeout: float = NONCE_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the nonce lock of ``address`` on ``chain_id``; :class:`ChainError` naming the lock
    file if another holder keeps it longer than ``timeout`` seconds."""
    path = nonce_lock_path(chain_id, address)
    with _guard:
        local = _in_process.setdefault(path, threading.Lock())
    # The thread lock first: threads of this process queue here, not on the file.
    if not local.acquire(timeout=timeout):
        raise ChainError(f"the nonce lock {path} was busy for {timeout:g} s (held in this process)")
    try:
        with path.open("a") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ChainError(
                            f"the nonce lock {path} was held by another process for "
                            f"{timeout:g} s; is another chainmpc stuck sending from {address}?"
                        ) from None
                    time.sleep(_POLL)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        local.release()
