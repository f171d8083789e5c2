"""Sealed preprocessing batches at rest: the service's outbox and each org's cache.

The service seals an org's batch to that org's public key (a libsodium sealed box: anonymous
sender, only the recipient can open it) and puts it in its :class:`Outbox`; the org fetches it
over the network (``chainmpc.roles.delivery``) into its :class:`OrgCache`. The hash of the
sealed bytes is what the service commits on-chain, so an org checks, before a batch becomes a
cache entry and again before decrypting it, that it holds exactly the committed batch.

Batches are named by deployment (chain id and session manager, :func:`deployment_id`) and
session, so two deployments sharing one directory never collide. Every write goes to a unique
temporary name in the target's directory, is fsynced and then linked into place (``os.link``
fails if the target exists), so a failed or concurrent write leaves nothing half-written and a
stale temporary file never blocks a retry. Consumption is recorded by batch hash in a ledger of
files created with ``O_EXCL``: restoring a consumed file, or the same bytes under another name,
cannot be loaded twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, cast

from nacl.public import PrivateKey

from offchain.preprocessing.batch import open_material, write_material
from offchain.preprocessing.material import MaterialError, OrgMaterial
from offchain.preprocessing.sealed import BatchReader

#: A deployment id as :func:`deployment_id` makes it; checked before it names a directory.
DEPLOYMENT_RE = re.compile(r"[0-9]{1,20}-0x[0-9a-f]{40}")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
# Ledger entries and claims must be created by exactly one caller: O_EXCL makes the kernel,
# not a check-then-create race, decide who that is.
_LEDGER_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY
_CLAIM_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY
_BLOCK = 1 << 20


def batch_hash(sealed: bytes) -> bytes:
    """The 32-byte digest of a sealed batch that is committed on-chain."""
    return hashlib.sha256(sealed).digest()


def seal(material: OrgMaterial, recipient: bytes) -> bytes:
    """Encrypt in-memory ``material`` to the org whose Curve25519 public key is ``recipient``,
    as one chunked batch in memory (small batches; the service streams to a file instead)."""
    out = io.BytesIO()
    write_material(material, out, recipient)
    return out.getvalue()


def hash_file(f: BinaryIO) -> bytes:
    """The sha256 of an open file's whole content, read in blocks (memory: one block)."""
    digest, offset = hashlib.sha256(), 0
    while block := os.pread(f.fileno(), _BLOCK, offset):
        digest.update(block)
        offset += len(block)
    return digest.digest()


def deployment_id(chain_id: int, manager: str) -> str:
    """The name of one deployment's batches, ``"<chain id>-<manager address>"``: session
    numbers restart with every session manager, so a session number alone is ambiguous."""
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id < 0:
        raise MaterialError(f"chain id {chain_id!r} is not a non-negative integer")
    if not isinstance(manager, str) or not _ADDRESS_RE.fullmatch(manager):
        raise MaterialError(f"session manager {manager!r} is not a 0x-prefixed 20-byte address")
    return _deployment(f"{chain_id}-{manager.lower()}")


def _deployment(deployment: str) -> str:
    # Deployment ids name directories and arrive in URLs: anything else could escape the root.
    if not isinstance(deployment, str) or not DEPLOYMENT_RE.fullmatch(deployment):
        raise MaterialError(f"deployment {deployment!r} is not a deployment id (chain-manager)")
    return deployment


def _session(session: int) -> int:
    if isinstance(session, bool) or not isinstance(session, int) or not 0 <= session < 2**64:
        raise MaterialError(f"session {session!r} is not a session number")
    return session


def _org(org: str) -> str:
    if not isinstance(org, str) or not _ADDRESS_RE.fullmatch(org):
        raise MaterialError(f"org {org!r} is not a 0x-prefixed 20-byte address")
    return org.lower()


def _fsync_dir(directory: Path) -> None:
    # The link is durable only once its directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Hashing:
    """A binary sink that hashes what it passes on (the streamed write of a batch)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out, self.digest = out, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._out.write(data)


@contextmanager
def atomic_file(target: Path, expected_hash: bytes | None = None) -> Iterator[BinaryIO]:
    """A file to write ``target`` through, all or nothing, never replacing an existing file.

    The bytes go to a unique temporary file next to ``target``; when the block ends they are
    fsynced and (when ``expected_hash`` is given) must hash to it before they are linked into
    place; if the block raises, or the hash differs, the temporary file is removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            sink = _Hashing(out) if expected_hash is not None else None
            yield cast(BinaryIO, sink) if sink is not None else out
            out.flush()
            os.fsync(out.fileno())
        if sink is not None and sink.digest.digest() != expected_hash:
            raise MaterialError(f"{target}: batch does not match its on-chain commitment")
        try:
            os.link(tmp, target)  # fails if the target exists: never replace a batch
        except FileExistsError:
            raise MaterialError(f"{target}: a batch is already here") from None
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(
    target: Path, chunks: Iterable[bytes], expected_hash: bytes | None = None
) -> Path:
    """Write ``chunks`` to ``target`` through :func:`atomic_file`."""
    with atomic_file(target, expected_hash) as out:
        for chunk in chunks:
            out.write(chunk)
    return target


class OrgCache:
    """One org's cache directory: one file per (deployment, session), and the ledger of the
    hashes of the batches it has consumed."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        # Deployment ids start with a digit, so this name never collides with one.
        self._ledger = self.directory / "consumed"

    def path(self, deployment: str, session: int) -> Path:
        """Where the sealed batch for ``session`` of ``deployment`` lives."""
        return self.directory / _deployment(deployment) / f"session-{_session(session)}.sealed"

    def deliver(self, deployment: str, session: int, sealed: bytes) -> Path:
        """Store a sealed batch, all or nothing. Refuses to overwrite an existing batch."""
        return write_atomically(self.path(deployment, session), [sealed])

    def sink(self, deployment: str, session: int) -> AbstractContextManager[BinaryIO]:
        """A file to stream a sealed batch into (:func:`atomic_file`): stored as one
        :meth:`deliver` would, once the block ends without error."""
        return atomic_file(self.path(deployment, session))

    def receive(
        self, deployment: str, session: int, chunks: Iterable[bytes], expected_hash: bytes
    ) -> Path:
        """Store a batch streamed in ``chunks`` only if it hashes to ``expected_hash`` (the
        on-chain commitment); otherwise, or if the stream breaks, keep nothing."""
        return write_atomically(self.path(deployment, session), chunks, expected_hash)

    def is_consumed(self, expected_hash: bytes) -> bool:
        """Whether the batch with this hash has been consumed here (so fetching it is moot)."""
        return (self._ledger / expected_hash.hex()).exists()

    def consume(
        self, deployment: str, session: int, expected_hash: bytes, secret_key: PrivateKey
    ) -> OrgMaterial:
        """Verify, decrypt and take the batch for ``session``: loadable once per hash.

        Raises :class:`MaterialError` if the batch is missing or already consumed, if its hash
        differs from the on-chain commitment (edited or swapped file: the file is left as it
        is), or if it does not decrypt or parse, or belongs to another session.
        """
        source = self.path(deployment, session)
        ledger = self._ledger / expected_hash.hex()
        try:
            f = source.open("rb")
        except FileNotFoundError:
            state = "already consumed" if ledger.exists() else "missing"
            raise MaterialError(f"{source}: batch for session {session} is {state}") from None
        try:
            material = self._open(f, source, session, expected_hash, secret_key)
        except BaseException:
            f.close()
            raise
        self._ledger.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(ledger, _LEDGER_FLAGS, 0o600))
        except FileExistsError:
            f.close()
            raise MaterialError(
                f"{source}: batch for session {session} is already consumed"
            ) from None
        _fsync_dir(self._ledger)
        # Spent: the ledger, not this, stops a second load. The material keeps reading its
        # triples through the open file, which outlives the name.
        source.unlink(missing_ok=True)
        return material

    @staticmethod
    def _open(
        f: BinaryIO, source: Path, session: int, expected_hash: bytes, secret_key: PrivateKey
    ) -> OrgMaterial:
        # Every check runs before the ledger entry, so a refused batch stays loadable once the
        # right file (or key) is back.
        if hash_file(f) != expected_hash:
            raise MaterialError(f"{source}: batch does not match its on-chain commitment")
        material = open_material(BatchReader(f, secret_key, str(source)))
        if material.session != session:
            raise MaterialError(f"{source}: batch is for session {material.session}")
        return material


class Outbox:
    """The service's sealed batches awaiting pickup, one file per (deployment, session, org),
    and the claim that makes one service the only dealer of a session."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        # Batches put under each claim this instance holds, so a failed dealing removes them.
        self._held: dict[tuple[str, int], list[Path]] = {}

    def _session_dir(self, deployment: str, session: int) -> Path:
        return self.directory / _deployment(deployment) / f"session-{_session(session)}"

    def _claim_path(self, deployment: str, session: int) -> Path:
        return self.directory / _deployment(deployment) / f"session-{_session(session)}.claim"

    @contextmanager
    def claim(self, deployment: str, session: int) -> Iterator[None]:
        """Be the only service dealing ``session``: inside, :meth:`put` may store its batches.

        Two services dealing one session would commit two different alphas' batches; the
        claim file (created with ``O_EXCL``) lets exactly one in. If the body raises, the
        batches it put are removed and the claim is released, so a retry deals afresh; if it
        succeeds, the claim stays until :meth:`forget`.
        """
        path = self._claim_path(deployment, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, _CLAIM_FLAGS, 0o600)
        except FileExistsError:
            raise MaterialError(
                f"session {session} is already being dealt by another service "
                f"(claim file {path}; remove it only if no service is dealing this session)"
            ) from None
        with os.fdopen(fd, "w") as out:
            out.write(f"pid {os.getpid()}\n")
        key = (deployment, session)
        self._held[key] = []
        try:
            yield
        except BaseException:
            for put in self._held.pop(key):
                put.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise
        self._held.pop(key, None)

    def put(self, deployment: str, session: int, org: str, sealed: bytes) -> Path:
        """Store ``org``'s sealed batch for pickup (inside :meth:`claim` only); all or
        nothing, never replacing a batch already put."""
        held = self._held.get((deployment, session))
        if held is None:
            raise MaterialError(f"session {session}: put outside claim() for this session")
        target = self._session_dir(deployment, session) / f"{_org(org)}.sealed"
        held.append(write_atomically(target, [sealed]))
        return target

    @contextmanager
    def sink(self, deployment: str, session: int, org: str) -> Iterator[BinaryIO]:
        """A file to stream ``org``'s sealed batch into (inside :meth:`claim` only), stored
        as :meth:`put` would once the block ends without error."""
        held = self._held.get((deployment, session))
        if held is None:
            raise MaterialError(f"session {session}: put outside claim() for this session")
        target = self._session_dir(deployment, session) / f"{_org(org)}.sealed"
        with atomic_file(target) as out:
            yield out
        held.append(target)

    def open(self, deployment: str, session: int, org: str) -> BinaryIO:
        """The batch for ``org`` opened for reading, to stream out; :class:`MaterialError` if
        there is none (yet)."""
        target = self._session_dir(deployment, session) / f"{_org(org)}.sealed"
        try:
            return target.open("rb")
        except FileNotFoundError:
            raise MaterialError(f"no batch for org {org} in session {session} (yet)") from None

    def forget(self, deployment: str, session: int) -> None:
        """Drop the session's batches and its claim, once the session is closed."""
        shutil.rmtree(self._session_dir(deployment, session), ignore_errors=True)
        with suppress(FileNotFoundError):
            self._claim_path(deployment, session).unlink()
