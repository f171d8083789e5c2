"""Sealed batches on real files, for the tests of the format and of what reads it."""

from __future__ import annotations

from pathlib import Path

from nacl.public import PrivateKey

from offchain.preprocessing.batch import open_material, write_material
from offchain.preprocessing.material import OrgMaterial
from offchain.preprocessing.sealed import CHUNK_ITEMS, RESIDENT_BYTES, BatchReader


def write_batch(mat: OrgMaterial, path: Path, key: PrivateKey, chunk: int = CHUNK_ITEMS) -> bytes:
    """Seal ``mat`` to ``key`` into the file ``path``; its sha256."""
    with path.open("wb") as out:
        return write_material(mat, out, bytes(key.public_key), chunk)


def open_batch(path: Path, key: PrivateKey, resident: int = RESIDENT_BYTES) -> OrgMaterial:
    """The material in the batch file ``path`` (its triples read lazily from it, keeping
    ``resident`` bytes of decrypted chunks)."""
    return open_material(BatchReader(path.open("rb"), key, str(path), resident))


def reopen(mat: OrgMaterial, directory: Path, chunk: int = CHUNK_ITEMS) -> OrgMaterial:
    """``mat`` sealed to a fresh key in a file under ``directory`` and read back."""
    key = PrivateKey.generate()
    path = directory / f"batch-{mat.session}-{mat.org}-{chunk}.sealed"
    write_batch(mat, path, key, chunk)
    return open_batch(path, key)


def contents(mat: OrgMaterial) -> list[tuple[str, list[list[int]]]]:
    """Everything ``mat`` holds, as integers, section by section (for comparisons)."""
    f = mat.field
    head = [("header", [[mat.session, mat.org, mat.n, mat.alpha_i]])]
    return head + [(name, [f.to_ints(c) for c in cols]) for name, cols in mat.columns()]
