"""The SPDZ online phase against plaintext, and the attacks its MAC check must catch.

Every test runs the real engine at every org over real encrypted TCP channels, on both
fields (BN254's scalar field on Python ints, 2^127 - 1 on compiled kernels).
"""

from __future__ import annotations

from functools import reduce
from operator import mul

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainmpc.faults import shift_mask
from offchain.engine.core import Engine, ProtocolAbort, mac_check_between_peers
from offchain.preprocessing.dealer import Dealer
from offchain.preprocessing.material import Needs
from offchain.sectypes.array import reveal, secret_input_unchecked
from tests.helpers.harness import (
    FIELDS,
    MASK_SEED,
    chain_checkpoint,
    deal,
    prepare,
    run_parties,
    sigma_sum,
    tampering,
)

T = 123456789  # a public sacrifice challenge; its derivation is tested end to end


def sum_and_product(inputs: list[int]):
    """Sum and product of one input per org; the MAC check before the reveal is an on-chain
    checkpoint (simulated): returns the opened values (or why the reveal was refused), the
    digest at the checkpoint, and the checkpoint share."""

    def job(e: Engine):
        prepare(e, len(inputs) - 1, T)
        xs = [
            secret_input_unchecked(e, [inputs[o]] if o == e.index else None, o, 1, bits=32)
            for o in range(e.n)
        ]
        total = sum(xs[1:], xs[0])
        product = reduce(mul, xs)
        cp = chain_checkpoint(e)
        try:
            opened = [v[0] for v in reveal(total, product)]
        except ProtocolAbort as exc:
            opened = str(exc)
        return opened, cp.digest, cp

    return job


def test_sum_and_product_match_plaintext_and_mac_check_passes(field) -> None:
    inputs = [12, -7, 30]
    results = run_parties(deal(3, 2, field=field), sum_and_product(inputs))
    for opened, _, _ in results:
        assert opened == [35, 12 * -7 * 30]
    assert len({digest for _, digest, _ in results}) == 1  # all saw the same transcript
    assert sigma_sum([cp for _, _, cp in results], field) == 0
    assert all(cp.count for _, _, cp in results)  # the checkpoint covered the job's openings


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
    results = run_parties(
        deal(3, 2, field=field), sum_and_product([3, 4, 5]), engines={1: tampering(kind)}
    )
    assert sigma_sum([cp for _, _, cp in results], field) != 0
    # The failed checkpoint is never confirmed, so nothing is revealed after it.
    assert all("checkpoint 0 has not been confirmed" in opened for opened, _, _ in results)


def test_vector_arithmetic_and_constants(field) -> None:
    a_vals, b_vals = [-5, 0, 7, 2**31 - 1], [8, -3, 0, -(2**31)]

    def job(e: Engine):
        prepare(e, 8, T)
        a = secret_input_unchecked(e, a_vals if e.index == 0 else None, 0, 4)
        b = secret_input_unchecked(e, b_vals if e.index == 1 else None, 1, 4)
        exprs = [a + 3, 10 - a, -b, a * 4, 2 * b - a, a * b, a * [1, 2, 3, 4], a @ b]
        e.check_between_peers()
        return reveal(*exprs), e.rounds, e.checkpoint(0)

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
    # sacrifice 2 + mask check 1 + its MAC check 2 + inputs 2 + two vectorised multiplications
    # 2 + MAC check before the reveal 2 + one reveal 1 + the MAC check of what it opened 2
    assert rounds == 14
    assert sigma_sum([cp for _, _, cp in results], field) == 0


def test_bad_triple_fails_sacrifice_and_is_never_used(field) -> None:
    def job(e: Engine):
        failed = e.sacrifice(2, T)
        masks, _ = e.material.take_masks(0, 1)
        with pytest.raises(ProtocolAbort, match="sacrifice-checked"):
            e.mul(masks, masks)
        return failed, e.checkpoint(0)

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


def split_broadcast(e: Engine, field) -> None:  # type: ignore[no-untyped-def]
    """Org 0 inputs 7 as far as org 1 can tell and 8 as far as org 2 can."""
    prepare(e, 0)
    if e.index == 0:
        _, clear = e.material.take_masks(0, 1)
        e1 = field.encode(field.sub(field.from_ints([7]), clear))
        e2 = field.encode(field.sub(field.from_ints([8]), clear))
        e.network.exchange_each([b"", e1, e2])
        e.transcript.absorb("input/0", e1)
    else:
        e.input(None, 0, 1)


def test_inconsistent_input_broadcast_shows_in_the_digests(field) -> None:
    """An owner that shows different ``x - r`` to different orgs splits the transcripts."""

    def job(e: Engine):
        split_broadcast(e, field)
        return e.transcript.digest()

    digests = run_parties(deal(3, 0, field=field), job)
    assert digests[1] != digests[2]


def test_a_split_transcript_aborts_the_peer_mac_check(field) -> None:
    """The same split, caught by the digest comparison of a MAC check between the peers
    (nothing else would: no value is opened after the inconsistent broadcast)."""

    def job(e: Engine):
        split_broadcast(e, field)
        try:
            e.check_between_peers()
        except ProtocolAbort as exc:
            return str(exc)
        return "passed"

    outcomes = run_parties(deal(3, 0, field=field), job)
    assert all("transcript digests disagree" in o for o in outcomes), outcomes


def test_mac_check_coefficients_depend_on_the_digest(field) -> None:
    assert list(field.to_ints(field.from_seed(b"digest-1", 4))) != list(
        field.to_ints(field.from_seed(b"digest-2", 4))
    )
    values = field.to_ints(field.from_seed(b"x", 1000))
    assert all(0 <= v < field.p for v in values) and len(set(values)) == 1000


def test_mac_check_between_peers_passes_and_catches_tampering(field) -> None:
    def job(e: Engine):
        prepare(e, 2, T)
        x = secret_input_unchecked(e, [3] if e.index == 0 else None, 0, 1)
        y = secret_input_unchecked(e, [4] if e.index == 1 else None, 1, 1)
        z = x * y
        try:
            mac_check_between_peers(e)
        except ProtocolAbort as exc:
            return str(exc)
        return "passed" if reveal(z) == [[12]] else "wrong"

    assert run_parties(deal(3, 2, field=field), job) == ["passed"] * 3
    tampered = run_parties(deal(3, 2, field=field), job, engines={0: tampering("mac")})
    assert all("MAC check failed at peer check 0.1" in r for r in tampered)


def test_matrices_shapes_and_matmul(field) -> None:
    a_vals = [[1, -2, 3], [4, 5, -6]]  # 2 x 3
    b_vals = [[7, 8], [-9, 10], [11, -12]]  # 3 x 2
    v_vals = [2, -1, 3]

    def job(e: Engine):
        prepare(e, 30, T)
        a = secret_input_unchecked(e, sum(a_vals, []) if e.index == 0 else None, 0, 6).reshape(2, 3)
        b = secret_input_unchecked(e, sum(b_vals, []) if e.index == 1 else None, 1, 6).reshape(3, 2)
        v = secret_input_unchecked(e, v_vals if e.index == 0 else None, 0, 3)
        before = e.rounds
        ab = a @ b
        rounds = e.rounds - before
        av, vv, row, at = a @ v, v @ v, a[1], a.T
        shapes = [x.shape for x in (ab, av, vv, row, at)]
        e.check_between_peers()
        return reveal(ab, av, vv, row, at), shapes, rounds, e.checkpoint(0)

    results = run_parties(deal(2, 30, masks_per_org=9, field=field), job)
    (ab, av, vv, row, at), shapes, rounds, _ = results[0]
    assert shapes == [(2, 2), (2,), (1,), (3,), (3, 2)]
    assert ab == [58, -48, -83, 154]  # row-major, as numpy computes it
    assert av == [13, -15] and vv == [14] and row == [4, 5, -6]
    assert at == [1, 4, -2, 5, 3, -6]
    assert rounds == 1  # all 12 products in one round
    assert sigma_sum([cp for *_, cp in results], field) == 0


# -- input masks are checked before use ---------------------------------------------------


def test_a_shifted_mask_is_caught_by_its_owner_and_input_refused(field) -> None:
    """A service that hands org 1 the clear mask ``r - 1000`` would shift org 1's input by
    +1000 with every MAC check passing; the mask check shows it to org 1, whose input()
    then refuses the masks."""

    def job(e: Engine):
        assert e.sacrifice(2, T) == 0
        ok = e.check_masks(MASK_SEED)
        e.check_between_peers()  # the mask check's opening is genuine: the service cheated
        if not ok:
            with pytest.raises(ProtocolAbort, match="only after check_masks"):
                secret_input_unchecked(e, [5], 1, 1)
        return ok

    materials = shift_mask(deal(3, 2, field=field), owner=1, index=0, delta=1000)
    r = sum(field.to_ints(m.masks[1].x)[0] for m in materials) % field.p
    clear = field.to_ints(materials[1].own_masks)[0]
    assert r == (clear + 1000) % field.p  # without the check: x - clear + r = x + 1000
    assert run_parties(materials, job) == [True, False, True]
    assert run_parties(deal(3, 2, field=field), job) == [True, True, True]


def test_input_waits_for_the_mask_check_and_its_mac_check(field) -> None:
    def job(e: Engine):
        mine = [7] if e.index == 0 else None
        with pytest.raises(ProtocolAbort, match="only after check_masks"):
            secret_input_unchecked(e, mine, 0, 1)
        assert e.check_masks(MASK_SEED)
        with pytest.raises(ProtocolAbort, match="runs once"):
            e.check_masks(MASK_SEED)  # a second opening would leak a combination of masks
        with pytest.raises(ProtocolAbort, match="MAC check covering check_masks"):
            secret_input_unchecked(e, mine, 0, 1)
        cp = e.checkpoint(0)  # produced, not yet confirmed: still refused
        with pytest.raises(ProtocolAbort, match="MAC check covering check_masks"):
            secret_input_unchecked(e, mine, 0, 1)
        e.confirm_passed(cp)  # (honest run: the contract would have accepted it)
        x = secret_input_unchecked(e, mine, 0, 1)
        e.check_between_peers()
        return reveal(x)

    assert run_parties(deal(2, 0, field=field), job) == [[[7]], [[7]]]


def test_mask_check_opens_one_value_per_owner_in_one_round(field) -> None:
    needs = Needs(masks=(3, 0, 5))

    def job(e: Engine):
        before = e.rounds
        ok = e.check_masks(MASK_SEED)
        rounds, opened = e.rounds - before, e.pending
        e.check_between_peers()
        return ok, rounds, opened, len(e.material.masks[2]), len(e.material.mask_checks)

    assert needs.dealt_masks == (4, 0, 6)
    results = run_parties(Dealer(field, 3).deal(1, needs), job)
    assert results == [(True, 1, 2, 5, 2)] * 3  # org 1 owns no masks: True, nothing to check


# -- checkpoint numbering, MAC check before reveal and output -----------------------------


def test_peer_checks_do_not_shift_the_on_chain_numbering(field) -> None:
    def job(e: Engine):
        prepare(e, 1, T)  # its MAC check runs between the peers: peer check 0.0
        cp0 = chain_checkpoint(e)
        x = secret_input_unchecked(e, [3] if e.index == 0 else None, 0, 1)
        _ = x * x
        peer = e.check_between_peers()  # between on-chain checkpoints 0 and 1
        assert e.next_checkpoint == 1
        with pytest.raises(ProtocolAbort, match="checkpoint 2 requested.*next on-chain.* is 1"):
            e.checkpoint(2)
        cp1 = e.checkpoint(1)
        return cp0.checkpoint, peer.name, cp1.checkpoint, cp1.peer

    assert run_parties(deal(2, 1, field=field), job) == [(0, "peer check 1.1", 1, None)] * 2


def test_reveal_refuses_unchecked_openings_and_unconfirmed_checkpoints(field) -> None:
    def job(e: Engine):
        prepare(e, 1, T)
        x = secret_input_unchecked(e, [6] if e.index == 0 else None, 0, 1)
        z = x * x
        with pytest.raises(ProtocolAbort, match="2 opened values are not MAC-checked"):
            reveal(z)
        cp = e.checkpoint(0)
        with pytest.raises(ProtocolAbort, match="checkpoint 0 has not been confirmed"):
            reveal(z)
        e.confirm_passed(cp)
        out = reveal(z)
        return out, e.pending  # what reveal returns has been MAC-checked already

    assert run_parties(deal(2, 1, field=field), job) == [([[36]], 0)] * 2


def test_output_gating(field) -> None:
    """The peer calls ``require_checked("output")`` before committing output shares."""

    def job(e: Engine):
        prepare(e, 1, T)
        e.require_checked("output")  # everything so far checked and confirmed
        x = secret_input_unchecked(e, [2] if e.index == 0 else None, 0, 1)
        _ = x * x
        with pytest.raises(ProtocolAbort, match="output: 2 opened values are not MAC-checked"):
            e.require_checked("output")
        cp = e.checkpoint(0)
        with pytest.raises(ProtocolAbort, match="output: checkpoint 0 has not been confirmed"):
            e.require_checked("output")
        forged = type(cp)(7, cp.digest, 0, 0)
        with pytest.raises(ProtocolAbort, match="checkpoint 7 was not produced"):
            e.confirm_passed(forged)
        e.confirm_passed(cp)
        e.require_checked("output")
        return True

    assert run_parties(deal(2, 1, field=field), job) == [True, True]
