"""Material of several kinds and widths in one session: counted, dealt once, checked, encoded."""

from __future__ import annotations

from dataclasses import replace

import pytest
from nacl.public import PrivateKey

from chainmpc.faults import corrupt_bit
from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Field
from offchain.preprocessing.cache import seal
from offchain.preprocessing.counting import count_needs
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import Key, edabit_key, trunc_key
from offchain.preprocessing.material import MaterialError, Needs
from offchain.preprocessing.sealed import BatchWriter
from offchain.sectypes.array import reveal, secret_input
from offchain.sectypes.fixed import reveal_fixed, secret_fixed_input
from tests.helpers.batches import contents, open_batch, reopen
from tests.helpers.harness import (
    FIELDS,
    MASK_SEED,
    chain_checkpoint,
    prepare,
    run_parties,
    sigma_sum,
)


def program(e: Engine) -> tuple:
    """int32 and fix48.16 comparisons, and truncations of fix48.16 and fix32.16 products."""
    a = secret_input(e, [3, -7] if e.index == 0 else None, 0, 2)
    b = secret_input(e, [5, -9] if e.index == 1 else None, 1, 2)
    x = secret_fixed_input(e, [1.5, -2.25] if e.index == 0 else None, 0, 2)
    y = secret_fixed_input(e, [0.75, 100.0] if e.index == 1 else None, 1, 2)
    s = secret_fixed_input(e, [2.5] if e.index == 0 else None, 0, 1, bits=32)
    return a < b, x < y, x * y, s * s


def keys(field: Field) -> dict[str, Key]:
    p = field.bits
    return {
        "eda32": edabit_key(32, p),
        "eda48": edabit_key(48, p),
        "trunc48": trunc_key(16, 32 + 16, p),
        "trunc64": trunc_key(16, 48 + 16, p),
    }


def test_one_session_compares_int32_and_fix48_and_truncates_at_two_widths(field) -> None:
    needs = count_needs(program, 2, field)
    k = keys(field)
    assert dict(needs.items) == {k["eda32"]: 2, k["eda48"]: 2, k["trunc48"]: 1, k["trunc64"]: 2}
    assert needs.bit_checks == sum(key.bits * c for key, c in needs.items)

    def real(e: Engine):
        prepare(e, needs.triples)
        lt_int, lt_fix, prod48, prod32 = program(e)
        cp = chain_checkpoint(e)
        ints = reveal(lt_int, lt_fix)
        fixed = reveal_fixed(prod48, prod32)
        left = [e.material.remaining(key) for key, _ in needs.items]
        return ints, fixed, left, cp

    results = run_parties(Dealer(field, 2).deal(1, needs), real)  # dealt once, every kind
    ints, fixed, left, _ = results[0]
    assert ints == [[1, 0], [0, 1]]
    assert fixed[0] == pytest.approx([1.125, -225.0], abs=2**-15)
    assert fixed[1] == pytest.approx([6.25], abs=2**-15)
    assert left == [0, 0, 0, 0]  # dealt exactly what the counting said
    assert sigma_sum([r[-1] for r in results], field) == 0


@pytest.mark.parametrize("width", ["eda32", "eda48", "trunc64"])
def test_a_tampered_bit_of_any_kind_and_width_is_caught_before_use(width: str) -> None:
    """A dealer that deals a "bit" of 2 in the masks of one width (which would skew the
    comparisons or truncations that use them) fails the bit check, which covers every kind
    and width; the MAC check passes, so the evidence is against the dealer."""
    field = FIELDS["m127"]
    k = keys(field)
    needs = Needs(0, (1, 1), {k["eda32"]: 2, k["eda48"]: 2, k["trunc64"]: 1})
    mats = corrupt_bit(Dealer(field, 2).deal(1, needs), 50, k[width])

    def job(e: Engine):
        assert e.sacrifice(needs.checked_triples, 4242) == 0
        assert e.check_masks(MASK_SEED)
        failed = e.check_bits()
        cp = chain_checkpoint(e)
        for key in (k["eda32"], k["eda48"]):  # none usable, whichever width was tampered
            with pytest.raises(ProtocolAbort, match="only after check_bits"):
                e.take_edabits(1, key.width)
        with pytest.raises(ProtocolAbort, match="only after check_bits"):
            e.take_truncations(1, 16, 64)
        return failed, cp

    results = run_parties(mats, job)
    assert [failed for failed, _ in results] == [1, 1]
    assert sigma_sum([cp for _, cp in results], field) == 0


def test_only_the_kinds_the_bit_check_covered_are_usable() -> None:
    """A bit check that left a kind out (here: it sees only the edaBits) does not vouch for
    it: that kind's masks stay refused, the others are usable."""
    field = FIELDS["m127"]
    k = keys(field)
    needs = Needs(0, (1, 1), {k["eda32"]: 1, k["trunc64"]: 1})

    def job(e: Engine):
        e.material.random_bits = lambda: ([k["eda32"]], e.material.bits[k["eda32"]])
        prepare(e, 0)
        e.take_edabits(1, 32)
        with pytest.raises(ProtocolAbort, match="truncation pairs .* only after check_bits"):
            e.take_truncations(1, 16, 64)
        return True

    assert run_parties(Dealer(field, 2).deal(1, needs), job) == [True, True]


def test_needs_are_keyed_deterministically_and_add_up(field) -> None:
    k = keys(field)
    one = Needs(3, (1, 2), {k["trunc64"]: 2, k["eda48"]: 1, k["eda32"]: 0})
    other = Needs(3, (1, 2), {k["eda48"]: 1, k["trunc64"]: 2})
    assert one == other and one.counts() == other.counts()
    assert one.keys == [k["eda48"], k["trunc64"]]  # sorted, zero counts left out
    eda48, trunc = k["eda48"], k["trunc64"]
    assert one.counts() == [3, 2, 1, 2, 2, 1, 48, 0, eda48.bits, 1, 2, 64, 16, trunc.bits, 2]
    total = one + Needs(1, (0, 0, 4), {k["eda32"]: 5, k["eda48"]: 1})
    assert total == Needs(4, (1, 2, 4), {k["eda32"]: 5, k["eda48"]: 2, k["trunc64"]: 2})
    assert total.checked_triples == 4 + 5 * k["eda32"].bits + 2 * eda48.bits + 2 * trunc.bits


def test_the_dealer_deals_only_the_mask_width_a_kind_needs(field) -> None:
    narrow = Key("edabits", 32, 0, 40)  # too narrow for statistical security
    with pytest.raises(MaterialError, match="masks of .* bits .* not 40"):
        Dealer(field, 2).deal(1, Needs(items={narrow: 1}))
    with pytest.raises(MaterialError, match="unknown kind"):
        Needs(items={Key("squares", 1, 0, 1): 1})


def test_the_codec_round_trips_every_kind_and_refuses_other_versions(field, tmp_path) -> None:
    k = keys(field)
    needs = Needs(2, (1, 1), {k["eda32"]: 2, k["eda48"]: 1, k["trunc64"]: 3})
    mat = Dealer(field, 2).deal(7, needs)[1]
    again = reopen(mat, tmp_path, chunk=5)  # several chunks per section
    assert (again.session, again.org) == (7, 1)  # still bound to its session and org
    assert contents(again) == contents(mat)
    assert {key: again.count(key) for key in again.bits} == dict(needs.items)

    key = PrivateKey.generate()
    blob = seal(mat, bytes(key.public_key))
    path = tmp_path / "batch"
    for bad, why in [
        (b"CMPCMAT4" + blob[8:], "CMPCMAT4.*reads only b'CMPCMAT5'"),
        (b"PK\x03\x04" + blob[4:], "bad magic"),
        (blob[: len(blob) // 2], "truncated"),
    ]:
        path.write_bytes(bad)
        with pytest.raises(MaterialError, match=why):
            open_batch(path, key)

    name = next(n for n, _ in mat.header().sections if n.startswith("bits.edabits.48"))
    wrong = name.replace(f".{k['eda48'].bits}", ".41")  # a narrower mask than the field needs
    header = mat.header()
    sections = tuple((wrong if n == name else n, c) for n, c in header.sections)
    with path.open("wb") as out:  # a service that writes such a header
        writer = BatchWriter(out, bytes(key.public_key), replace(header, sections=sections))
        for n, cols in mat.columns():
            writer.write(wrong if n == name else n, cols)
        writer.close()
    with pytest.raises(MaterialError, match="not 41"):
        open_batch(path, key)
