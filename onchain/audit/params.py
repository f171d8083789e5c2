"""The auditor's checks of a session's parameters (docs/protocols.md, "Session parameters").

The auditor re-derives these on its own code path: its own table of primes (tested with
gmpy2, not taken from the peers' code), the parameters hash recomputed from the opening event,
the registry's roles, and the acceptance of every participant before any material was
committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gmpy2

from onchain.audit.record import SessionRecord, order
from onchain.audit.report import Check
from onchain.clients import ConsortiumClient
from onchain.commitments import session_params_hash

#: The primes a session may use (the same two the peers know; see offchain/hazmat/field.py).
KNOWN_PRIMES = {
    2**127 - 1: "Mersenne 2^127 - 1",
    21888242871839275222246405745257275088548364400416034343698204186575808495617: "BN254 r",
}
MAX_SESSION_SECONDS = 7 * 24 * 3600  # SessionManager.MAX_SESSION_DURATION


def check_parameters(
    record: SessionRecord,
    consortium: ConsortiumClient,
    add: Callable[[Check], None],
    opened_at: Callable[[Any], int],
    job_hash: bytes | None,
    output_length: int | None = None,
) -> None:
    """Add the parameter checks for the session whose record is ``record``; the job's hash
    and output length when the auditor has the job file."""
    (opened,) = record("SessionOpened") or [None]
    if opened is None:
        add(Check("parameters recorded", False, "no SessionOpened event"))
        return
    a = opened["args"]
    parts, modulus, service = list(a["participants"]), a["modulus"], a["preprocessor"]
    recomputed = session_params_hash(
        record.chain_id,
        record.manager,
        a["sessionId"],
        bytes(a["jobHash"]),
        parts,
        modulus,
        service,
        a["deadline"],
        a["outputLength"],
    )
    add(
        Check(
            "parameters hash binds chain, contract and parameters",
            recomputed == bytes(a["paramsHash"]),
            f"chain id {record.chain_id}, manager {record.manager}"
            if recomputed == bytes(a["paramsHash"])
            else "the recorded parameters hash is not the hash of the recorded parameters",
        )
    )
    name = KNOWN_PRIMES.get(modulus)
    prime = name is not None and bool(gmpy2.is_prime(modulus, 50))
    allowed = consortium.is_allowed_modulus(modulus)
    add(
        Check(
            "modulus is a known prime",
            prime and allowed,
            f"{name}, allow-listed"
            if prime and allowed
            else f"{modulus} is "
            + ("not in the auditor's table of primes" if not prime else "not allow-listed"),
        )
    )
    registered = consortium.is_service(service)
    add(
        Check(
            "service registered, not a participant",
            registered and service not in parts,
            f"service {service}"
            if registered and service not in parts
            else f"{service} is "
            + ("a participant" if service in parts else "not a registered service"),
        )
    )
    span = a["deadline"] - opened_at(opened)
    add(
        Check(
            "deadline bounded",
            0 < span <= MAX_SESSION_SECONDS,
            f"{span} s after opening (at most {MAX_SESSION_SECONDS})",
        )
    )
    if job_hash is not None:
        same = bytes(a["jobHash"]) == job_hash
        add(
            Check(
                "job hash matches the job file",
                same,
                f"0x{job_hash.hex()}"
                if same
                else f"on-chain 0x{bytes(a['jobHash']).hex()}, job file 0x{job_hash.hex()}",
            )
        )
    if output_length is not None:
        add(
            Check(
                "output length is the job's",
                a["outputLength"] == output_length,
                f"{a['outputLength']} (job: {output_length})",
            )
        )
    accepted = {
        e["args"]["org"]
        for e in record("SessionAccepted")
        if bytes(e["args"]["paramsHash"]) == recomputed
    }
    committed = record("PreprocessingCommitted")
    in_time = (
        all(order(e) < order(committed[0]) for e in record("SessionAccepted"))
        if committed
        else True
    )
    missing = [p for p in parts if p not in accepted]
    add(
        Check(
            "every participant accepted the parameters",
            not missing and in_time,
            f"{len(accepted)}/{len(parts)} before preprocessing"
            if not missing and in_time
            else f"not accepted by {missing}"
            if missing
            else "accepted after preprocessing",
        )
    )
