"""Field encoding and dealt material (the sealed cache: test_cache.py)."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey

from offchain.hazmat.field import (
    BN254_SCALAR,
    KNOWN_PRIMES,
    MERSENNE_127,
    FieldError,
    PrimeField,
    check_modulus,
    field_for,
)
from offchain.preprocessing.cache import seal
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import edabit_key, trunc_key
from offchain.preprocessing.material import MaterialError, Needs
from tests.helpers.batches import contents, open_batch, reopen
from tests.helpers.harness import BN254, deal


def test_field_encoding_round_trips_and_rejects_bad_bytes(field) -> None:
    p = field.p
    values = [0, 1, p - 1, 12345]
    assert field.to_ints(field.decode(field.encode(field.from_ints(values)))) == values
    with pytest.raises(FieldError):
        field.decode(b"\x01" * (field.byte_length + 1))
    unreduced = p.to_bytes(field.byte_length, "big" if field is BN254 else "little")
    with pytest.raises(FieldError):
        field.decode(unreduced)
    assert field.to_signed(field.from_signed(-42)) == -42
    with pytest.raises(FieldError):
        field.from_signed(p)


# (6k+1)(12k+1)(18k+1) with all three factors prime (k = 4194421): a Carmichael number above
# 2^64, so it passes Fermat's test to every coprime base; only a strong test refuses it.
CARMICHAEL = 95635931083302480072049


@pytest.mark.parametrize("bad", [3 * BN254_SCALAR, CARMICHAEL, 2**61 - 1, BN254_SCALAR + 2])
def test_only_known_primes_make_a_field(bad: int) -> None:
    with pytest.raises(FieldError, match=f"modulus {bad:#x} is not one of the known primes"):
        field_for(bad)
    with pytest.raises(FieldError, match=f"modulus {bad:#x}"):
        check_modulus(bad)


@pytest.mark.parametrize("bad", [3 * BN254_SCALAR, CARMICHAEL, 2**61 - 1, 2**89 - 3])
def test_prime_field_refuses_composites_and_small_primes(bad: int) -> None:
    assert pow(2, CARMICHAEL - 1, CARMICHAEL) == 1  # a Fermat liar
    with pytest.raises(FieldError, match="not prime|below 2\\^64"):
        PrimeField(bad)


def test_known_primes_are_the_table() -> None:
    assert KNOWN_PRIMES == {2**127 - 1: "Mersenne 2^127 - 1", BN254_SCALAR: "BN254 scalar field r"}
    assert check_modulus(MERSENNE_127) == "Mersenne 2^127 - 1"
    assert field_for(BN254_SCALAR) == PrimeField(BN254_SCALAR)
    assert issubclass(FieldError, ValueError)


def test_dealt_shares_reconstruct_with_valid_macs(field) -> None:
    mats = deal(3, 2, field=field, edabits=3)
    p = field.p
    alpha = sum(m.alpha_i for m in mats) % p

    def open_(parts):
        xs = [field.to_ints(s.x) for s in parts]
        ms = [field.to_ints(s.m) for s in parts]
        vals = [sum(col) % p for col in zip(*xs, strict=True)]
        macs = [sum(col) % p for col in zip(*ms, strict=True)]
        assert macs == [alpha * v % p for v in vals]  # every share is authenticated
        return vals

    a, b, c = (open_([m.triples[j] for m in mats]) for j in range(3))
    assert c == [x * y % p for x, y in zip(a, b, strict=True)]
    for owner in range(3):
        r = open_([m.masks[owner] for m in mats])
        assert field.to_ints(mats[owner].own_masks) == r
        assert all(len(m.own_masks) == 1 for m in mats)
        s = open_([m.mask_checks[owner] for m in mats])  # the extra check mask, authenticated
        assert field.to_ints(mats[owner].own_mask_check) == s
    key = edabit_key(32, field.bits)
    edabits = [m.take(key, 3) for m in mats]  # r recomputed locally from dealt bits
    r = open_([e[0] for e in edabits])
    bits = open_([e[1] for e in edabits])
    dealt = open_([m.bits[key] for m in mats])
    k, mask_bits = key.width, key.bits
    assert set(dealt) <= {0, 1} and len(dealt) == 3 * mask_bits
    for j, v in enumerate(r):
        assert v == sum(b << i for i, b in enumerate(dealt[j * mask_bits : (j + 1) * mask_bits]))
        assert v % 2**k == sum(b << i for i, b in enumerate(bits[j * k : (j + 1) * k]))


def test_truncation_masks_agree_with_their_low_part(field) -> None:
    key = trunc_key(16, 40, field.bits)
    needs = Needs(items={key: 4})
    mats = Dealer(field, 2).deal(1, needs)
    pairs = [m.take(key, 4) for m in mats]
    r = [sum(v) % field.p for v in zip(*(field.to_ints(p[0].x) for p in pairs), strict=True)]
    low = [sum(v) % field.p for v in zip(*(field.to_ints(p[1].x) for p in pairs), strict=True)]
    assert key.bits == 40 + 64  # l + kappa, kappa = 64 in both fields for 40-bit values
    assert all(x < 2**key.bits and x % 2**16 == y for x, y in zip(r, low, strict=True))
    assert needs.bit_checks == 4 * 104 and needs.checked_triples == 416


def test_material_round_trips_and_hides_secrets_in_repr(field, tmp_path) -> None:
    mat = deal(2, 1, field=field, edabits=2)[0]
    again = reopen(mat, tmp_path)
    assert contents(again) == contents(mat)
    assert sorted(again.mask_checks) == [0, 1] and len(again.own_mask_check) == 1
    assert field.to_ints(again.own_mask_check) == field.to_ints(mat.own_mask_check)
    assert hex(mat.alpha_i) not in repr(mat) and str(mat.alpha_i) not in repr(mat)


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b[:-5], lambda b: b"X" + b[1:], lambda b: b + b"\0" * 32],
    ids=["truncated", "bad-magic", "trailing"],
)
def test_malformed_material_is_rejected(mutate, tmp_path) -> None:
    key = PrivateKey.generate()
    path = tmp_path / "batch"
    path.write_bytes(mutate(seal(deal(2, 1)[0], bytes(key.public_key))))
    with pytest.raises(MaterialError, match="truncated|bad magic|trailing"):
        open_batch(path, key)


def test_check_masks_are_dealt_per_owner_and_never_handed_out(field, tmp_path) -> None:
    needs = Needs(masks=(2, 0, 1))
    assert needs.dealt_masks == (3, 0, 2)
    mats = Dealer(field, 3).deal(1, needs)
    assert [sorted(m.mask_checks) for m in mats] == [[0, 2]] * 3
    assert [len(m.own_mask_check) for m in mats] == [1, 0, 1]
    again = [reopen(m, tmp_path) for m in mats]
    assert [len(m.own_mask_check) for m in again] == [1, 0, 1]
    mat = mats[0]
    mat.take_masks(0, 2)  # the job's two masks, and not the check mask <s>
    with pytest.raises(MaterialError, match="0 left"):
        mat.take_masks(0, 1)
    assert [o for o, _, _ in mat.mask_check_material()] == [0, 2]
    mat.mask_checks.pop(2)
    with pytest.raises(MaterialError, match="no check mask for the input masks of org 2"):
        mat.mask_check_material()


def test_items_are_handed_out_once(field) -> None:
    mat = deal(2, 1, field=field, edabits=1)[0]
    key = edabit_key(32, field.bits)
    mat.take_triples(2 * (1 + key.bits))  # the job's triple + one per dealt bit, paired
    with pytest.raises(MaterialError, match="0 left"):
        mat.take_triples(1)
    mat.take_masks(0, 1)
    with pytest.raises(MaterialError, match="0 left"):
        mat.take_masks(0, 1)
    mat.take(key, 1)
    with pytest.raises(MaterialError, match="0 left"):
        mat.take(key, 1)
