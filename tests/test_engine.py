"""The SPDZ online phase against plaintext, and the attacks its MAC check must catch."""

from __future__ import annotations

from functools import reduce
from operator import mul

import pytest
from harness import FIELD, deal, run_parties
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.engine import Engine, ProtocolAbort
from offchain.sectypes import SecretValue, reveal, secret_input
from offchain.transcript import challenge

P = FIELD.p
T = 123456789  # any public sacrifice challenge; how it is derived is tested in the demo


def sum_sigmas(results: list) -> int:
    return sum(r.sigma for r in results) % P


def sum_and_product(inputs: list[int]):
    def job(e: Engine):
        assert e.sacrifice(len(inputs) - 1, T) == []
        xs: list[SecretValue] = []
        for owner in range(e.n):
            mine = [FIELD.from_signed(inputs[owner])] if owner == e.index else None
            xs += secret_input(e, mine, owner)
        total = sum(xs[1:], xs[0])
        product = reduce(mul, xs)
        opened = reveal([total, product], "output")
        return [FIELD.to_signed(v) for v in opened], e.transcript.digest(), e.checkpoint()

    return job


def test_sum_and_product_match_plaintext_and_mac_check_passes() -> None:
    inputs = [12, -7, 30]
    results = run_parties(deal(3, 2), sum_and_product(inputs))
    for opened, _, _ in results:
        assert opened == [35, 12 * -7 * 30]
    assert len({digest for _, digest, _ in results}) == 1  # all orgs saw the same transcript
    assert sum_sigmas([cp for _, _, cp in results]) == 0


@settings(max_examples=5, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=4))
def test_random_inputs(inputs: list[int]) -> None:
    results = run_parties(deal(len(inputs), len(inputs) - 1), sum_and_product(inputs))
    expected = [sum(inputs), reduce(mul, inputs)]
    assert all(opened == expected for opened, _, _ in results)
    assert sum_sigmas([cp for _, _, cp in results]) == 0


@pytest.mark.parametrize("kind", ["share", "mac"])
def test_tampered_share_or_mac_fails_the_mac_check(kind: str) -> None:
    results = run_parties(deal(3, 2), sum_and_product([3, 4, 5]), tamper={1: kind})
    assert sum_sigmas([cp for _, _, cp in results]) != 0


def test_constants_and_linear_ops() -> None:
    def job(e: Engine):
        assert e.sacrifice(1, T) == []
        (a,) = secret_input(e, [FIELD.from_signed(-5)] if e.index == 0 else None, 0)
        (b,) = secret_input(e, [FIELD.from_signed(8)] if e.index == 1 else None, 1)
        exprs = [a + 3, 10 - a, -b, a * 4, 2 * b - a, a * b]
        return [FIELD.to_signed(v) for v in reveal(exprs)], e.checkpoint()

    results = run_parties(deal(2, 1), job)
    assert results[0][0] == [-2, 15, -8, -20, 21, -40]
    assert sum_sigmas([cp for _, cp in results]) == 0


def test_bad_triple_fails_sacrifice_and_is_never_used() -> None:
    def job(e: Engine):
        failed = e.sacrifice(2, T)
        with pytest.raises(ProtocolAbort, match="sacrifice-checked"):
            e.mul([e.material.masks[0].share], [e.material.masks[0].share])
        return failed, e.checkpoint()

    results = run_parties(deal(3, 2, corrupt=2), job)  # pair 1's checked triple is bad
    assert all(failed == [1] for failed, _ in results)
    # The openings were honest, so the MAC check passes: the evidence is against the dealer.
    assert sum_sigmas([cp for _, cp in results]) == 0


def test_mul_refuses_unchecked_triples() -> None:
    def job(e: Engine):
        s = e.material.masks[0].share
        with pytest.raises(ProtocolAbort, match="0 left"):
            e.mul([s], [s])
        return True

    assert run_parties(deal(2, 1), job) == [True, True]


def test_triples_are_used_once() -> None:
    def job(e: Engine):
        e.sacrifice(1, T)
        s = e.material.masks[0].share
        e.mul([s], [s])
        with pytest.raises(ProtocolAbort, match="0 left"):
            e.mul([s], [s])
        return True

    assert run_parties(deal(2, 1), job) == [True, True]


def test_mac_check_coefficients_depend_on_the_transcript() -> None:
    a = challenge(P, b"s", b"\0\0\0\0", b"digest-1", count=4)
    b = challenge(P, b"s", b"\0\0\0\0", b"digest-2", count=4)
    assert a != b and all(0 <= v < P for v in a + b)


def test_inconsistent_input_broadcast_shows_in_the_digests() -> None:
    """An owner that shows different ``x - r`` to different orgs splits the transcripts."""

    def job(e: Engine):
        if e.index == 0:
            mask = e.material.take_mask(0)
            e1 = FIELD.encode([(7 - mask.r) % P])
            e2 = FIELD.encode([(8 - mask.r) % P])
            e.network.exchange_each([b"", e1, e2])
            e.transcript.absorb("input/0", e1)
        else:
            e.input(None, 0)
        return e.transcript.digest()

    digests = run_parties(deal(3, 0), job)
    assert digests[1] != digests[2]
