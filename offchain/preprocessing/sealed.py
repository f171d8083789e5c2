"""Sealed preprocessing batches in chunks (format version 5): written and read a chunk at a time.

A batch for one org is::

    MAGIC | u32 len(H) | H | chunk 0 | chunk 1 | ...

``H`` is a libsodium sealed box, to the org's Curve25519 key, of a JSON header: ``session``,
``org``, ``n``, ``modulus``, ``alpha_i``, ``chunk`` (items per chunk), ``key`` (a fresh
32-byte key for this batch only) and ``sections`` (``[[name, items], ...]``). Then, section
after section in header order, each section's items in chunks of ``chunk`` items (the last one
may be shorter): a chunk is the section's columns (:func:`columns_of`) for those items, each in
the field's fixed-width encoding, encrypted with XChaCha20-Poly1305 (libsodium's AEAD) under
the batch key, with the chunk's number in the batch as nonce and ``MAGIC`` as associated data.
So a chunk that is flipped, dropped, reordered, duplicated or taken from another batch (another
key) fails to decrypt, and
the file's length is fixed by the header, so truncation and trailing bytes are refused before
any chunk is read. Chunk offsets follow from the header: a reader seeks to the chunk it needs.

The on-chain commitment stays ``sha256`` of the whole file, computed while writing
(:meth:`BatchWriter.close`); the org hashes the whole file again before opening it
(:meth:`~offchain.preprocessing.cache.OrgCache.consume`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import nacl.utils
import numpy as np
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_ABYTES as TAG_BYTES,
)
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt as aead_decrypt,
)
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_encrypt as aead_encrypt,
)
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from offchain.exceptions import FieldError, MaterialError
from offchain.hazmat.field import Field, Vec, field_for
from offchain.preprocessing.kinds import checked_key

MAGIC = b"CMPCMAT5"  # version 5: a sealed header, then AEAD chunks under a per-batch key
_FAMILY = b"CMPCMAT"
#: Items per chunk the service deals (a triples chunk is 8192 x 6 elements, 768 KiB in
#: p = 2^127 - 1): what bounds the memory of dealing and of reading, per section.
CHUNK_ITEMS = 8192
MAX_CHUNK_ITEMS = 1 << 20  # a header asking for more is refused: it would unbound memory
#: Decrypted chunks an org keeps in memory, in bytes of their encoding. A batch that fits (up to
#: about 1.1e7 dealt triples, 5.6e6 checked) is decrypted once, when it is verified, then read
#: from memory at the in-memory speed; a larger one keeps the most recent chunks up to this and
#: reads the others again from disk (each re-read authenticated again): memory stays bounded.
RESIDENT_BYTES = 1 << 30
_MAX_HEADER = 1 << 20
_MAX_ITEMS = 1 << 40
_NAME_RE = re.compile(r"triples|(masks|maskcheck)\.[0-9]{1,4}|bits\.[a-z]{1,16}(\.[0-9]{1,4}){3}")


def columns_of(name: str, org: int) -> int:
    """How many field elements one item of section ``name`` holds in org ``org``'s batch:
    triples ``a.x a.m b.x b.m c.x c.m``; masks and check masks ``x m``, plus the clear value
    in their owner's batch; mask bits ``x m``."""
    if name == "triples":
        return 6
    kind, _, rest = name.partition(".")
    if kind in ("masks", "maskcheck"):
        return 3 if int(rest) == org else 2
    return 2


@dataclass(frozen=True)
class BatchHeader:
    """What one org's batch holds: the session, the org and its MAC key share, and its sections
    (name and item count, in the order they are written)."""

    session: int
    org: int
    n: int
    field: Field
    alpha_i: int
    sections: tuple[tuple[str, int], ...]
    chunk: int = CHUNK_ITEMS

    def __repr__(self) -> str:  # never print the key share
        return f"BatchHeader(session={self.session}, org={self.org}, sections={self.sections})"

    def plan(self) -> list[tuple[str, int, int]]:
        """``(name, items, chunks)`` of every section, in order."""
        return [(name, count, -(-count // self.chunk)) for name, count in self.sections]


def _nonce(number: int) -> bytes:
    # The chunk's number in the batch: what binds it to its place (its section and its
    # position in it follow from the header). The key is fresh per batch, so a number never
    # repeats under it, and a chunk of another batch does not decrypt under this one's key.
    return number.to_bytes(24, "big")


class BatchWriter:
    """Writes one org's sealed batch to ``out`` chunk by chunk, in header order, hashing what
    it writes (the on-chain commitment)."""

    def __init__(self, out: BinaryIO, recipient: bytes, header: BatchHeader) -> None:
        self._out, self._header = out, header
        self._key = nacl.utils.random(32)
        body = json.dumps(
            {
                "session": header.session,
                "org": header.org,
                "n": header.n,
                "modulus": hex(header.field.p),
                "alpha_i": hex(header.alpha_i),
                "chunk": header.chunk,
                "key": self._key.hex(),
                "sections": [list(s) for s in header.sections],
            },
            sort_keys=True,
        ).encode()
        sealed = SealedBox(PublicKey(recipient)).encrypt(body)
        self._digest = hashlib.sha256()
        self._emit(MAGIC + struct.pack(">I", len(sealed)) + sealed)
        self._plan = header.plan()
        self._section = 0  # position: section, chunk in it, chunk in the batch
        self._index = 0
        self._number = 0

    def _emit(self, data: bytes) -> None:
        self._digest.update(data)
        self._out.write(data)

    def _skip_done(self) -> None:
        while self._section < len(self._plan) and self._index == self._plan[self._section][2]:
            self._section, self._index = self._section + 1, 0

    def write(self, name: str, columns: Sequence[Vec]) -> None:
        """Encrypt and write the next chunk, which must be of section ``name``: its columns
        for the next ``chunk`` items (fewer only in the section's last chunk)."""
        self._skip_done()
        if self._section == len(self._plan):
            raise MaterialError(f"chunk of {name}: every section is already written")
        want, count, _ = self._plan[self._section]
        if name != want:
            raise MaterialError(f"chunk of {name} out of order: section {want} is not complete")
        size = min(self._header.chunk, count - self._index * self._header.chunk)
        f, org = self._header.field, self._header.org
        if len(columns) != columns_of(name, org) or any(len(c) != size for c in columns):
            raise MaterialError(f"chunk {self._index} of {name}: not {size} items of each column")
        plain = b"".join(f.encode(c) for c in columns)
        self._emit(aead_encrypt(plain, MAGIC, _nonce(self._number), self._key))
        self._index += 1
        self._number += 1

    def close(self) -> bytes:
        """Check that every chunk was written; return the sha256 of the whole batch."""
        self._skip_done()
        if self._section != len(self._plan):
            raise MaterialError(f"batch closed before section {self._plan[self._section][0]}")
        self._key = b""
        return self._digest.digest()


class BatchReader:
    """Reads one org's sealed batch from an open file, a chunk at a time, decrypting each
    chunk it reads and keeping decrypted chunks up to ``resident`` bytes (the oldest go
    first)."""

    def __init__(
        self, f: BinaryIO, secret_key: PrivateKey, where: str = "batch",
        resident: int = RESIDENT_BYTES,
    ) -> None:  # fmt: skip
        self._f, self._where, self._budget = f, where, resident
        head = os.pread(f.fileno(), 12, 0)
        if head[:8] != MAGIC:
            if head[:7] == _FAMILY:
                raise MaterialError(
                    f"{where}: material in format {head[:8]!r}; this version reads only "
                    f"{MAGIC!r} (deal it again)"
                )
            raise MaterialError(f"{where}: not chainmpc material (bad magic)")
        (hlen,) = struct.unpack(">I", head[8:12])
        if hlen > _MAX_HEADER:
            raise MaterialError(f"{where}: header of {hlen} bytes is too long")
        sealed = os.pread(f.fileno(), hlen, 12)
        try:
            plain = SealedBox(secret_key).decrypt(sealed)
        except CryptoError:
            raise MaterialError(f"{where}: batch does not decrypt with this org's key") from None
        self.header, self._key = _parse_header(plain, where)
        self._width = self.header.field.byte_length
        self._offsets: dict[str, tuple[int, int, int, int]] = {}  # start, items, chunks, number
        offset, number = 12 + hlen, 0
        for name, count, chunks in self.header.plan():
            self._offsets[name] = (offset, count, chunks, number)
            offset += count * columns_of(name, self.header.org) * self._width
            offset += chunks * TAG_BYTES
            number += chunks
        size = os.fstat(f.fileno()).st_size
        if size < offset:
            raise MaterialError(f"{where}: batch truncated ({size} of {offset} bytes)")
        if size > offset:
            raise MaterialError(f"{where}: {size - offset} trailing bytes after the last chunk")
        self._cache: dict[tuple[str, int], tuple[list[Vec], int]] = {}
        self._resident = 0

    def close(self) -> None:
        """Close the batch file."""
        self._f.close()

    def count(self, name: str) -> int:
        """Items in section ``name`` (0 if the batch has no such section)."""
        return self._offsets[name][1] if name in self._offsets else 0

    def _chunk(self, name: str, index: int) -> list[Vec]:
        cached = self._cache.get((name, index))
        if cached is not None:
            return cached[0]
        start, count, _, number = self._offsets[name]
        cols, step = columns_of(name, self.header.org), self.header.chunk
        size = min(step, count - index * step)
        full = step * cols * self._width + TAG_BYTES
        length = size * cols * self._width + TAG_BYTES
        data = os.pread(self._f.fileno(), length, start + index * full)
        try:
            plain = aead_decrypt(data, MAGIC, _nonce(number + index), self._key)
        except CryptoError:
            raise MaterialError(
                f"{self._where}: chunk {index} of {name} is damaged, out of place or from "
                "another batch"
            ) from None
        try:
            f, part = self.header.field, size * self._width
            out = [f.decode(memoryview(plain)[j * part : (j + 1) * part]) for j in range(cols)]
        except FieldError as exc:
            raise MaterialError(f"{self._where}: chunk {index} of {name}: {exc}") from None
        self._keep(name, index, out, len(plain))
        return out

    def _keep(self, name: str, index: int, chunk: list[Vec], size: int) -> None:
        # Insertion order is reading order, and material is read forward: evict the oldest.
        while self._cache and self._resident + size > self._budget:
            _, (_, dropped) = _pop_first(self._cache)
            self._resident -= dropped
        self._cache[(name, index)] = (chunk, size)
        self._resident += size

    def read(self, name: str, start: int, count: int) -> list[Vec]:
        """Items ``start`` to ``start + count`` of section ``name``, column by column."""
        total = self.count(name)
        if start < 0 or count < 0 or start + count > total:
            raise MaterialError(f"{self._where}: items {start}+{count} of {name} (has {total})")
        cols, step = columns_of(name, self.header.org), self.header.chunk
        if not count:
            f = self.header.field
            return [f.zeros(0) for _ in range(cols)]
        parts: list[list[Vec]] = [[] for _ in range(cols)]
        for index in range(start // step, (start + count - 1) // step + 1):
            chunk = self._chunk(name, index)
            lo = max(start - index * step, 0)
            hi = min(start + count - index * step, step)
            for j in range(cols):
                parts[j].append(chunk[j][lo:hi])
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]

    def verify(self) -> None:
        """Decrypt every chunk once, keeping what fits the budget: a damaged batch fails here,
        before any of its shares is used."""
        for name, (_, _, chunks, _) in self._offsets.items():
            for index in range(chunks):
                self._chunk(name, index)


def _pop_first(cache: dict) -> tuple:
    key = next(iter(cache))
    return key, cache.pop(key)


def _parse_header(plain: bytes, where: str) -> tuple[BatchHeader, bytes]:
    """The header and the batch key, refusing anything malformed."""
    try:
        raw = json.loads(plain)
        fld = field_for(int(raw["modulus"], 16))
        session, org, n, chunk = (int(raw[k]) for k in ("session", "org", "n", "chunk"))
        alpha_i = int(raw["alpha_i"], 16)
        key = bytes.fromhex(raw["key"])
        sections = tuple((str(name), int(count)) for name, count in raw["sections"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MaterialError(f"{where}: malformed header: {type(exc).__name__}") from None
    if not 0 <= alpha_i < fld.p:
        raise MaterialError(f"{where}: MAC key share is not a field element")
    if not (0 <= session < 2**64 and 1 <= n <= 1000 and 0 <= org < n):
        raise MaterialError(f"{where}: session {session}, org {org} of {n} is out of range")
    if not 1 <= chunk <= MAX_CHUNK_ITEMS:
        raise MaterialError(f"{where}: chunk of {chunk} items (1 to {MAX_CHUNK_ITEMS})")
    if len(key) != 32:
        raise MaterialError(f"{where}: the batch key is not 32 bytes")
    names = [name for name, _ in sections]
    if len(set(names)) != len(names) or "triples" not in names:
        raise MaterialError(f"{where}: sections repeat or have no triples")
    for name, count in sections:
        if not _NAME_RE.fullmatch(name) or not 0 <= count < _MAX_ITEMS:
            raise MaterialError(f"{where}: section {name!r} of {count} items")
        part = name.split(".")
        if part[0] in ("masks", "maskcheck") and int(part[1]) >= n:
            raise MaterialError(f"{where}: section {name} names an org beyond {n}")
        if part[0] == "bits":
            key_ = checked_key(part[1], int(part[2]), int(part[3]), int(part[4]), fld.bits)
            if count % key_.bits:
                raise MaterialError(f"{where}: {key_.describe()}: not a whole number of masks")
    return BatchHeader(session, org, n, fld, alpha_i, sections, chunk), key
