"""One org's material in and out of its sealed batch (:mod:`offchain.preprocessing.sealed`):
opened with its triples left on disk and read a chunk at a time, or written from memory."""

from __future__ import annotations

from typing import BinaryIO

from offchain.hazmat.shares import Shared
from offchain.preprocessing.material import OrgMaterial
from offchain.preprocessing.sealed import CHUNK_ITEMS, BatchReader, BatchWriter


class StreamedTriples:
    """An org's triples read from its batch as they are needed, a chunk at a time: memory is
    bounded by the chunk and by what the caller asks for at once."""

    def __init__(self, reader: BatchReader) -> None:
        self._reader = reader

    def __len__(self) -> int:
        return self._reader.count("triples")

    def read(self, start: int, count: int) -> tuple[Shared, Shared, Shared]:
        """Triples ``start`` to ``start + count`` (any number of times: nothing is consumed)."""
        ax, am, bx, bm, cx, cm = self._reader.read("triples", start, count)
        return Shared(ax, am), Shared(bx, bm), Shared(cx, cm)

    def close(self) -> None:
        """Close the batch file; no triple can be read after this."""
        self._reader.close()


def open_material(reader: BatchReader) -> OrgMaterial:
    """The material in an opened batch: every chunk is decrypted once first (so a damaged
    batch fails before any share is used); input masks, check masks and mask bits are then
    held in memory (the mask check and the bit check take all of them at once), the triples
    are read lazily (:class:`StreamedTriples`)."""
    reader.verify()
    names = [name for name, _ in reader.header.sections if name != "triples"]
    columns = {name: reader.read(name, 0, reader.count(name)) for name in names}
    return OrgMaterial.from_columns(reader.header, columns, StreamedTriples(reader))


def write_material(
    material: OrgMaterial, out: BinaryIO, recipient: bytes, chunk: int = CHUNK_ITEMS
) -> bytes:
    """Seal in-memory ``material`` to ``recipient`` as a chunked batch written to ``out``;
    returns its sha256 (the on-chain commitment)."""
    writer = BatchWriter(out, recipient, material.header(chunk))
    for name, cols in material.columns():
        for start in range(0, len(cols[0]), chunk):
            writer.write(name, [c[start : start + chunk] for c in cols])
    return writer.close()
