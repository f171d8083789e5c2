"""``audit --all``: every session of a consortium with its state, its cost and its verdict.

The cost is re-derived from the chain: the transactions are those that emitted the session's
events (every session call emits one), their gas the receipts' ``gasUsed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from onchain.audit.record import SessionRecord
from onchain.audit.report import AuditReport
from onchain.clients import SessionClient

#: Checks a live session fails only because it has not got that far yet: failing one of these
#: (and nothing else) makes it LIVE, not FAIL.
PENDING = frozenset(
    {
        "every participant accepted the parameters",
        "preprocessing committed",
        "inputs committed",
        "MAC check before inputs (sacrifice, bits, masks)",
        "MAC check before output",
        "session finalised",
    }
)


@dataclass(frozen=True)
class Transaction:
    """One transaction of a session, as its receipt shows it."""

    hash: str
    block: int
    sender: str
    function: str
    gas_used: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"hash": self.hash, "block": self.block, "from": self.sender,
                "function": self.function, "gas_used": self.gas_used}  # fmt: skip


def transactions(w3: Web3, sessions: SessionClient, record: SessionRecord) -> list[Transaction]:
    """The session's transactions in chain order: each one that emitted an event of it."""
    hashes = list(dict.fromkeys(bytes(e["transactionHash"]) for e in record.all()))
    out = []
    for h in hashes:
        tx, receipt = w3.eth.get_transaction(h), w3.eth.get_transaction_receipt(h)
        try:
            name = sessions.contract.decode_function_input(tx["input"])[0].fn_name
        except ValueError:
            name = "(not a SessionManager call)"  # e.g. a contract that called the manager
        out.append(
            Transaction("0x" + h.hex(), receipt["blockNumber"], tx["from"], name,
                        receipt["gasUsed"])
        )  # fmt: skip
    return out


def verdict(report: AuditReport) -> tuple[str, str]:
    """PASS, FAIL, ABORTED or LIVE, with the reason.

    An aborted session is ABORTED with what the abort proves, unless the contract's culprit is
    not supported by the evidence (FAIL). A live session is FAIL as soon as a check fails that
    is not merely pending; a finalised one is PASS only if every check holds."""
    aborted = report.check("session not aborted")
    if aborted is not None:
        if "NOT supported" in aborted.detail:
            return "FAIL", aborted.detail
        return "ABORTED", aborted.detail
    failures = report.failures()
    if report.state == "FINALISED":
        if not failures:
            return "PASS", f"all {len(report.checks)} checks hold"
        return "FAIL", f"{failures[0].name}: {failures[0].detail}"
    wrong = [c for c in failures if c.name not in PENDING]
    if wrong:
        return "FAIL", f"{wrong[0].name}: {wrong[0].detail}"
    return "LIVE", f"state {report.state}, not finished"


@dataclass
class SessionSummary:
    """One row of ``audit --all``."""

    session: int
    state: str
    participants: int
    verdict: str
    reason: str
    transactions: list[Transaction] = field(default_factory=list)
    report: AuditReport | None = None

    @property
    def gas(self) -> int:
        """Gas of every transaction of the session."""
        return sum(t.gas_used for t in self.transactions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the full report under ``audit``)."""
        return {
            "session": self.session,
            "state": self.state,
            "participants": self.participants,
            "transactions": len(self.transactions),
            "gas": self.gas,
            "verdict": self.verdict,
            "reason": self.reason,
            "audit": self.report.to_dict() if self.report else None,
        }


def audit_all(auditor: Any) -> list[SessionSummary]:
    """Audit every session of ``auditor``'s consortium (an :class:`~onchain.audit.Auditor`),
    reading the logs of all of them in one request from its ``from_block``."""
    records = SessionRecord.fetch_all(auditor.w3, auditor.sessions, auditor.from_block)
    empty = SessionRecord(auditor.w3.eth.chain_id, auditor.sessions.address, {})
    rows = []
    for sid in range(1, auditor.sessions.session_count() + 1):
        record = records.get(sid, empty)
        report = auditor.audit(sid, record=record)
        info = auditor.sessions.session(sid)
        word, reason = verdict(report)
        rows.append(
            SessionSummary(sid, info.state.name, len(info.participants), word, reason,
                           transactions(auditor.w3, auditor.sessions, record), report)
        )  # fmt: skip
    return rows
