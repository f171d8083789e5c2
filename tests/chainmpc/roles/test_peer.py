"""Unit tests of the peer's parameter checks (docs/protocols.md, "Session parameters"): every
parameter an org relies on is refused when it is not what the org expects. The registry is a
stub here; the end-to-end refusals run on a chain in test_soundness.py."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from chainmpc.exceptions import ParameterError
from chainmpc.jobs.sum_product import SumProductJob
from chainmpc.roles.peer import MAX_SESSION_SECONDS, check_parameters, session_tag
from offchain.hazmat.field import BN254_SCALAR, MERSENNE_127
from onchain.clients import SessionInfo, State
from onchain.commitments import job_hash, session_params_hash

JOB = SumProductJob.in_memory([12, -7, 30])
ORGS = [f"0x{k:040x}" for k in (1, 2, 3)]
SERVICE = f"0x{9:040x}"
MANAGER = f"0x{7:040x}"
NOW = 1_000_000


@dataclass
class Registry:
    """Stands in for the consortium contract: which moduli and services it lists."""

    moduli: tuple[int, ...] = (BN254_SCALAR, MERSENNE_127)
    services: tuple[str, ...] = (SERVICE,)

    def is_allowed_modulus(self, modulus: int) -> bool:
        return modulus in self.moduli

    def is_service(self, address: str) -> bool:
        return address in self.services


def info(chain_id: int = 1337, **changes: object) -> SessionInfo:
    """A session as the contract would record it (its params hash over its own fields)."""
    base = SessionInfo(
        job_hash=job_hash(JOB.description()),
        preprocessor=SERVICE,
        modulus=BN254_SCALAR,
        deadline=NOW + 3600,
        output_length=2,
        state=State.OPENED,
        checkpoint_count=0,
        participants=list(ORGS),
        params_hash=b"",
    )
    s = replace(base, **changes)  # type: ignore[arg-type]
    digest = session_params_hash(
        chain_id, MANAGER, 1, s.job_hash, s.participants, s.modulus, s.preprocessor,
        s.deadline, s.output_length,
    )  # fmt: skip
    return replace(s, params_hash=digest)


def check(i: SessionInfo, registry: Registry | None = None) -> bytes:
    return check_parameters(
        i, job=JOB, participants=ORGS, chain_id=1337, manager=MANAGER, session=1,
        consortium=registry or Registry(), now=NOW,  # type: ignore[arg-type]
    )  # fmt: skip


def test_expected_parameters_are_accepted_with_their_hash() -> None:
    assert check(info()) == info().params_hash


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"job_hash": b"\x01" * 32}, "job hash"),
        ({"participants": ORGS[:2]}, "participants"),
        ({"participants": [ORGS[1], ORGS[0], ORGS[2]]}, "participants"),
        ({"modulus": 3 * BN254_SCALAR}, "modulus"),
        ({"modulus": 2**255 - 19}, "modulus"),  # prime, but not one this org knows
        ({"preprocessor": ORGS[0]}, "is a participant"),
        ({"preprocessor": f"0x{8:040x}"}, "not a registered preprocessing service"),
        ({"deadline": NOW + MAX_SESSION_SECONDS + 1}, "deadline"),
        ({"deadline": NOW}, "deadline"),
        ({"output_length": 3}, "output length"),
        ({"state": State.ACCEPTED}, "not awaiting acceptance"),
    ],
)
def test_each_parameter_is_checked(changes: dict, words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        check(info(**changes))


def test_a_modulus_off_the_allow_list_is_refused() -> None:
    with pytest.raises(ParameterError, match="allow-list"):
        check(info(modulus=MERSENNE_127), Registry(moduli=(BN254_SCALAR,)))


def test_a_params_hash_for_another_chain_is_refused() -> None:
    with pytest.raises(ParameterError, match="parameters hash"):
        check(info(chain_id=1))


def test_session_tags_are_bound_to_chain_contract_and_session() -> None:
    tag = session_tag(1337, MANAGER, 1)
    assert tag != session_tag(1, MANAGER, 1)
    assert tag != session_tag(1337, f"0x{8:040x}", 1)
    assert tag != session_tag(1337, MANAGER, 2)
