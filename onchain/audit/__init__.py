"""The auditor: verify a session from the chain's public record alone.

An auditor holds nothing secret. From the contracts' events it re-derives every check the
contract made and the ones it could not make alone:

* the parameters (:mod:`onchain.audit.params`): the parameters hash binds chain id, contract
  and every parameter; the modulus is a prime in the auditor's own table and allow-listed; the
  service is registered and not a participant; the deadline is bounded; the job hash is the
  job file's (when given); every participant accepted before any material was committed;
* every participant is a registered org; every batch was committed, with the material counts
  the job needs (when given: the whole vector compared, its layout that of
  ``offchain.preprocessing.material.Needs.counts``, one entry group per kind and width of
  material); all orgs committed inputs;
* every checkpoint has one digest from each org, all equal, and sigma reveals that match their
  commitments, sum to 0 mod p and are not all zero (honest shares never are);
* a checkpoint passed before any input (it vouches for the sacrifice, bit and mask checks),
  one after the inputs and before the output, and one after the output; every output reveal
  matches its commitment; the recorded result is the sum of the revealed shares;
* an abort says what the chain proves: a rejected reveal is re-derived from its evidence
  event; a participant's abort is shown as that org's claim, never as a finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from web3 import Web3

from onchain.audit.params import check_parameters
from onchain.audit.record import SessionRecord, order
from onchain.audit.report import AuditReport, Check
from onchain.clients import AbortClaim, AbortReason, ConsortiumClient, SessionClient, State
from onchain.commitments import output_commitment, sigma_commitment

__all__ = ["AuditReport", "Auditor", "Check"]


def _signed(v: int, p: int) -> int:
    return v - p if v > p // 2 else v


class Auditor:
    """Reads a session's events and checks them."""

    def __init__(self, w3: Web3, consortium: str, from_block: int = 0) -> None:
        self.w3 = w3
        self.consortium = ConsortiumClient(w3, consortium)
        self.sessions = SessionClient(w3, self.consortium.session_manager())
        # Logs are read from the deployment's block: the contracts do not record it, so the
        # deployment file does (or --from-block); 0 is always correct, only slower.
        self.from_block = from_block

    def audit(
        self,
        session: int,
        job_hash: bytes | None = None,
        material_counts: list[int] | None = None,
        output_length: int | None = None,
        record: SessionRecord | None = None,
    ) -> AuditReport:
        """Verify ``session``; the report's ``passed`` is True only if everything holds.

        ``job_hash``, ``material_counts`` and ``output_length`` come from the auditor's own
        copy of the job (``chainmpc audit --job FILE``); without them those checks are not
        made, and the report's ``unchecked`` says so. ``record`` is the session's events if
        already fetched (``audit --all`` reads every session's in one request)."""
        self.record = record or SessionRecord.fetch(
            self.w3, self.sessions, session, self.from_block
        )
        ev = self.record
        info = self.sessions.session(session)
        report = AuditReport(session, info.state.name, None)
        add = report.checks.append
        if info.state == State.NONE:
            add(Check("session exists", False, f"no session {session} on this contract"))
            return report
        p, parts = info.modulus, info.participants
        self._p = p

        check_parameters(ev, self.consortium, add, self._timestamp, job_hash, output_length)
        if job_hash is None:
            report.unchecked.append(
                "the job: without a job file, the job hash, the output length and the material "
                "counts are not checked against what the orgs were to compute"
            )
        # Membership when the session was opened: an org offboarded since does not make a
        # past session's record wrong (the contract refuses it every later step).
        (opened,) = ev("SessionOpened") or [None]
        at = opened["blockNumber"] if opened else None
        unregistered = [a for a in parts if not self.consortium.is_org(a, at)]
        add(
            Check(
                "participants registered at opening",
                not unregistered,
                f"{len(parts)} orgs" if not unregistered else f"not registered: {unregistered}",
            )
        )

        pre = {e["args"]["org"]: e for e in ev("PreprocessingCommitted")}
        add(
            Check(
                "preprocessing committed",
                set(pre) == set(parts),
                f"{len(pre)}/{len(parts)} batch hashes on-chain",
            )
        )
        counted = [list(e["args"]["counts"]) for e in ev("MaterialCounted")]
        if material_counts is not None and pre:
            add(
                Check(
                    "material counts are what the job needs",
                    counted == [material_counts],
                    f"{material_counts}"
                    if counted == [material_counts]
                    else f"on-chain {counted}, job needs {material_counts}",
                )
            )

        inputs = ev("InputCommitted")
        add(
            Check(
                "inputs committed",
                {e["args"]["org"] for e in inputs} == set(parts),
                f"{len(inputs)}/{len(parts)} input commitments",
            )
        )

        passed = self._check_checkpoints(session, parts, add)
        outputs = self._check_outputs(session, parts, add)

        first_input = order(inputs[0]) if inputs else None
        before_inputs = [cp for cp in passed if first_input and order(cp) < first_input]
        add(
            Check(
                "MAC check before inputs (sacrifice, bits, masks)",
                bool(before_inputs),
                "passed" if before_inputs else "no checkpoint passed before inputs were committed",
            )
        )
        out_commits = ev("OutputCommitted")
        if inputs and out_commits:
            last_input, first_out = order(inputs[-1]), order(out_commits[0])
            between = [cp for cp in passed if last_input < order(cp) < first_out]
            add(
                Check(
                    "MAC check before output",
                    bool(between),
                    "passed" if between else "no checkpoint between inputs and output",
                )
            )

        finals, aborts = ev("SessionFinalised"), ev("SessionAborted")
        if aborts:
            add(Check("session not aborted", False, self._explain_abort(session, aborts[0])))
        recorded = self.sessions.result(session)
        if finals and not aborts:
            result = list(finals[0]["args"]["result"])
            report.result = result
            last_reveal = ev("OutputRevealed")[-1]
            after = [cp for cp in passed if order(cp) > order(last_reveal)]
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

    def _timestamp(self, event: Any) -> int:
        return self.w3.eth.get_block(event["blockNumber"])["timestamp"]

    def _explain_abort(self, session: int, event: Any) -> str:
        """What the abort proves, re-derived from the evidence events where there are any."""
        a = event["args"]
        reason, claim = AbortReason(a["reason"]), AbortClaim(a["claim"])
        where = f"aborted: {reason.name} at checkpoint {a['checkpoint']}"
        if reason == AbortReason.PARTICIPANT_ABORT:
            return f"{where}: a claim by {a['by']} ({claim.name}), not proof against anyone"
        if reason == AbortReason.SIGMA_MISMATCH:
            return self._proven(
                where,
                a["culprit"],
                self.record("SigmaRejected"),
                lambda v: self._sigma_committed(v["org"], v["checkpoint"]),
                lambda v: self._sigma_of(session, v),
            )
        if reason == AbortReason.OUTPUT_MISMATCH:
            commits = {e["args"]["org"]: bytes(e["args"]["commitment"])
                       for e in self.record("OutputCommitted")}  # fmt: skip
            return self._proven(
                where,
                a["culprit"],
                self.record("OutputRejected"),
                lambda v: commits.get(v["org"]),
                lambda v: self._output_of(session, v),
            )
        return f"{where}: not attributable to one org"

    @staticmethod
    def _proven(
        where: str,
        culprit: str,
        rejected: list[Any],
        committed: Callable[[Any], bytes | None],
        recomputed: Callable[[Any], bytes],
    ) -> str:
        """Whether the evidence events prove the contract's culprit: its rejected reveal,
        recomputed here, does not match the commitment it made."""
        proven = [
            e["args"]["org"]
            for e in rejected
            if committed(e["args"]) not in (None, recomputed(e["args"]))
        ]
        if proven == [culprit]:
            return f"{where}: proven against {proven} (reveal re-derived, does not match)"
        return f"{where}: culprit {culprit} NOT supported by the evidence"

    def _sigma_of(self, session: int, v: Any) -> bytes:
        return sigma_commitment(
            v["sigma"], bytes(v["salt"]), v["org"], self.record.chain_id, self.record.manager,
            session, v["checkpoint"],
        )  # fmt: skip

    def _output_of(self, session: int, v: Any) -> bytes:
        return output_commitment(
            list(v["shares"]), bytes(v["salt"]), v["org"], self.record.chain_id,
            self.record.manager, session,
        )  # fmt: skip

    def _sigma_committed(self, org: str, checkpoint: int) -> bytes | None:
        for e in self.record("CheckpointCommitted"):
            if e["args"]["org"] == org and e["args"]["checkpoint"] == checkpoint:
                return bytes(e["args"]["sigmaCommitment"])
        return None

    def _check_checkpoints(self, session: int, parts: list[str], add: Any) -> list[Any]:
        commits: dict[int, dict[str, Any]] = defaultdict(dict)
        for e in self.record("CheckpointCommitted"):
            commits[e["args"]["checkpoint"]][e["args"]["org"]] = e["args"]
        reveals: dict[int, dict[str, Any]] = defaultdict(dict)
        for e in self.record("SigmaRevealed"):
            reveals[e["args"]["checkpoint"]][e["args"]["org"]] = e["args"]
        passed = self.record("CheckpointPassed")
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
                if self._sigma_of(session, {**v, "checkpoint": cp})
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
                sigmas = [v["sigma"] for v in r.values()]
                total = sum(sigmas) % self._p
                zero = not any(sigmas)
                add(
                    Check(
                        f"checkpoint {cp}: MAC check sums to 0",
                        total == 0 and cp in passed_numbers and not zero,
                        "sigma shares do not sum to 0"
                        if total
                        else "every sigma share is 0 (honest shares are never all zero)"
                        if zero
                        else "passed"
                        if cp in passed_numbers
                        else "sums to 0 but no CheckpointPassed event",
                    )
                )
        return passed

    def _check_outputs(self, session: int, parts: list[str], add: Any) -> list[int] | None:
        commits = {
            e["args"]["org"]: bytes(e["args"]["commitment"]) for e in self.record("OutputCommitted")
        }
        reveals = self.record("OutputRevealed")
        if not reveals:
            return None
        bad = [
            e["args"]["org"]
            for e in reveals
            if self._output_of(session, e["args"]) != commits.get(e["args"]["org"])
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
        return [sum(e["args"]["shares"][k] for e in reveals) % self._p for k in range(width)]
