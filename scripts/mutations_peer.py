"""Mutations of the peer's parameter checks and steps (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import DEMO, PEER, SOUND, Mutation, off

PEER_MUTATIONS: list[Mutation] = [
    # -- the peer's parameter checks and steps ---------------------------------------------
    off(
        "peer: job hash not checked",
        "chainmpc/roles/peer.py",
        "info.job_hash != job_hash(job.description())",
        PEER,
    ),
    off(
        "peer: participants not checked",
        "chainmpc/roles/peer.py",
        "info.participants != participants",
        PEER,
    ),
    Mutation(
        "peer: modulus not checked against its own table",
        "chainmpc/roles/peer.py",
        "        check_modulus(info.modulus)\n",
        "        pass\n",
        (SOUND + "test_a_composite_modulus_is_refused_by_every_peer_and_the_auditor",),
    ),
    off(
        "peer: modulus allow-list not checked",
        "chainmpc/roles/peer.py",
        "not consortium.is_allowed_modulus(info.modulus)",
        PEER,
    ),
    off(
        "peer: service may be a participant",
        "chainmpc/roles/peer.py",
        "info.preprocessor in info.participants",
        PEER,
    ),
    off(
        "peer: unregistered service accepted",
        "chainmpc/roles/peer.py",
        "not consortium.is_service(info.preprocessor)",
        PEER,
    ),
    off(
        "peer: deadline not bounded",
        "chainmpc/roles/peer.py",
        "not now < info.deadline <= now + MAX_SESSION_SECONDS",
        PEER,
    ),
    off(
        "peer: output length not checked",
        "chainmpc/roles/peer.py",
        "info.output_length != job.output_length",
        PEER,
    ),
    off(
        "peer: parameters hash not checked",
        "chainmpc/roles/peer.py",
        "expected != info.params_hash",
        PEER,
    ),
    Mutation(
        "peer: session tag not bound to the chain id",
        "chainmpc/roles/peer.py",
        '        + chain_id.to_bytes(32, "big")\n',
        "",
        PEER,
    ),
    off(
        "peer: material counts not checked against the job",
        "chainmpc/roles/peer.py",
        "counts != self.needs.counts()",
        (SOUND + "test_material_counts_unlike_the_job_are_refused",),
    ),
    Mutation(
        "peer: output committed before everything is MAC-checked",
        "chainmpc/roles/peer.py",
        '        self._engine.require_checked("output")\n',
        "",
        (SOUND + "test_output_is_refused_until_everything_opened_is_mac_checked",),
    ),
    off(
        "peer: checkpoint confirmed before it passed on-chain",
        "chainmpc/roles/peer.py",
        "self._session().checkpoint_count <= share.checkpoint",
        (SOUND + "test_a_checkpoint_is_confirmed_only_once_it_passed_on_chain",),
    ),
    Mutation(
        "org: an org whose step fails does not post the abort",
        "chainmpc/roles/org.py",
        "        peer.abort(claim_for(exc))\n",
        "",
        (SOUND + "test_an_org_that_crashes_mid_session_is_reported_on_chain",),
    ),
    off(
        "peer: material for another field accepted",
        "chainmpc/roles/peer.py",
        "material.field.p != self.field.p or material.n != len(self.participants)",
        (SOUND + "test_material_for_another_field_is_refused",),
    ),
    Mutation(
        "org: undecodable bytes from an org are not an org's failure",
        "chainmpc/roles/org.py",
        "    FieldError,  # another org sent bytes that are not field elements\n",
        "",
        (SOUND + "test_garbage_from_an_org_is_reported_by_the_others",),
    ),
    off(
        "peer: an abort after the deadline is not closed as expired",
        "chainmpc/roles/peer.py",
        'self.sender.w3.eth.get_block("latest")["timestamp"] > info.deadline',
        (SOUND + "test_an_abort_after_the_deadline_closes_the_session_as_expired",),
    ),
    off(
        "org: commits its input although another org's material check failed",
        "chainmpc/roles/org.py",
        "any(verdicts)",
        (DEMO + "[embedded-mask]",),
    ),
]
