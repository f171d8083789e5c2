"""Unit tests of the auditor's checks on synthetic records: each check fails on the record an
attacker (or a faulty contract) would leave, and holds on an honest one. The end-to-end audits
of real sessions are in test_demo.py and test_soundness.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from onchain.audit import Auditor
from onchain.audit.params import MAX_SESSION_SECONDS, check_parameters
from onchain.audit.receipt import differences
from onchain.audit.record import SessionRecord
from onchain.audit.report import AuditReport, Check
from onchain.audit.summary import verdict
from onchain.clients import AbortClaim, AbortReason
from onchain.commitments import session_params_hash, sigma_commitment

CHAIN, MANAGER, SESSION = 1337, "0x" + "77" * 20, 1
ORGS = ["0x" + f"{k:02x}" * 20 for k in (1, 2, 3)]
SERVICE = "0x" + "99" * 20
BN254 = 21888242871839275222246405745257275088548364400416034343698204186575808495617
OPENED_AT = 1_000_000
SERVICE_CHECK = "service registered, not a participant"


@dataclass
class Registry:
    moduli: tuple[int, ...] = (BN254,)
    services: tuple[str, ...] = (SERVICE,)

    def is_allowed_modulus(self, modulus: int) -> bool:
        return modulus in self.moduli

    def is_service(self, address: str) -> bool:
        return address in self.services


def event(args: dict[str, Any], block: int, index: int = 0) -> dict[str, Any]:
    return {"args": args, "blockNumber": block, "logIndex": index}


def record(
    modulus: int = BN254,
    service: str = SERVICE,
    deadline: int = OPENED_AT + 3600,
    accepted: list[str] = ORGS,
    accept_block: int = 2,
    forged_hash: bool = False,
) -> SessionRecord:
    job = b"\x42" * 32
    params = session_params_hash(CHAIN, MANAGER, SESSION, job, ORGS, modulus, service, deadline, 2)
    if forged_hash:
        params = session_params_hash(1, MANAGER, SESSION, job, ORGS, modulus, service, deadline, 2)
    opened = {
        "sessionId": SESSION, "jobHash": job, "participants": ORGS, "modulus": modulus,
        "preprocessor": service, "deadline": deadline, "outputLength": 2, "paramsHash": params,
    }  # fmt: skip
    return SessionRecord(
        CHAIN,
        MANAGER,
        {
            "SessionOpened": [event(opened, 1)],
            "SessionAccepted": [
                event({"org": o, "paramsHash": params}, accept_block, k)
                for k, o in enumerate(accepted)
            ],
            "PreprocessingCommitted": [event({"org": o}, 3, k) for k, o in enumerate(ORGS)],
        },
    )


def checks(rec: SessionRecord, registry: Registry | None = None, job: bytes | None = None):
    out: list[Check] = []
    check_parameters(rec, registry or Registry(), out.append, lambda _: OPENED_AT, job)  # type: ignore[arg-type]
    return {c.name: c for c in out}


def test_an_honest_record_passes_every_parameter_check() -> None:
    assert all(c.ok for c in checks(record(), job=b"\x42" * 32).values())


@pytest.mark.parametrize(
    "rec, registry, failing",
    [
        (record(forged_hash=True), None, "parameters hash binds chain, contract and parameters"),
        (record(modulus=3 * BN254), Registry(moduli=(3 * BN254,)), "modulus is a known prime"),
        (record(), Registry(moduli=()), "modulus is a known prime"),
        (record(service=ORGS[0]), Registry(services=(ORGS[0],)), SERVICE_CHECK),
        (record(), Registry(services=()), SERVICE_CHECK),
        (record(deadline=OPENED_AT + MAX_SESSION_SECONDS + 1), None, "deadline bounded"),
        (record(accepted=ORGS[:2]), None, "every participant accepted the parameters"),
        (record(accept_block=4), None, "every participant accepted the parameters"),
    ],
)  # fmt: skip
def test_each_parameter_check_fails_on_its_attack(rec, registry, failing: str) -> None:
    result = checks(rec, registry)
    assert not result[failing].ok, result[failing]
    # Acceptances are of the recomputed hash: a forged hash also shows as not accepted.
    also = {"every participant accepted the parameters"} if "hash" in failing else set()
    assert all(c.ok for name, c in result.items() if name not in {failing, *also})


def test_the_job_file_must_match() -> None:
    assert not checks(record(), job=b"\x43" * 32)["job hash matches the job file"].ok


def auditor_over(events: dict[str, list]) -> Auditor:
    auditor = object.__new__(Auditor)
    auditor.record = SessionRecord(CHAIN, MANAGER, events)
    return auditor


def sigma_abort(culprit: str) -> dict[str, Any]:
    args = {"reason": AbortReason.SIGMA_MISMATCH, "by": culprit, "culprit": culprit,
            "checkpoint": 1, "claim": AbortClaim.NONE}  # fmt: skip
    return event(args, 9)


def test_blame_is_re_derived_from_the_evidence() -> None:
    salt = b"\x05" * 32
    committed = sigma_commitment(10, salt, ORGS[1], CHAIN, MANAGER, SESSION, 1)
    commits = [event({"org": ORGS[1], "checkpoint": 1, "sigmaCommitment": committed}, 5)]
    rejected = {"org": ORGS[1], "checkpoint": 1, "sigma": 11, "salt": salt}
    auditor = auditor_over({"CheckpointCommitted": commits, "SigmaRejected": [event(rejected, 9)]})
    assert f"proven against ['{ORGS[1]}']" in auditor._explain_abort(SESSION, sigma_abort(ORGS[1]))
    # A culprit whose "rejected" reveal in fact matches its commitment is not proven guilty.
    honest = {**rejected, "sigma": 10}
    auditor = auditor_over({"CheckpointCommitted": commits, "SigmaRejected": [event(honest, 9)]})
    assert "NOT supported" in auditor._explain_abort(SESSION, sigma_abort(ORGS[1]))


def test_a_participant_abort_is_reported_as_a_claim() -> None:
    args = {"reason": AbortReason.PARTICIPANT_ABORT, "by": ORGS[0], "culprit": "0x" + "00" * 20,
            "checkpoint": 0, "claim": AbortClaim.SACRIFICE_FAILED}  # fmt: skip
    text = auditor_over({})._explain_abort(SESSION, event(args, 9))
    assert f"a claim by {ORGS[0]} (SACRIFICE_FAILED), not proof against anyone" in text


def report_of(state: str, *failing: str, abort: str | None = None) -> AuditReport:
    report = AuditReport(SESSION, state, None, [Check("parameters recorded", True, "ok")])
    report.checks += [Check(name, False, "failed") for name in failing]
    if abort is not None:
        report.checks.append(Check("session not aborted", False, abort))
    return report


@pytest.mark.parametrize(
    "report, word",
    [
        (report_of("FINALISED"), "PASS"),
        (report_of("FINALISED", "checkpoint 2: MAC check sums to 0"), "FAIL"),
        (report_of("ABORTED", "inputs committed", abort="aborted: DIGEST_MISMATCH"), "ABORTED"),
        # The contract named a culprit its own evidence does not support: the record is wrong.
        (report_of("ABORTED", abort="aborted: culprit 0x1 NOT supported by the evidence"), "FAIL"),
        (report_of("COMPUTING", "inputs committed", "session finalised"), "LIVE"),
        (report_of("COMPUTING", "session finalised", "checkpoint 0: digests agree"), "FAIL"),
    ],
)
def test_the_verdict_of_each_kind_of_session(report: AuditReport, word: str) -> None:
    assert verdict(report)[0] == word


def test_receipt_differences_name_every_field() -> None:
    chain = {"gas": {"total": 10, "by": {"a": 1}}, "ok": True, "list": [1, 2], "none": None}
    assert differences(json.loads(json.dumps(chain)), chain) == []
    edited = {"gas": {"total": 11, "by": {"a": 1}, "extra": 0}, "ok": 1, "list": [1, 2, 3]}
    names = [d[0] for d in differences(edited, chain)]
    # A bool edited to an equal int is a difference; a key added or dropped is named.
    assert names == ["gas.total", "gas.extra", "ok", "list", "none"]
