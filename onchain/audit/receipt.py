"""The per-session audit receipt (``chainmpc-audit-receipt/1``): one JSON document an auditor
can file, and its verification against the chain.

Every field is re-derived from the chain's public record (events, receipts, state at the
session's opening block) and, where a job applies, from the job's canonical form, which the
receipt carries (the preimage of the on-chain job hash: names, kind, parameters, schema, org
names; never data paths or data). So :func:`verify_receipt` rebuilds the receipt and names
every field that differs; nothing in it comes from a peer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onchain.audit.record import order
from onchain.audit.report import AuditReport
from onchain.audit.summary import transactions, verdict
from onchain.clients import State

RECEIPT_FORMAT = "chainmpc-audit-receipt/1"


@dataclass(frozen=True)
class JobFacts:
    """What the auditor's own copy of the job says (built by the CLI from the job file)."""

    description: dict[str, Any]  # the canonical form, whose hash is the job hash
    hash: bytes
    material_counts: list[int] | None  # None if the job cannot be counted over the modulus
    output_length: int
    fixed_point: dict[str, Any] | None  # the error bound of the revealed values, if any
    interpret: Callable[[list[int]], dict[str, Any]]  # the kind's result from signed outputs


def _hex(b: Any) -> str:
    return "0x" + bytes(b).hex()


def _signed(v: int, p: int) -> int:
    return v - p if v > p // 2 else v


def _where(e: Any) -> dict[str, Any]:
    return {"block": e["blockNumber"], "tx": _hex(e["transactionHash"])}


def build_receipt(
    auditor: Any, session: int, job: JobFacts | None = None, report: AuditReport | None = None
) -> dict[str, Any]:
    """The receipt of ``session`` as ``auditor`` (an :class:`~onchain.audit.Auditor`) reads
    it now; JSON-ready, deterministic for a given chain (so a later rebuild must equal it).
    ``report`` is the auditor's report of this session with these job facts, if just made."""
    if report is None:
        report = auditor.audit(
            session,
            job_hash=job.hash if job else None,
            material_counts=job.material_counts if job else None,
            output_length=job.output_length if job else None,
        )
    rec, consortium = auditor.record, auditor.consortium
    info = auditor.sessions.session(session)
    p = info.modulus
    word, reason = verdict(report)
    (opened,) = rec("SessionOpened") or [None]
    at = opened["blockNumber"] if opened else None
    txs = transactions(auditor.w3, auditor.sessions, rec)
    passed = rec("CheckpointPassed")
    inputs = rec("InputCommitted")
    first_input = order(inputs[0]) if inputs else None
    out_commits = rec("OutputCommitted")
    reveals = rec("OutputRevealed")

    def covers(cp: Any) -> str:
        # What a passing checkpoint vouches for follows from where it stands in the record.
        if first_input is None or order(cp) < first_input:
            return "the material checks (sacrifice of the triples, bit test, input masks)"
        if not out_commits or order(cp) < order(out_commits[0]):
            return "the inputs and every opening of the computation"
        return "the opened output"

    accepted = {e["args"]["org"]: e for e in rec("SessionAccepted")}
    participants = []
    for a in info.participants:
        registered = at is not None and consortium.is_org(a, at)
        participants.append({
            "address": a,
            "name": consortium.org_info(a, at)[0] if registered else None,
            "role": "org" if registered else "not a registered org",
            "accepted": _where(accepted[a]) if a in accepted else None,
        })  # fmt: skip
    service_ok = at is not None and consortium.is_service(info.preprocessor, at)
    roles = {
        "at_block": at,
        "admin": consortium.admin(at) if at is not None else None,
        "opened_by": next((t.sender for t in txs if t.function == "openSession"), None),
        "participants": participants,
        "service": {"address": info.preprocessor,
                    "role": "preprocessing service" if service_ok else "not a registered service"},
    }  # fmt: skip

    counted = rec("MaterialCounted")
    before_inputs = [e["args"]["checkpoint"] for e in passed
                     if first_input is None or order(e) < first_input]  # fmt: skip
    preprocessing = {
        "batches": [{"org": e["args"]["org"], "batch_hash": _hex(e["args"]["batchHash"]),
                     **_where(e)} for e in rec("PreprocessingCommitted")],
        "counts": [int(c) for c in counted[-1]["args"]["counts"]] if counted else None,
        "counts_the_job_needs": job.material_counts if job else None,
        "checked_by": {
            "checks": "each org's sacrifice of the triples, bit test and input-mask check "
                      "(off-chain), vouched for by the MAC check of the checkpoint(s) below",
            "checkpoints": before_inputs,
        },
    }  # fmt: skip

    commits: dict[int, list[Any]] = {}
    for e in rec("CheckpointCommitted"):
        commits.setdefault(e["args"]["checkpoint"], []).append(e)
    sigmas: dict[int, list[Any]] = {}
    for e in rec("SigmaRevealed"):
        sigmas.setdefault(e["args"]["checkpoint"], []).append(e)
    passed_at = {e["args"]["checkpoint"]: e for e in passed}
    checkpoints = []
    for cp in sorted(commits):
        revealed = sigmas.get(cp, [])
        digests = {bytes(e["args"]["digest"]) for e in commits[cp]}
        ok = passed_at.get(cp)
        checkpoints.append({
            "checkpoint": cp,
            "digests": [{"org": e["args"]["org"], "digest": _hex(e["args"]["digest"]),
                         "sigma_commitment": _hex(e["args"]["sigmaCommitment"]), **_where(e)}
                        for e in commits[cp]],
            "digests_agree": len(digests) == 1 and len(commits[cp]) == len(info.participants),
            "sigmas": [{"org": e["args"]["org"], "sigma": int(e["args"]["sigma"]), **_where(e)}
                       for e in revealed],
            "mac_check": {
                "sum_mod_p": sum(int(e["args"]["sigma"]) for e in revealed) % p,
                "all_revealed": len(revealed) == len(info.participants),
                "passed": ok is not None,
                **({"passed_at": _where(ok)} if ok else {}),
            },
            "covers": covers(ok) if ok else None,
        })  # fmt: skip

    values = None
    if len(reveals) == len(info.participants) and reveals:
        width = len(reveals[0]["args"]["shares"])
        values = [sum(e["args"]["shares"][k] for e in reveals) % p for k in range(width)]
    recorded = [int(v) for v in auditor.sessions.result(session)]
    result: dict[str, Any] = {
        "recorded": recorded,
        "signed": [_signed(v, p) for v in recorded],
        "finalised_at": _where(rec("SessionFinalised")[0]) if rec("SessionFinalised") else None,
    }
    if job is not None and info.state == State.FINALISED:
        try:
            result["interpreted"] = job.interpret(result["signed"])
        except (ValueError, ArithmeticError, IndexError, KeyError) as exc:
            # A result that is not one of this job's (a forged record): say so, not crash.
            result["interpreted"] = f"not a result of this job ({type(exc).__name__})"
    abort = None
    if info.state == State.ABORTED:
        a = auditor.sessions.abort_info(session)
        abort = {"reason": a.reason.name, "by": a.by, "culprit": a.culprit,
                 "checkpoint": a.checkpoint, "claim": a.claim.name,
                 "what_it_proves": report.check("session not aborted").detail
                 if report.check("session not aborted") else None}  # fmt: skip
    doc = {
        "format": RECEIPT_FORMAT,
        "chain_id": int(rec.chain_id),
        "consortium": consortium.address,
        "manager": auditor.sessions.address,
        "session": session,
        "state": info.state.name,
        "verdict": {
            "verdict": word,
            "reason": reason,
            "passed": report.passed,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks],
            "unchecked": report.unchecked,
        },  # fmt: skip
        "job": {
            "hash": _hex(info.job_hash),
            "file": None
            if job is None
            else {
                "canonical": job.description,
                "hash": _hex(job.hash),
                "matches": job.hash == info.job_hash,
            },
        },  # fmt: skip
        "parameters": {
            "modulus": p,
            "deadline": info.deadline,
            "output_length": info.output_length,
            "params_hash": _hex(info.params_hash),
        },  # fmt: skip
        "roles": roles,
        "preprocessing": preprocessing,
        "inputs": [
            {"org": e["args"]["org"], "commitment": _hex(e["args"]["commitment"]), **_where(e)}
            for e in inputs
        ],  # fmt: skip
        "checkpoints": checkpoints,
        "output": {
            "commitments": [
                {"org": e["args"]["org"], "commitment": _hex(e["args"]["commitment"]), **_where(e)}
                for e in out_commits
            ],
            "revealed": {
                "declared_length": info.output_length,
                "length": len(values) if values is not None else 0,
                "values": values,
                "signed": [_signed(v, p) for v in values] if values is not None else None,
            },
            "fixed_point": job.fixed_point if job else None,
        },  # fmt: skip
        "result": result,
        "abort": abort,
        "gas": {
            "total": sum(t.gas_used for t in txs),
            "by_function": _sums((t.function, t.gas_used) for t in txs),
            "by_sender": _sums((t.sender, t.gas_used) for t in txs),
        },
        "blocks": {
            "from_block": auditor.from_block,
            "opened": at,
            "last": max((t.block for t in txs), default=None),
        },
        "transactions": [t.to_dict() for t in txs],
    }
    return json.loads(json.dumps(doc))  # what a file holds: tuples as lists, keys as strings


def _sums(pairs: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, gas in pairs:
        out[key] = out.get(key, 0) + gas
    return out


def differences(receipt: Any, chain: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every field where ``receipt`` and the receipt rebuilt from the chain differ:
    ``(dotted path, receipt's value, chain's value)``; a list of another length is named as a
    whole, a missing or extra key by its own path."""
    if isinstance(receipt, dict) and isinstance(chain, dict):
        out = []
        for key in list(chain) + [k for k in receipt if k not in chain]:
            sub = f"{path}.{key}" if path else str(key)
            out += differences(receipt.get(key, _MISSING), chain.get(key, _MISSING), sub)
        return out
    if isinstance(receipt, list) and isinstance(chain, list) and len(receipt) == len(chain):
        return [d for k, (a, b) in enumerate(zip(receipt, chain, strict=True))
                for d in differences(a, b, f"{path}[{k}]")]  # fmt: skip
    if receipt != chain or type(receipt) is not type(chain):
        return [(path, receipt, chain)]
    return []


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()
