"""The SPDZ online phase against plaintext, and the attacks its MAC check must catch.

Every test runs the real engine at every org over real encrypted TCP channels, on both
fields (BN254's scalar field on Python ints, 2^127 - 1 on compiled kernels).
"""

from __future__ import annotations

from functools import reduce
from operator import mul

import pytest
from harness import FIELDS, deal, run_parties, sigma_sum
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.engine import Engine, ProtocolAbort, mac_check_between_peers
from offchain.sectypes import reveal, secret_input

T = 123456789  # a public sacrifice challenge; its derivation is tested end to end


@pytest.fixture(params=sorted(FIELDS))
def field(request):
    return FIELDS[request.param]


def sum_and_product(inputs: list[int]):
    def job(e: Engine):
        assert e.sacrifice(len(inputs) - 1, T) == 0
        xs = [
            secret_input(e, [inputs[o]] if o == e.index else None, o, 1, bits=32)
            for o in range(e.n)
        ]
        total = sum(xs[1:], xs[0])
        product = reduce(mul, xs)
        opened = reveal(total, product)
        return [v[0] for v in opened], e.transcript.digest(), e.checkpoint()

    return job


def test_sum_and_product_match_plaintext_and_mac_check_passes(field) -> None:
    inputs = [12, -7, 30]
    results = run_parties(deal(3, 2, field=field), sum_and_product(inputs))
    for opened, _, _ in results:
        assert opened == [35, 12 * -7 * 30]
    assert len({digest for _, digest, _ in results}) == 1  # all saw the same transcript
    assert sigma_sum([cp for _, _, cp in results], field) == 0


@settings(max_examples=5, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=4))
def test_random_inputs_bn254(inputs: list[int]) -> None:
    field = FIELDS["bn254"]
    results = run_parties(deal(len(inputs), len(inputs) - 1, field=field), sum_and_product(inputs))
    expected = [sum(inputs), reduce(mul, inputs)]
    assert all(opened == expected for opened, _, _ in results)
    assert sigma_sum([cp for _, _, cp in results], field) == 0


@pytest.mark.parametrize("kind", ["share", "mac"])
def test_tampered_share_or_mac_fails_the_mac_check(field, kind: str) -> None:
    results = run_parties(deal(3, 2, field=field), sum_and_product([3, 4, 5]), tamper={1: kind})
    assert sigma_sum([cp for _, _, cp in results], field) != 0


def test_vector_arithmetic_and_constants(field) -> None:
    a_vals, b_vals = [-5, 0, 7, 2**31 - 1], [8, -3, 0, -(2**31)]

    def job(e: Engine):
        assert e.sacrifice(8, T) == 0
        a = secret_input(e, a_vals if e.index == 0 else None, 0, 4)
        b = secret_input(e, b_vals if e.index == 1 else None, 1, 4)
        exprs = [a + 3, 10 - a, -b, a * 4, 2 * b - a, a * b, a * [1, 2, 3, 4], a @ b]
        return reveal(*exprs), e.rounds, e.checkpoint()

    results = run_parties(deal(2, 8, masks_per_org=4, field=field), job)
    opened, rounds, _ = results[0]
    ab = [x * y for x, y in zip(a_vals, b_vals, strict=True)]
    assert opened == [
        [x + 3 for x in a_vals],
        [10 - x for x in a_vals],
        [-y for y in b_vals],
        [4 * x for x in a_vals],
        [2 * y - x for x, y in zip(a_vals, b_vals, strict=True)],
        ab,
        [x * k for x, k in zip(a_vals, [1, 2, 3, 4], strict=True)],
        [sum(ab)],
    ]
    # sacrifice 2 + inputs 2 + two vectorised multiplications 2 + one reveal 1
    assert rounds == 7
    assert sigma_sum([cp for _, _, cp in results], field) == 0


def test_bad_triple_fails_sacrifice_and_is_never_used(field) -> None:
    def job(e: Engine):
        failed = e.sacrifice(2, T)
        masks, _ = e.material.take_masks(0, 1)
        with pytest.raises(ProtocolAbort, match="sacrifice-checked"):
            e.mul(masks, masks)
        return failed, e.checkpoint()

    results = run_parties(deal(3, 2, corrupt=2, field=field), job)  # pair 1's checked triple
    assert all(failed == 1 for failed, _ in results)
    # The openings were honest, so the MAC check passes: the evidence is against the dealer.
    assert sigma_sum([cp for _, cp in results], field) == 0


def test_triples_are_used_once_and_never_unchecked(field) -> None:
    def job(e: Engine):
        masks, _ = e.material.take_masks(0, 1)
        with pytest.raises(ProtocolAbort, match="0 left"):
            e.mul(masks, masks)
        e.sacrifice(1, T)
        e.mul(masks, masks)
        with pytest.raises(ProtocolAbort, match="0 left"):
            e.mul(masks, masks)
        return True

    assert run_parties(deal(2, 1, field=field), job) == [True, True]


def test_inconsistent_input_broadcast_shows_in_the_digests(field) -> None:
    """An owner that shows different ``x - r`` to different orgs splits the transcripts."""

    def job(e: Engine):
        if e.index == 0:
            _, clear = e.material.take_masks(0, 1)
            e1 = field.encode(field.sub(field.from_ints([7]), clear))
            e2 = field.encode(field.sub(field.from_ints([8]), clear))
            e.network.exchange_each([b"", e1, e2])
            e.transcript.absorb("input/0", e1)
        else:
            e.input(None, 0, 1)
        return e.transcript.digest()

    digests = run_parties(deal(3, 0, field=field), job)
    assert digests[1] != digests[2]


def test_mac_check_coefficients_depend_on_the_digest(field) -> None:
    assert list(field.to_ints(field.from_seed(b"digest-1", 4))) != list(
        field.to_ints(field.from_seed(b"digest-2", 4))
    )
    values = field.to_ints(field.from_seed(b"x", 1000))
    assert all(0 <= v < field.p for v in values) and len(set(values)) == 1000


def test_mac_check_between_peers_passes_and_catches_tampering(field) -> None:
    def job(e: Engine):
        e.sacrifice(2, T)
        x = secret_input(e, [3] if e.index == 0 else None, 0, 1)
        y = secret_input(e, [4] if e.index == 1 else None, 1, 1)
        reveal(x * y)
        try:
            mac_check_between_peers(e)
            return "passed"
        except ProtocolAbort as exc:
            return str(exc)

    assert run_parties(deal(3, 2, field=field), job) == ["passed"] * 3
    tampered = run_parties(deal(3, 2, field=field), job, tamper={0: "mac"})
    assert all("MAC check 0 failed" in r for r in tampered)


def test_matrices_shapes_and_matmul(field) -> None:
    a_vals = [[1, -2, 3], [4, 5, -6]]  # 2 x 3
    b_vals = [[7, 8], [-9, 10], [11, -12]]  # 3 x 2
    v_vals = [2, -1, 3]

    def job(e: Engine):
        assert e.sacrifice(30, T) == 0
        a = secret_input(e, sum(a_vals, []) if e.index == 0 else None, 0, 6).reshape(2, 3)
        b = secret_input(e, sum(b_vals, []) if e.index == 1 else None, 1, 6).reshape(3, 2)
        v = secret_input(e, v_vals if e.index == 0 else None, 0, 3)
        before = e.rounds
        ab = a @ b
        rounds = e.rounds - before
        av, vv, row, at = a @ v, v @ v, a[1], a.T
        shapes = [x.shape for x in (ab, av, vv, row, at)]
        return reveal(ab, av, vv, row, at), shapes, rounds, e.checkpoint()

    results = run_parties(deal(2, 30, masks_per_org=9, field=field), job)
    (ab, av, vv, row, at), shapes, rounds, _ = results[0]
    assert shapes == [(2, 2), (2,), (1,), (3,), (3, 2)]
    assert ab == [58, -48, -83, 154]  # row-major, as numpy computes it
    assert av == [13, -15] and vv == [14] and row == [4, 5, -6]
    assert at == [1, 4, -2, 5, 3, -6]
    assert rounds == 1  # all 12 products in one round
    assert sigma_sum([cp for *_, cp in results], field) == 0
