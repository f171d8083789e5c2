"""What the two secure types share (offchain/sectypes/base.py): the same shape, indexing,
linear algebra, sum, concatenation and selection, for integers and fixed point alike."""

from __future__ import annotations

import pytest

from offchain.engine.core import Engine
from offchain.sectypes.array import SecretArray, reveal, secret_input_unchecked
from offchain.sectypes.fixed import SecretFixed, reveal_fixed, secret_fixed_input_unchecked
from tests.helpers.harness import deal, prepare, run_parties


def test_integers_and_fixed_point_share_shape_sums_concat_and_selection(field) -> None:
    def job(e: Engine):
        prepare(e, 50)
        mine = e.index == 0
        x = secret_input_unchecked(e, [1, 2, 3, 4, 5, 6] if mine else None, 0, 6)
        r = secret_fixed_input_unchecked(e, [0.5, -1.25, 2.0] if mine else None, 0, 3)
        grid = x.reshape(2, 3)
        rows = list(grid)  # iteration gives the rows
        picked = SecretArray.concat([grid[1], grid.T[0], x.sum()])
        cond = secret_input_unchecked(e, [1, 0, 1] if mine else None, 0, 3, bits=2)
        chosen = cond.if_else(r, r * 0 - 7.5)  # a secret and a public-derived branch
        mixed = cond.if_else(rows[0], 10)  # a secret and a public branch
        joined = SecretFixed.concat([r, r.sum(), 1.5 - r[1:2]])
        e.check_between_peers()
        return (
            [len(grid), grid.size, len(rows)],
            reveal(picked, mixed),
            reveal_fixed(chosen, joined),
        )

    mats = deal(2, 50, masks_per_org=12, field=field)
    shape, ints, reals = run_parties(mats, job)[0]
    assert shape == [2, 6, 2]
    assert ints == [[4, 5, 6, 1, 4, 21], [1, 10, 3]]
    assert reals == [[0.5, -7.5, 2.0], [0.5, -1.25, 2.0, 1.25, 2.75]]


def test_operands_of_the_other_type_or_format_are_refused(field) -> None:
    def job(e: Engine):
        prepare(e, 10)
        mine = e.index == 0
        x = secret_input_unchecked(e, [1, 2] if mine else None, 0, 2)
        r = secret_fixed_input_unchecked(e, [0.5, 1.0] if mine else None, 0, 2)
        coarse = secret_fixed_input_unchecked(e, [0.5, 1.0] if mine else None, 0, 2, f=8)
        with pytest.raises(TypeError):
            x + r  # noqa: B018 - the operator is the test
        with pytest.raises(TypeError):
            r - x  # noqa: B018
        with pytest.raises(ValueError, match="convert first"):
            SecretFixed.concat([r, coarse])
        with pytest.raises(ValueError, match="convert first"):
            r + coarse  # noqa: B018
        return True

    mats = deal(2, 10, masks_per_org=6, field=field)
    assert run_parties(mats, job) == [True, True]
