"""The chunked sealed format on real files: round trips, every way of tampering with its chunks
(each refused when the batch is opened, before any share is used), streamed material in a real
run over TCP, and the memory that dealing and consuming a sizeable batch take."""

from __future__ import annotations

import gc
import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.public import PrivateKey

import offchain.engine.checks as checks
from chainmpc.faults import corrupt_triple
from offchain.engine.core import Engine
from offchain.hazmat.field import Mersenne127
from offchain.preprocessing.cache import OrgCache, deployment_id
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.material import MaterialError, Needs
from offchain.preprocessing.sealed import TAG_BYTES, BatchWriter
from tests.helpers.batches import contents, open_batch, write_batch
from tests.helpers.harness import chain_checkpoint, run_parties, sigma_sum

M127 = Mersenne127()
CHUNK = 4  # items per chunk: 12 dealt triples make three chunks
TRIPLE_CHUNK = CHUNK * 6 * M127.byte_length + TAG_BYTES  # bytes of one full triples chunk
DEP = deployment_id(1337, "0x" + "ab" * 20)


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    """A triples-only batch split into its head (magic, sealed header) and its chunks."""
    head = 12 + int.from_bytes(blob[8:12], "big")
    body = blob[head:]
    assert len(body) % TRIPLE_CHUNK == 0
    return blob[:head], [body[i : i + TRIPLE_CHUNK] for i in range(0, len(body), TRIPLE_CHUNK)]


@pytest.fixture
def batches(tmp_path: Path) -> tuple[PrivateKey, bytes, bytes]:
    """One org's key and two batches for it (two sessions' dealings), triples only."""
    key = PrivateKey.generate()
    blobs = []
    for session in (1, 2):
        mat = Dealer(M127, 2).deal(session, Needs(triples=6))[0]
        path = tmp_path / f"s{session}"
        write_batch(mat, path, key, CHUNK)
        blobs.append(path.read_bytes())
    return key, blobs[0], blobs[1]


def test_round_trip_in_chunks_keeps_every_item(tmp_path: Path) -> None:
    mat = Dealer(M127, 3).deal(4, Needs(triples=5, masks=(3, 0, 2)))[2]
    key = PrivateKey.generate()
    for chunk in (1, 2, 7, 8192):
        path = tmp_path / f"c{chunk}"
        write_batch(mat, path, key, chunk)
        again = open_batch(path, key)
        assert contents(again) == contents(mat)
        assert again.triples_at(3, 4) is not None and again.remaining_triples == 10
    assert len(mat.own_masks) == 2 and len(again.own_masks) == 2  # only the owner's clears


def _flip(head: bytes, c: list[bytes], other: list[bytes]) -> bytes:
    last = bytearray(c[2])
    last[7] ^= 1  # in the last chunk: caught because every chunk is checked on opening
    return head + c[0] + c[1] + bytes(last)


TAMPERINGS: dict[str, tuple[Callable[[bytes, list[bytes], list[bytes]], bytes], str]] = {
    "flipped": (_flip, "chunk 2 of triples is damaged"),
    "dropped": (lambda h, c, o: h + c[0] + c[2], "truncated"),
    "dropped-and-padded": (lambda h, c, o: h + c[0] + c[2] + c[2], "chunk 1 of triples"),
    "reordered": (lambda h, c, o: h + c[1] + c[0] + c[2], "chunk 0 of triples"),
    "duplicated": (lambda h, c, o: h + c[0] + c[0] + c[2], "chunk 1 of triples"),
    "appended": (lambda h, c, o: h + c[0] + c[1] + c[2] + c[2], "trailing bytes"),
    "truncated": (lambda h, c, o: h + c[0] + c[1] + c[2][:-1], "truncated"),
    "spliced": (lambda h, c, o: h + c[0] + o[1] + c[2], "chunk 1 of triples"),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_tampered_chunks_are_refused_on_opening(tmp_path: Path, batches, how: str) -> None:
    key, blob, other = batches
    (head, c), (_, o) = chunks_of(blob), chunks_of(other)
    assert len(c) == 3
    tamper, why = TAMPERINGS[how]
    path = tmp_path / "tampered"
    path.write_bytes(tamper(head, c, o))
    with pytest.raises(MaterialError, match=why):
        open_batch(path, key)


def test_a_chunk_changed_on_disk_after_opening_is_never_used(tmp_path: Path, batches) -> None:
    """What an org uses is what it verified. A batch larger than what the org keeps decrypted
    is read again from disk as it is used: a chunk changed after opening (here replaced by
    another session's) is refused then. One that fits is used as it was verified."""
    key, blob, other = batches
    (head, c), (_, o) = chunks_of(blob), chunks_of(other)
    small, whole = tmp_path / "small", tmp_path / "whole"
    small.write_bytes(blob)
    whole.write_bytes(blob)
    streamed = open_batch(small, key, resident=TRIPLE_CHUNK)  # keeps one chunk: the last
    held = open_batch(whole, key)
    before = contents(held)
    for path in (small, whole):
        path.write_bytes(head + o[0] + c[1] + c[2])
    with pytest.raises(MaterialError, match="chunk 0 of triples is damaged"):
        streamed.triples_at(0, 2)
    assert contents(held) == before


def test_a_service_committing_a_tampered_batch_gets_it_refused_and_kept(
    tmp_path: Path, batches
) -> None:
    key, blob, other = batches
    (head, c), (_, o) = chunks_of(blob), chunks_of(other)
    spliced = head + c[0] + o[1] + c[2]
    cache = OrgCache(tmp_path / "org")
    cache.deliver(DEP, 1, spliced)
    digest = hashlib.sha256(spliced).digest()  # the hash it committed
    with pytest.raises(MaterialError, match="chunk 1 of triples"):
        cache.consume(DEP, 1, digest, key)
    assert not cache.is_consumed(digest) and cache.path(DEP, 1).exists()


def test_the_writer_refuses_chunks_out_of_order_or_missing(tmp_path: Path) -> None:
    mat = Dealer(M127, 2).deal(1, Needs(triples=2, masks=(1, 1)))[0]
    key = PrivateKey.generate()
    cols = dict(mat.columns())
    with (tmp_path / "b").open("wb") as out:
        writer = BatchWriter(out, bytes(key.public_key), mat.header(CHUNK))
        with pytest.raises(MaterialError, match="out of order"):
            writer.write("masks.0", cols["masks.0"])
        with pytest.raises(MaterialError, match="not 4 items"):
            writer.write("triples", [c[:3] for c in cols["triples"]])
        writer.write("triples", cols["triples"])
        with pytest.raises(MaterialError, match="closed before section masks.0"):
            writer.close()


def _job(e: Engine) -> tuple[list[int], list[int], list[list[int]], object]:
    f = e.field
    assert e.sacrifice(40, 7) == 0
    a, b, _ = e.material.triples_at(0, 10)  # operands: any shared values will do
    zs = [e.mul(a, b) for _ in range(4)]  # the 40 checked triples, re-read as mul needs them
    av, bv, *zv = e.open(a, b, *zs, label="out")
    return f.to_ints(av), f.to_ints(bv), [f.to_ints(z) for z in zv], chain_checkpoint(e)


def test_streamed_material_runs_a_job_over_tcp(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(checks, "SACRIFICE_CHUNK", 3)  # the sacrifice in 14 parts
    dealing = Dealer(M127, 2).stream(1, Needs(triples=40), chunk=CHUNK)
    keys = [PrivateKey.generate() for _ in range(2)]
    paths = [tmp_path / f"org{i}" for i in range(2)]
    with paths[0].open("wb") as f0, paths[1].open("wb") as f1:
        writers = [
            BatchWriter(f, bytes(k.public_key), h)
            for f, k, h in zip((f0, f1), keys, dealing.headers, strict=True)
        ]
        for name, parts in dealing.chunks:
            for w, cols in zip(writers, parts, strict=True):
                w.write(name, cols)
        [w.close() for w in writers]
    mats = [open_batch(p, k) for p, k in zip(paths, keys, strict=True)]
    results = run_parties(mats, _job)
    a, b, zs, _ = results[0]
    assert all(z == [x * y % M127.p for x, y in zip(a, b, strict=True)] for z in zs)
    assert sigma_sum([r[-1] for r in results], M127) == 0


def test_a_bad_triple_in_any_sacrifice_part_fails_the_sacrifice(monkeypatch) -> None:
    monkeypatch.setattr(checks, "SACRIFICE_CHUNK", 2)
    mats = corrupt_triple(Dealer(M127, 2).deal(1, Needs(triples=6)), 0)  # in the first part
    assert run_parties(mats, lambda e: e.sacrifice(6, 5)) == [1, 1]
    mats = Dealer(M127, 2).deal(1, Needs(triples=6))
    assert run_parties(mats, lambda e: (e.sacrifice(6, 5), e.checked_left)) == [(0, 6)] * 2


TRIPLES = 100_000  # checked: 2e5 dealt, 19 MB of field elements per org
OLD_BYTES_PER_TRIPLE = 1800  # the whole-batch path's resident figure (issue 12)


def test_a_sizeable_batch_is_dealt_and_consumed_in_bounded_memory(tmp_path: Path) -> None:
    keys = [PrivateKey.generate() for _ in range(2)]
    paths = [tmp_path / f"org{i}" for i in range(2)]
    warm = Dealer(M127, 2).deal(1, Needs(triples=8))  # compile the kernels outside the count
    run_parties(warm, lambda e: (e.sacrifice(8, 3), e.mul(*e.material.triples_at(0, 2)[:2])))
    gc.collect()
    tracemalloc.start()
    try:
        dealing = Dealer(M127, 2).stream(1, Needs(triples=TRIPLES))
        with paths[0].open("wb") as f0, paths[1].open("wb") as f1:
            writers = [
                BatchWriter(f, bytes(k.public_key), h)
                for f, k, h in zip((f0, f1), keys, dealing.headers, strict=True)
            ]
            for name, parts in dealing.chunks:
                for w, cols in zip(writers, parts, strict=True):
                    w.write(name, cols)
            [w.close() for w in writers]
        del dealing, writers
        _, dealt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        # A batch larger than what an org keeps decrypted (here a twentieth of it): the
        # triples stay on disk and are read again as they are used.
        resident = 2 * TRIPLES * 6 * M127.byte_length // 20
        mats = [open_batch(p, k, resident) for p, k in zip(paths, keys, strict=True)]
        opened = tracemalloc.get_traced_memory()[0] - base

        def consume(e: Engine) -> int:
            assert e.sacrifice(TRIPLES, 11) == 0
            a, b, _ = e.material.triples_at(0, 10_000)
            for _ in range(TRIPLES // 10_000):
                e.mul(a, b)
            chain_checkpoint(e)
            return e.checked_left

        assert run_parties(mats, consume) == [0, 0]
        _, used_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    old = 2 * TRIPLES * OLD_BYTES_PER_TRIPLE  # 360 MB for this batch
    raw = 2 * TRIPLES * 6 * M127.byte_length  # one org's batch: 19 MB
    # The MAC check holds what is opened until its checkpoint, and concatenates it with its
    # coefficients there: 80 bytes per opened value, 5 values per checked triple here (3 in
    # the sacrifice, 2 in mul). That part grows with the openings between checkpoints.
    mac_check = 80 * 5 * TRIPLES
    assert dealt_peak < raw / 2, f"dealing peaked at {dealt_peak:,} bytes"
    assert opened < raw / 10, f"an opened batch holds {opened:,} bytes"  # two orgs' residents
    per_org = (used_peak / 2) - mac_check
    assert per_org < raw, f"consuming peaked at {used_peak:,} bytes"  # less than its batch
    assert used_peak < old / 3
