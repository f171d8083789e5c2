"""Each org's on-disk cache of sealed preprocessing material.

The service seals an org's batch to that org's public key (a libsodium sealed box: anonymous
sender, only the recipient can open it) and writes it into the org's cache directory. The hash
of the sealed bytes is what the service commits on-chain, so an org checks, before decrypting,
that it holds exactly the batch everyone else can see was committed.

A batch is consumed by moving it aside atomically before it is decrypted: a second load of the
same session finds nothing to load. Reuse is impossible by construction, not by a flag.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from offchain.preprocessing.material import MaterialError, OrgMaterial


def batch_hash(sealed: bytes) -> bytes:
    """The 32-byte digest of a sealed batch that is committed on-chain."""
    return hashlib.sha256(sealed).digest()


def seal(material: OrgMaterial, recipient: bytes) -> bytes:
    """Encrypt ``material`` to the org whose Curve25519 public key is ``recipient``."""
    return SealedBox(PublicKey(recipient)).encrypt(material.to_bytes())


class OrgCache:
    """One org's cache directory of sealed batches, one file per session."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path(self, session: int) -> Path:
        """Where the sealed batch for ``session`` is delivered."""
        return self.directory / f"session-{session}.sealed"

    def deliver(self, session: int, sealed: bytes) -> Path:
        """Store a sealed batch (service side). Refuses to overwrite an existing batch."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(session)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(sealed)
        try:
            os.link(tmp, target)  # fails if the target exists: never replace a delivered batch
        except FileExistsError:
            raise MaterialError(
                f"{target}: a batch for session {session} is already here"
            ) from None
        finally:
            tmp.unlink()
        return target

    def consume(self, session: int, expected_hash: bytes, secret_key: PrivateKey) -> OrgMaterial:
        """Take the batch for ``session`` out of the cache, verify it, and decrypt it.

        Raises :class:`MaterialError` if the batch is missing or already consumed, if its hash
        differs from the on-chain commitment (edited or swapped file), or if it does not
        decrypt or parse, or belongs to another session.
        """
        source = self.path(session)
        taken = source.with_suffix(".consumed")
        try:
            os.rename(source, taken)  # atomic: exactly one caller ever gets the batch
        except FileNotFoundError:
            state = "already consumed" if taken.exists() else "missing"
            raise MaterialError(f"{source}: batch for session {session} is {state}") from None
        sealed = taken.read_bytes()
        if batch_hash(sealed) != expected_hash:
            raise MaterialError(f"{source}: batch does not match its on-chain commitment")
        try:
            plain = SealedBox(secret_key).decrypt(sealed)
        except CryptoError:
            raise MaterialError(f"{source}: batch does not decrypt with this org's key") from None
        material = OrgMaterial.from_bytes(plain)
        if material.session != session:
            raise MaterialError(f"{source}: batch is for session {material.session}")
        return material
