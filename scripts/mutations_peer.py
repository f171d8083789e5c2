"""Mutations of the peer's parameter checks and steps (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import DEMO, PEER, PROCESSES, SOUND, Mutation, off

#: The progress views' unit tests (no chain, no processes).
DISPLAY = "tests/chainmpc/cli/test_display.py::"

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
        "        posted = peer.abort(claim_for(exc))\n",
        "        posted = True\n",
        (PROCESSES + "test_a_tampered_batch_in_the_outbox_is_refused",),
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
    # -- the per-org peers as OS processes (tests/chainmpc/roles/test_processes.py) ---------
    off(
        "org: the step timeout never fires",
        "chainmpc/roles/org.py",
        "waited > limit",
        (PROCESSES + "test_a_killed_peer_is_named_and_aborted_then_a_rerun_finalises",),
    ),
    Mutation(
        "peer: the mesh's timeouts are not --timeout",
        "chainmpc/roles/peer.py",
        "            self.tag,\n            self.timeout,\n",
        "            self.tag,\n",
        (PROCESSES + "test_a_hung_peer_is_named_and_aborted_by_the_others",),
    ),
    Mutation(
        "org: a broken channel's error does not name the org",
        "chainmpc/roles/org.py",
        '    return f" (org {peer} is {watch.names.get(participants[peer], participants[peer])})"',
        '    return ""',
        (PROCESSES + "test_a_hung_peer_is_named_and_aborted_by_the_others",),
    ),
    Mutation(
        "org: Ctrl-C (or any crash) leaves the session live",
        "chainmpc/roles/org.py",
        "            peer.abort(AbortClaim.PROTOCOL_ERROR)\n",
        "            pass\n",
        (PROCESSES + "test_ctrl_c_of_a_peer_mid_session_aborts_it_on_the_way_out",),
    ),
    Mutation(
        "member: a committed batch that never matches is waited for until the deadline",
        "chainmpc/roles/standalone.py",
        "deadline=min(float(info.deadline), time.time() + timeout),",
        "deadline=float(info.deadline),",
        (PROCESSES + "test_a_tampered_batch_in_the_outbox_is_refused",),
    ),
    off(
        "member: the registered encryption key not checked",
        "chainmpc/roles/standalone.py",
        "bytes(registered_key) != keys.encryption_key",
        (PROCESSES + "test_an_impostor_key_is_refused_and_a_wrong_key_handshake_too",),
    ),
    off(
        "member: an unregistered account taken as an org",
        "chainmpc/roles/standalone.py",
        "not self.consortium.is_org(keys.address)",
        (PROCESSES + "test_an_impostor_key_is_refused_and_a_wrong_key_handshake_too",),
    ),
    # chainmpc peer's progress (chainmpc/cli/display.py, chainmpc/roles/progress.py).
    Mutation(
        "display: the live panel drawn into a pipe or a log file",
        "chainmpc/cli/display.py",
        "return not json_log and out.is_terminal and",
        "return not json_log and",
        (DISPLAY + "test_only_a_real_terminal_gets_the_panel",),
    ),
    Mutation(
        "progress: a phase's figures counted from the session's start, not the phase's",
        "chainmpc/roles/progress.py",
        "self._since, self._base = now, figures",
        "self._since = now",
        (DISPLAY + "test_per_phase_figures_add_up_to_the_totals",),
    ),
]
