"""Field encoding, dealt material, and each org's sealed cache (real files)."""

from __future__ import annotations

import pytest
from harness import FIELD, deal
from nacl.public import PrivateKey

from offchain.cache import OrgCache, batch_hash, seal
from offchain.field import FieldError
from offchain.preprocessing import MaterialError, OrgMaterial

P = FIELD.p


def test_field_encoding_round_trips_and_rejects_bad_bytes() -> None:
    values = [0, 1, P - 1, 12345]
    assert FIELD.decode(FIELD.encode(values)) == values
    with pytest.raises(FieldError, match="whole number"):
        FIELD.decode(b"\x01" * 33)
    with pytest.raises(FieldError, match="unreduced"):
        FIELD.decode(P.to_bytes(32, "big"))
    with pytest.raises(FieldError):
        FIELD.encode([P])
    assert FIELD.to_signed(FIELD.from_signed(-42)) == -42
    with pytest.raises(FieldError):
        FIELD.from_signed(P)


def test_dealt_shares_reconstruct_with_valid_macs() -> None:
    mats = deal(3, 2)
    alpha = sum(m.alpha_i for m in mats) % P
    for k in range(4):
        a = sum(m.triples[k].a.x for m in mats) % P
        b = sum(m.triples[k].b.x for m in mats) % P
        c = sum(m.triples[k].c.x for m in mats) % P
        assert c == a * b % P
        assert sum(m.triples[k].c.m for m in mats) % P == alpha * c % P
    for k in range(3):
        r = sum(m.masks[k].share.x for m in mats) % P
        owner = mats[0].masks[k].owner
        assert mats[owner].masks[k].r == r
        assert all(m.masks[k].r is None for m in mats if m.org != owner)


def test_material_round_trips_and_hides_secrets_in_repr() -> None:
    mat = deal(2, 1)[0]
    again = OrgMaterial.from_bytes(mat.to_bytes())
    assert again.to_bytes() == mat.to_bytes()
    assert hex(mat.alpha_i) not in repr(mat) and str(mat.alpha_i) not in repr(mat)


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b[:-5], lambda b: b.replace(b'"format":"chainmpc-material/1"', b'"format":"x"')],
)
def test_malformed_material_is_rejected(mutate) -> None:
    with pytest.raises(MaterialError):
        OrgMaterial.from_bytes(mutate(deal(2, 1)[0].to_bytes()))


def test_items_are_handed_out_once() -> None:
    mat = deal(2, 1)[0]
    assert len(mat.take_triples(2)) == 2
    with pytest.raises(MaterialError, match="0 left"):
        mat.take_triples(1)
    mat.take_mask(0)
    with pytest.raises(MaterialError, match="no input mask left"):
        mat.take_mask(0)


@pytest.fixture
def delivered(tmp_path):
    key = PrivateKey.generate()
    mat = deal(2, 1)[0]
    sealed = seal(mat, bytes(key.public_key))
    cache = OrgCache(tmp_path / "org1")
    cache.deliver(1, sealed)
    return cache, key, mat, batch_hash(sealed)


def test_cache_delivers_verifies_and_decrypts(delivered) -> None:
    cache, key, mat, h = delivered
    assert cache.consume(1, h, key).to_bytes() == mat.to_bytes()


def test_consumed_batch_is_refused(delivered) -> None:
    cache, key, _, h = delivered
    cache.consume(1, h, key)
    with pytest.raises(MaterialError, match="already consumed"):
        cache.consume(1, h, key)


def test_edited_cache_file_is_rejected_before_use(delivered) -> None:
    cache, key, _, h = delivered
    path = cache.path(1)
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(MaterialError, match="does not match its on-chain commitment"):
        cache.consume(1, h, key)


def test_batch_for_another_key_does_not_decrypt(delivered) -> None:
    cache, _, _, h = delivered
    with pytest.raises(MaterialError, match="does not decrypt"):
        cache.consume(1, h, PrivateKey.generate())


def test_delivery_never_overwrites(delivered) -> None:
    cache, _, _, _ = delivered
    with pytest.raises(MaterialError, match="already here"):
        cache.deliver(1, b"other")
    assert not cache.path(1).with_suffix(".tmp").exists()
