"""The auditor: verify a session from the chain's public record alone.

An auditor holds nothing secret. From the contracts' events it re-derives every check the
contract made and the ones it could not make alone: every participant is a registered org;
every org's preprocessing batch was committed; a MAC check passed before any input was shared
(it vouches for the sacrifice check's openings); all orgs committed inputs; every checkpoint has
one digest from each org, all equal, and sigma reveals that match their commitments and sum to
0 mod p; a checkpoint passed after the inputs and before the output; every output reveal matches
its commitment; the recorded result is the sum of the revealed shares and was MAC-checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import keccak
from web3 import Web3

from onchain.clients import AbortReason, ConsortiumClient, SessionClient, State
from onchain.commitments import output_commitment, sigma_commitment


@dataclass
class Check:
    """One verified property: its name, whether it holds, and why."""

    name: str
    ok: bool
    detail: str


@dataclass
class AuditReport:
    """Everything the auditor checked about one session."""

    session: int
    state: str
    result: list[int] | None
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True iff every check holds."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        """The checks that do not hold."""
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "passed": self.passed}


def _signed(v: int, p: int) -> int:
    return v - p if v > p // 2 else v


def _order(ev: Any) -> tuple[int, int]:
    return (ev["blockNumber"], ev["logIndex"])


class Auditor:
    """Reads a session's events and checks them."""

    def __init__(self, w3: Web3, consortium: str) -> None:
        self.consortium = ConsortiumClient(w3, consortium)
        self.sessions = SessionClient(w3, self.consortium.session_manager())

    def _fetch(self, session: int) -> None:
        """Fetch the session's logs in one request and decode them by event signature."""
        contract = self.sessions.contract
        by_topic = {}
        for item in contract.abi:
            if item.get("type") == "event":
                types = ",".join(i["type"] for i in item["inputs"])
                by_topic[keccak(text=f"{item['name']}({types})")] = item["name"]
        logs = self.sessions.contract.w3.eth.get_logs(
            {
                "address": contract.address,
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [None, "0x" + session.to_bytes(32, "big").hex()],
            }
        )
        self._logs: dict[str, list[Any]] = defaultdict(list)
        for log in sorted(logs, key=_order):
            name = by_topic.get(bytes(log["topics"][0]))
            if name is not None:
                self._logs[name].append(getattr(contract.events, name)().process_log(log))

    def _events(self, name: str) -> list[Any]:
        return self._logs.get(name, [])

    def audit(self, session: int) -> AuditReport:
        """Verify ``session``; the report's ``passed`` is True only if everything holds."""
        self._fetch(session)
        info = self.sessions.session(session)
        report = AuditReport(session, info.state.name, None)
        add = report.checks.append
        if info.state == State.NONE:
            add(Check("session exists", False, f"no session {session} on this contract"))
            return report
        p, parts = info.modulus, info.participants

        unregistered = [a for a in parts if not self.consortium.is_org(a)]
        add(
            Check(
                "participants registered",
                not unregistered,
                f"{len(parts)} orgs" if not unregistered else f"not registered: {unregistered}",
            )
        )

        pre = {e["args"]["org"]: e for e in self._events("PreprocessingCommitted")}
        add(
            Check(
                "preprocessing committed",
                set(pre) == set(parts),
                f"{len(pre)}/{len(parts)} batch hashes on-chain",
            )
        )

        inputs = self._events("InputCommitted")
        add(
            Check(
                "inputs committed",
                {e["args"]["org"] for e in inputs} == set(parts),
                f"{len(inputs)}/{len(parts)} input commitments",
            )
        )

        passed = self._check_checkpoints(session, p, parts, add)
        outputs = self._check_outputs(session, p, parts, add)

        first_input = _order(inputs[0]) if inputs else None
        before_inputs = [cp for cp in passed if first_input and _order(cp) < first_input]
        add(
            Check(
                "MAC check before inputs (sacrifice)",
                bool(before_inputs),
                "passed" if before_inputs else "no checkpoint passed before inputs were committed",
            )
        )
        out_commits = self._events("OutputCommitted")
        if inputs and out_commits:
            last_input, first_out = _order(inputs[-1]), _order(out_commits[0])
            between = [cp for cp in passed if last_input < _order(cp) < first_out]
            add(
                Check(
                    "MAC check before output",
                    bool(between),
                    "passed" if between else "no checkpoint between inputs and output",
                )
            )

        finals = self._events("SessionFinalised")
        aborts = self._events("SessionAborted")
        if aborts:
            a = aborts[0]["args"]
            culprit = a["culprit"] if int(a["culprit"], 16) else "not attributable to one org"
            detail = bytes(a["detail"]).rstrip(b"\0").decode(errors="replace")
            add(
                Check(
                    "session not aborted",
                    False,
                    f"aborted: {AbortReason(a['reason']).name} at checkpoint {a['checkpoint']}, "
                    f"culprit {culprit}" + (f", detail {detail!r}" if detail else ""),
                )
            )
        recorded = self.sessions.result(session)
        if finals and not aborts:
            result = list(finals[0]["args"]["result"])
            report.result = result
            last_reveal = self._events("OutputRevealed")[-1]
            after = [cp for cp in passed if _order(cp) > _order(last_reveal)]
            add(
                Check(
                    "output MAC-checked",
                    bool(after),
                    "output checkpoint passed" if after else "no MAC check after output",
                )
            )
            add(
                Check(
                    "result is the sum of revealed shares",
                    outputs == result == recorded,
                    f"result {result} (as signed integers: {[_signed(v, p) for v in result]})",
                )
            )
            add(Check("session finalised", info.state == State.FINALISED, info.state.name))
        elif not aborts:
            add(Check("session finalised", False, f"state {info.state.name}"))
        return report

    def _check_checkpoints(self, session: int, p: int, parts: list[str], add: Any) -> list[Any]:
        commits: dict[int, dict[str, Any]] = defaultdict(dict)
        for e in self._events("CheckpointCommitted"):
            commits[e["args"]["checkpoint"]][e["args"]["org"]] = e["args"]
        reveals: dict[int, dict[str, Any]] = defaultdict(dict)
        for e in self._events("SigmaRevealed"):
            reveals[e["args"]["checkpoint"]][e["args"]["org"]] = e["args"]
        passed = self._events("CheckpointPassed")
        passed_numbers = {e["args"]["checkpoint"] for e in passed}
        for cp in sorted(commits):
            c, r = commits[cp], reveals.get(cp, {})
            digests = {bytes(v["digest"]) for v in c.values()}
            add(
                Check(
                    f"checkpoint {cp}: digests agree",
                    len(digests) == 1 and set(c) == set(parts),
                    f"{len(c)} digests, {len(digests)} distinct",
                )
            )
            if not r:
                continue
            bad = [
                org
                for org, v in r.items()
                if sigma_commitment(v["sigma"], bytes(v["salt"]), org, session, cp)
                != bytes(c[org]["sigmaCommitment"])
            ]
            add(
                Check(
                    f"checkpoint {cp}: reveals match commitments",
                    not bad,
                    "all match" if not bad else f"mismatch by {bad}",
                )
            )
            if set(r) == set(parts):
                total = sum(v["sigma"] for v in r.values()) % p
                add(
                    Check(
                        f"checkpoint {cp}: MAC check sums to 0",
                        total == 0 and cp in passed_numbers,
                        "sigma shares do not sum to 0"
                        if total
                        else "passed"
                        if cp in passed_numbers
                        else "sums to 0 but no CheckpointPassed event",
                    )
                )
        return passed

    def _check_outputs(self, session: int, p: int, parts: list[str], add: Any) -> list[int] | None:
        commits = {
            e["args"]["org"]: bytes(e["args"]["commitment"])
            for e in self._events("OutputCommitted")
        }
        reveals = self._events("OutputRevealed")
        if not reveals:
            return None
        bad = [
            e["args"]["org"]
            for e in reveals
            if output_commitment(
                list(e["args"]["shares"]), bytes(e["args"]["salt"]), e["args"]["org"], session
            )
            != commits.get(e["args"]["org"])
        ]
        add(
            Check(
                "output reveals match commitments",
                not bad,
                "all match" if not bad else f"mismatch by {bad}",
            )
        )
        if len(reveals) != len(parts):
            return None
        width = len(reveals[0]["args"]["shares"])
        return [sum(e["args"]["shares"][k] for e in reveals) % p for k in range(width)]
