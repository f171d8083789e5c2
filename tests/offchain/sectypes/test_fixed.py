"""Secure fixed-point arithmetic against plaintext, over real TCP, on both fields.

Error bounds tested (ulp = 2^-16): ``+ -`` exact; ``*`` and ``@`` within 1 ulp of the exact
result on the encoded operands (and within 2 ulp of the float product for |a|, |b| <= 1);
``truncate`` within 1 ulp (m <= f) or 2 ulp (m > f); comparisons exact; ``reciprocal`` within
``(2 + 7/x)`` ulp and ``a / x`` within ``(4 + 7|a|/x)`` ulp for x in [2^-4, 2^8].
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.engine.core import Engine, ProtocolAbort
from offchain.hazmat.field import Field
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.kinds import Key, edabit_key
from offchain.preprocessing.material import MaterialError, Needs, OrgMaterial
from offchain.preprocessing.widths import trunc_mask_bits_for
from offchain.protocols.compare import triples_for
from offchain.sectypes.array import reveal
from offchain.sectypes.fixed import (
    SecretFixed,
    division_cost,
    encode_fixed,
    if_else,
    reveal_fixed,
    secret_fixed_input_unchecked,
    trunc_needs,
)
from tests.helpers.harness import (
    FIELDS,
    chain_checkpoint,
    prepare,
    run_parties,
    sigma_sum,
    tampering,
)

T = 987654321
F = 16
ULP = 2.0**-F
TOP = 2.0**31 - ULP  # largest fix48.16 value
BOTTOM = -(2.0**31)


def materials(
    field: Field,
    triples: int = 0,
    masks: int = 0,
    truncs: int = 0,
    edabits: int = 0,
    orgs: int = 2,
    k: int = 48,
) -> list[OrgMaterial]:
    """``harness.deal`` plus truncation pairs for fix48.16."""
    needs = Needs(triples, (masks,) * orgs, {edabit_key(k, field.bits): edabits})
    if truncs:
        needs = needs + trunc_needs(field, truncs)
    return Dealer(field, orgs).deal(1, needs)


def raw(value: float) -> int:
    """The fixed-point integer of a value that is already a multiple of 2^-16 (exact)."""
    x = value * (1 << F)
    assert x == int(x)
    return int(x)


def enc(value: float) -> int:
    return encode_fixed(value, F, 48)


def checked(results: list, field: Field) -> list:
    """The first org's outputs, after asserting that the final MAC check passes."""
    assert sigma_sum([r[-1] for r in results], field) == 0
    return results[0][:-1]


# -- linear operations, products, truncation -----------------------------------------------

A = [0.0, 1.5, -2.25, 46340.5, -46340.5, 1e-4, -3.999, 12345.678, TOP / 2, BOTTOM / 2]
B = [7.0, -0.5, -2.25, 46340.25, 46340.75, 0.5, 1e-3, -0.001, 1.0, -1.0]


def test_add_sub_mul_dot_truncate(field: Field) -> None:
    n = len(A)

    def job(e: Engine):
        prepare(e, 3 * n)
        a = secret_fixed_input_unchecked(e, A if e.index == 0 else None, 0, n)
        b = secret_fixed_input_unchecked(e, B if e.index == 1 else None, 1, n)
        r0 = e.rounds
        linear = [a + b, a - b, -a, a + 2.5, 2.5 - a, a - [1.0] * n, a.sum(), a + 3]
        assert e.rounds == r0
        prod = a * b
        assert e.rounds == r0 + 2  # one Beaver round, one truncation round
        by_float = a * 0.75
        assert e.rounds == r0 + 3
        by_int = a * 2
        assert e.rounds == r0 + 3  # public ints: local, no truncation
        dot = a[5:] @ b[5:]
        assert e.rounds == r0 + 5
        halves = [a.truncate(m) for m in (1, 8, 16)] + [b.truncate(20), b.truncate(33)]
        cp = chain_checkpoint(e)
        out = reveal_fixed(*linear, prod, by_float, by_int, dot, *halves)
        return out, cp

    mats = materials(field, triples=3 * n, masks=n, truncs=10 * n + 1)
    (out,) = checked(run_parties(mats, job), field)
    add, sub, neg, plus, rsub, minus_list, total, plus_int = out[:8]
    prod, by_float, by_int, dot = out[8:12]
    t1, t8, t16, b20, b33 = out[12:]
    ea = [enc(v) for v in A]
    eb = [enc(v) for v in B]
    # Linear: exact on the encoded values.
    assert [raw(v) for v in add] == [x + y for x, y in zip(ea, eb, strict=True)]
    assert [raw(v) for v in sub] == [x - y for x, y in zip(ea, eb, strict=True)]
    assert [raw(v) for v in neg] == [-x for x in ea]
    assert [raw(v) for v in plus] == [x + enc(2.5) for x in ea]
    assert [raw(v) for v in rsub] == [enc(2.5) - x for x in ea]
    assert [raw(v) for v in minus_list] == [x - enc(1.0) for x in ea]
    assert [raw(v) for v in plus_int] == [x + (3 << F) for x in ea]
    assert raw(total[0]) == sum(ea)
    # Products: floor or ceil of the exact product of the encoded operands.
    for got, x, y in zip(prod, ea, eb, strict=True):
        assert abs(Fraction(raw(got)) - Fraction(x * y, 1 << F)) < 1
    for got, x in zip(by_float, ea, strict=True):
        assert abs(Fraction(raw(got)) - Fraction(x * enc(0.75), 1 << F)) < 1
    assert [raw(v) for v in by_int] == [2 * x for x in ea]
    exact_dot = sum(x * y for x, y in zip(ea[5:], eb[5:], strict=True))
    assert abs(Fraction(raw(dot[0])) - Fraction(exact_dot, 1 << F)) < 1
    # Truncation: within 1 unit (m <= f), 2 units (m > f); exact when divisible.
    for got, m in ((t1, 1), (t8, 8), (t16, 16)):
        for g, x in zip(got, ea, strict=True):
            assert abs(Fraction(raw(g)) - Fraction(x, 1 << m)) < 1
    for got, m in ((b20, 20), (b33, 33)):
        for g, y in zip(got, eb, strict=True):
            assert abs(Fraction(raw(g)) - Fraction(y, 1 << m)) < 2
    assert t1[0] == 0.0 and t1[2] == -1.125  # exact when divisible


def test_probabilistic_rounding_is_unbiased() -> None:
    field = FIELDS["m127"]
    n = 1200
    vals = [ULP, -ULP, 12.0]  # 1 ulp / 4 rounds to 0 or 1 ulp, 3/4 of the time to 0

    def job(e: Engine):
        prepare(e, 0)
        x = secret_fixed_input_unchecked(
            e, vals * (n // 3) if e.index == 0 else None, 0, n // 3 * 3
        )
        y = x.truncate(2)
        cp = chain_checkpoint(e)
        return reveal_fixed(y), cp

    ((out,),) = checked(run_parties(materials(field, masks=n, truncs=n), job), field)
    ups = [raw(v) for v in out[0::3]]
    downs = [raw(v) for v in out[1::3]]
    assert set(ups) <= {0, 1} and set(downs) <= {-1, 0}
    assert 0.13 < sum(ups) / len(ups) < 0.37  # expected 1/4
    assert 0.13 < -sum(downs) / len(downs) < 0.37
    assert out[2::3] == [3.0] * len(out[2::3])  # divisible: exact


def test_small_products_are_within_two_ulp_of_the_float_product() -> None:
    field = FIELDS["m127"]
    rng = random.Random(5)
    n = 200
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    ys = [rng.uniform(-1, 1) for _ in range(n)]

    def job(e: Engine):
        prepare(e, n)
        a = secret_fixed_input_unchecked(e, xs if e.index == 0 else None, 0, n)
        b = secret_fixed_input_unchecked(e, ys if e.index == 0 else None, 0, n)
        product = a * b
        cp = chain_checkpoint(e)
        return reveal_fixed(product), cp

    ((prod,),) = checked(run_parties(materials(field, n, 2 * n, n), job), field)
    assert max(abs(p - x * y) for p, x, y in zip(prod, xs, ys, strict=True)) <= 2 * ULP


# -- comparisons ---------------------------------------------------------------------------

EDGE = [0.0, ULP, -ULP, 1.0, -1.0, 2.5, -2.5, TOP, BOTTOM, TOP - ULP, 1000.0001]
SMALL_EDGE = [0.0, ULP, -ULP, 2.5, TOP, BOTTOM, 1000.0001]  # BN254 (object arrays) is slower


@pytest.mark.parametrize(("name", "edge"), [("bn254", SMALL_EDGE), ("m127", EDGE)])
def test_comparisons_exact(name: str, edge: list[float]) -> None:
    field = FIELDS[name]
    pairs = [(a, b) for a in edge for b in edge]
    n = len(pairs)
    av, bv = [p[0] for p in pairs], [p[1] for p in pairs]
    triples = (5 * triples_for(48) + 1) * n  # five comparisons and one if_else

    def job(e: Engine):
        prepare(e, triples)
        a = secret_fixed_input_unchecked(e, av if e.index == 0 else None, 0, n)
        b = secret_fixed_input_unchecked(e, bv if e.index == 1 else None, 1, n)
        r0 = e.rounds
        lt = a < b
        rounds = e.rounds - r0
        gt, le, ge = a > b, a <= b, a >= b
        below = a < 2.5
        smaller = if_else(lt, a, b)
        cp = chain_checkpoint(e)
        return reveal(lt, gt, le, ge, below), reveal_fixed(smaller), rounds, cp

    mats = materials(field, triples, n, 0, 5 * n)
    (lt, gt, le, ge, below), (smaller,), rounds = checked(run_parties(mats, job), field)
    assert rounds == 7  # one masked opening + ceil(log2 48) carry levels
    assert lt == [int(a < b) for a, b in pairs]
    assert gt == [int(a > b) for a, b in pairs]
    assert le == [int(a <= b) for a, b in pairs]
    assert ge == [int(a >= b) for a, b in pairs]
    assert below == [int(a < 2.5) for a in av]
    assert [raw(v) for v in smaller] == [min(enc(a), enc(b)) for a, b in pairs]


def test_comparisons_need_edabits_of_the_full_width(field: Field) -> None:
    def job(e: Engine):
        prepare(e, 0)
        x = secret_fixed_input_unchecked(e, [1.0] if e.index == 0 else None, 0, 1)
        with pytest.raises(MaterialError, match="no edaBits for 48 bits were dealt"):
            _ = x < 2.0
        return True

    assert run_parties(materials(field, masks=1, edabits=1, k=32), job) == [True, True]


# -- reciprocal and division ---------------------------------------------------------------


def divisors(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    edges = [2.0**-4, 2.0**8, 1.0, 1.0 - ULP, 2.0**-3 - ULP, 3.0, 255.5, 0.1]
    return edges + [2 ** rng.uniform(-4, 8) for _ in range(count - len(edges))]


@pytest.mark.parametrize(("name", "count"), [("bn254", 10), ("m127", 120)])
def test_reciprocal_and_division(name: str, count: int) -> None:
    field = FIELDS[name]
    rng = random.Random(11)
    xs = divisors(count, 3)
    nums = [0.0, -1.0, 1.0, 2000.0, -2000.0] + [rng.uniform(-200, 200) for _ in range(count - 5)]
    triples, truncs, eda = division_cost()
    r_triples, r_truncs, _ = division_cost(numerator=False)

    def job(e: Engine):
        prepare(e, (triples + r_triples) * count)
        x = secret_fixed_input_unchecked(e, xs if e.index == 0 else None, 0, count)
        a = secret_fixed_input_unchecked(e, nums if e.index == 1 else None, 1, count)
        r0 = e.rounds
        inv = x.reciprocal()
        rounds = e.rounds - r0
        q = a / x
        cp = chain_checkpoint(e)
        return reveal_fixed(inv, q, x, a), rounds, cp

    mats = materials(
        field, (triples + r_triples) * count, count, (truncs + r_truncs) * count, 2 * eda * count
    )
    (inv, q, xe, ae), rounds = checked(run_parties(mats, job), field)
    assert rounds == 23
    for got, x in zip(inv, xe, strict=True):
        assert abs(got - 1 / x) <= ULP * (2 + 7 / x), (x, got)
    for got, a, x in zip(q, ae, xe, strict=True):
        assert abs(got - a / x) <= ULP * (4 + 7 * abs(a) / x), (a, x, got)
    assert q[0] == 0.0


def test_public_divisor_and_range_checks() -> None:
    field = FIELDS["m127"]

    def job(e: Engine):
        prepare(e, 0)
        x = secret_fixed_input_unchecked(e, [10.0, -7.5, 0.0] if e.index == 0 else None, 0, 3)
        with pytest.raises(ZeroDivisionError):
            _ = x / 0.0
        with pytest.raises(ValueError, match="divisor range"):
            x.reciprocal(lo=-4, hi=16)
        with pytest.raises(ValueError, match="outside the fix48.16 range"):
            _ = x + 2.0**31
        quarter, mixed = x / 4, x / [2.5, 3.0, 1.0]
        cp = chain_checkpoint(e)
        return reveal_fixed(quarter, mixed), cp

    (quarter, mixed) = checked(run_parties(materials(field, masks=3, truncs=6), job), field)[0]
    assert quarter == [2.5, -1.875, 0.0]
    assert all(
        abs(g - w) <= ULP * (1 + abs(w)) for g, w in zip(mixed, [4.0, -2.5, 0.0], strict=True)
    )


# -- failures: tampering, material, field size, encoding -----------------------------------


def test_tampering_with_a_beaver_opening_fails_the_mac_check(field: Field) -> None:
    def job(e: Engine):
        prepare(e, 4)
        a = secret_fixed_input_unchecked(e, [1.5, -2.0, 3.25] if e.index == 0 else None, 0, 3)
        b = secret_fixed_input_unchecked(e, [2.0, 2.0, -1.0] if e.index == 1 else None, 1, 3)
        product = a * b
        cp = chain_checkpoint(e)
        with pytest.raises(ProtocolAbort, match="checkpoint 0 has not been confirmed"):
            reveal_fixed(product)  # the failed check is never confirmed: no reveal after it
        return None, cp

    mats = materials(field, 4, 3, 3, orgs=3)
    results = run_parties(mats, job, engines={1: tampering("share")})
    assert sigma_sum([cp for _, cp in results], field) != 0


def test_too_few_truncation_pairs_is_a_material_error(field: Field) -> None:
    def job(e: Engine):
        prepare(e, 3)
        a = secret_fixed_input_unchecked(e, [1.0, 2.0, 3.0] if e.index == 0 else None, 0, 3)
        with pytest.raises(
            MaterialError,
            match="needs 3 more truncation pairs for 64-bit values by 16 bits, 1 left",
        ):
            _ = a * 0.5
        with pytest.raises(
            MaterialError, match="no truncation pairs for 56-bit values by 8 bits were dealt"
        ):
            SecretFixed(e, a.shared, f=8)[:1] * 0.5
        return True

    assert run_parties(materials(field, 3, 3, truncs=1), job) == [True, True]


def test_mask_width_and_too_small_fields() -> None:
    assert trunc_mask_bits_for(64, 16, 127) == 64 + 60
    assert trunc_mask_bits_for(64, 16, 254) == 64 + 64
    assert trunc_mask_bits_for(64, 16, 107) == 64 + 40
    with pytest.raises(ProtocolAbort, match="too small"):
        trunc_mask_bits_for(64, 16, 106)
    with pytest.raises(ValueError):
        trunc_mask_bits_for(16, 16, 254)
    needs = trunc_needs(FIELDS["m127"], 5)
    assert needs.items == ((Key("truncs", 64, 16, 64 + 60), 5),)


def test_encoding() -> None:
    assert enc(1.5) == 3 << 15
    assert enc(-ULP) == -1
    assert enc(ULP / 2 + ULP) == 2  # round half to even at the ulp
    assert enc(7) == 7 << 16
    assert enc(TOP) == 2**47 - 1 and enc(BOTTOM) == -(2**47)
    for bad in (2.0**31, float("nan"), float("inf"), 2**31):
        with pytest.raises(ValueError):
            enc(bad)


# -- properties ------------------------------------------------------------------------------

reals = st.floats(-(2.0**15), 2.0**15, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("name", sorted(FIELDS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(st.tuples(reals, reals), min_size=1, max_size=6))
def test_mul_and_add_match_plaintext(name: str, data: list[tuple[float, float]]) -> None:
    field = FIELDS[name]
    n = len(data)
    xs, ys = [d[0] for d in data], [d[1] for d in data]

    def job(e: Engine):
        prepare(e, n)
        a = secret_fixed_input_unchecked(e, xs if e.index == 0 else None, 0, n)
        b = secret_fixed_input_unchecked(e, ys if e.index == 1 else None, 1, n)
        results = a + b, a * b, a - b
        cp = chain_checkpoint(e)
        return reveal_fixed(*results), cp

    ((add, prod, sub),) = checked(run_parties(materials(field, n, n, n), job), field)
    for s, p, d, x, y in zip(add, prod, sub, xs, ys, strict=True):
        assert raw(s) == enc(x) + enc(y) and raw(d) == enc(x) - enc(y)
        assert abs(Fraction(raw(p)) - Fraction(enc(x) * enc(y), 1 << F)) < 1
