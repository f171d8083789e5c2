"""Mutations of the auditor's checks (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import AUDIT, SOUND, Mutation

RECEIPTS = "tests/chainmpc/cli/test_audit_receipts.py::"

AUDIT_MUTATIONS: list[Mutation] = [
    # -- the auditor -----------------------------------------------------------------------
    Mutation(
        "audit: membership judged now, not when the session was opened",
        "onchain/audit/__init__.py",
        "if not self.consortium.is_org(a, at)]",
        "if not self.consortium.is_org(a)]",
        ("tests/chainmpc/cli/test_member.py",),
    ),
    Mutation(
        "audit: output length not compared with the job's",
        "onchain/audit/params.py",
        'a["outputLength"] == output_length,',
        "True,",
        (SOUND + "test_the_auditor_checks_the_job_file_and_the_material_counts",),
    ),
    Mutation(
        "audit: all-zero sigmas accepted",
        "onchain/audit/__init__.py",
        "total == 0 and cp in passed_numbers and not zero,",
        "total == 0 and cp in passed_numbers,",
        (SOUND + "test_the_auditor_rejects_all_zero_sigmas",),
    ),
    Mutation(
        "audit: parameters hash not recomputed",
        "onchain/audit/params.py",
        'recomputed == bytes(a["paramsHash"]),\n',
        "True,\n",
        AUDIT,
    ),
    Mutation(
        "audit: modulus not checked",
        "onchain/audit/params.py",
        "prime and allowed,\n",
        "True,\n",
        AUDIT,
    ),
    Mutation(
        "audit: service not checked",
        "onchain/audit/params.py",
        "registered and service not in parts,\n",
        "True,\n",
        AUDIT,
    ),
    Mutation(
        "audit: deadline not checked",
        "onchain/audit/params.py",
        "0 < span <= MAX_SESSION_SECONDS,",
        "True,",
        AUDIT,
    ),
    Mutation(
        "audit: acceptance not checked",
        "onchain/audit/params.py",
        "not missing and in_time,\n",
        "True,\n",
        AUDIT,
    ),
    Mutation(
        "audit: job hash not compared",
        "onchain/audit/params.py",
        'same = bytes(a["jobHash"]) == job_hash',
        "same = True",
        AUDIT,
    ),
    Mutation(
        "audit: material counts not compared",
        "onchain/audit/__init__.py",
        "counted == [material_counts],",
        "True,",
        (SOUND + "test_the_auditor_checks_the_job_file_and_the_material_counts",),
    ),
    Mutation(
        "audit: blame taken from the contract, not re-derived",
        "onchain/audit/__init__.py",
        'if committed(e["args"]) not in (None, recomputed(e["args"]))',
        'if committed(e["args"]) is not None',
        AUDIT,
    ),
    Mutation(
        "audit: a participant's claim shown as proof",
        "onchain/audit/__init__.py",
        "a claim by {a['by']} ({claim.name}), not proof against anyone",
        "proven against {a['by']} ({claim.name})",
        AUDIT,
    ),
    # -- audit --all, receipts, verify-receipt ----------------------------------------------
    Mutation(
        "audit: logs read from block 0, not the deployment block",
        "onchain/audit/record.py",
        '"fromBlock": from_block,',
        '"fromBlock": 0,',
        (RECEIPTS + "test_the_audit_reads_logs_from_the_deployment_block",),
    ),
    Mutation(
        "audit --all: a finalised session with a failing check is PASS",
        "onchain/audit/summary.py",
        'if report.state == "FINALISED":\n        if not failures:',
        'if report.state == "FINALISED":\n        if True:',
        (*AUDIT, RECEIPTS + "test_audit_all_lists_every_session_with_its_cost_and_verdict"),
    ),
    Mutation(
        "audit --all: blame the evidence does not support is only ABORTED",
        "onchain/audit/summary.py",
        'if "NOT supported" in aborted.detail:',
        "if False:",
        AUDIT,
    ),
    Mutation(
        "audit --all: a live session with a forged record is LIVE",
        "onchain/audit/summary.py",
        "    if wrong:\n",
        "    if False:\n",
        AUDIT,
    ),
    Mutation(
        "audit: gas counts a transaction once per event",
        "onchain/audit/summary.py",
        'hashes = list(dict.fromkeys(bytes(e["transactionHash"]) for e in record.all()))',
        'hashes = [bytes(e["transactionHash"]) for e in record.all()]',
        (RECEIPTS + "test_audit_all_lists_every_session_with_its_cost_and_verdict",),
    ),
    Mutation(
        "receipt: the job file's match taken on trust",
        "onchain/audit/receipt.py",
        '"matches": job.hash == info.job_hash,',
        '"matches": True,',
        (RECEIPTS + "test_a_tampered_receipt_fails_naming_each_field",),
    ),
    Mutation(
        "verify-receipt: a value of another type (True for 1) matches",
        "onchain/audit/receipt.py",
        "if receipt != chain or type(receipt) is not type(chain):",
        "if receipt != chain:",
        AUDIT,
    ),
    Mutation(
        "verify-receipt: a field added to the receipt is not named",
        "onchain/audit/receipt.py",
        "for key in list(chain) + [k for k in receipt if k not in chain]:",
        "for key in list(chain):",
        AUDIT,
    ),
    Mutation(
        "verify-receipt: exits 0 whatever differs",
        "chainmpc/cli/audit.py",
        "sys.exit(0 if not diffs else 1)",
        "sys.exit(0)",
        (RECEIPTS + "test_a_tampered_receipt_fails_naming_each_field",),
    ),
]
