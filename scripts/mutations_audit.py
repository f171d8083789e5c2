"""Mutations of the auditor's checks (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import AUDIT, SOUND, Mutation

AUDIT_MUTATIONS: list[Mutation] = [
    # -- the auditor -----------------------------------------------------------------------
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
]
