"""The mutations of the security checks that ``scripts/mutation_check.py`` applies (those of
the contracts are in ``scripts/contract_mutations.py``).

Each is an exact text substitution that removes or weakens one check, with the tests that must
fail once it is gone. Keep ``old`` short but unique (``count`` says how often it must occur);
when a check moves, the script reports the mutation as NOT APPLIED until it is updated here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path``; ``tests`` must then fail."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    count: int = 1

    @property
    def is_contract(self) -> bool:
        return self.path.endswith(".sol")


ENGINE = "tests/offchain/engine/test_engine.py::"
SOUND = "tests/chainmpc/test_soundness.py::"
PEER = ("tests/chainmpc/test_peer.py",)
AUDIT = ("tests/onchain/test_audit.py",)
DEMO = "tests/chainmpc/cli/test_demo.py::test_every_cheat_aborts_on_chain_with_no_result"


def off(name: str, path: str, condition: str, tests: tuple[str, ...], count: int = 1) -> Mutation:
    """The check ``if condition:`` never fires."""
    return Mutation(name, path, f"if {condition}:", "if False:", tests, count)


MUTATIONS: list[Mutation] = [
    # -- transport ------------------------------------------------------------------------
    Mutation(
        "transport: counters not checked",
        "offchain/transport/mesh.py",
        "if counter != chan.expected:",
        "if False:",
        ("tests/offchain/transport/test_transport.py",),
    ),
    Mutation(
        "transport: nonce prefix not checked",
        "offchain/transport/mesh.py",
        "if _nonce_prefix(sender, receiver, kind, salt) != chan.prefix:",
        "if False:",
        ("tests/offchain/transport/test_transport.py",),
    ),
    # -- cache ----------------------------------------------------------------------------
    Mutation(
        "cache: batch hash not checked",
        "offchain/preprocessing/cache.py",
        "if batch_hash(sealed) != expected_hash:",
        "if False:",
        ("tests/offchain/preprocessing/test_material.py",),
    ),
    Mutation(
        "cache: batch not consumed (reusable)",
        "offchain/preprocessing/cache.py",
        "os.rename(source, taken)",
        "os.link(source, taken)",
        ("tests/offchain/preprocessing/test_material.py",),
    ),
    # -- MAC check: coefficients, transcript, openings ------------------------------------
    Mutation(
        "engine: MAC-check coefficients do not depend on the transcript digest",
        "offchain/engine/core.py",
        'seed = b"chainmpc/mac-check" + self.session_tag + where + digest',
        'seed = b"chainmpc/mac-check" + self.session_tag + where',
        ("tests/offchain/engine/test_mac_check.py::test_compensating_errors_fail_the_mac_check",),
    ),
    Mutation(
        "engine: openings not absorbed into the transcript",
        "offchain/engine/core.py",
        "        self.transcript.absorb(label, f.encode(values))\n        self._pending.append",
        "        self._pending.append",
        ("tests/offchain/engine/test_mac_check.py::test_compensating_errors_fail_the_mac_check",),
    ),
    Mutation(
        "engine: input broadcast not absorbed into the transcript",
        "offchain/engine/core.py",
        'self.transcript.absorb(f"input/{owner}", f.encode(broadcast))',
        "pass",
        (ENGINE + "test_inconsistent_input_broadcast_shows_in_the_digests",),
    ),
    Mutation(
        "engine: outputs opened by the contract not MAC-checked",
        "offchain/engine/core.py",
        "        self._pending.append((values, shared.m))",
        "        pass",
        (DEMO + "[embedded-output]",),
    ),
    Mutation(
        "peer: the final acceptance of the output skipped",
        "chainmpc/peer.py",
        'self._engine.accept_opened(shared, self.field.from_ints(values), "output")',
        "pass",
        (DEMO + "[embedded-output]",),
    ),
    off(
        "engine: peer MAC check ignores unequal digests",
        "offchain/engine/core.py",
        "any(msg[:32] != share.digest for msg in round1)",
        (ENGINE + "test_a_split_transcript_aborts_the_peer_mac_check",),
    ),
    off(
        "engine: peer MAC check ignores a non-zero sum",
        "offchain/engine/core.py",
        "total % f.p",
        (ENGINE + "test_mac_check_between_peers_passes_and_catches_tampering",),
    ),
    off(
        "engine: checkpoint number not checked against the contract's",
        "offchain/engine/core.py",
        "number != self._onchain",
        (ENGINE + "test_peer_checks_do_not_shift_the_on_chain_numbering",),
    ),
    Mutation(
        "engine: peer checks advance the on-chain numbering (the framing bug)",
        "offchain/engine/core.py",
        "        self._peer_checks += 1\n",
        "        self._peer_checks += 1\n        self._onchain += 1\n",
        (SOUND + "test_peer_checks_between_onchain_checkpoints_frame_nobody",),
    ),
    off(
        "engine: reveal with openings pending",
        "offchain/engine/core.py",
        "self.pending",
        (ENGINE + "test_reveal_refuses_unchecked_openings_and_unconfirmed_checkpoints",),
    ),
    off(
        "engine: reveal with a checkpoint not confirmed",
        "offchain/engine/core.py",
        "serial not in self._confirmed",
        (ENGINE + "test_reveal_refuses_unchecked_openings_and_unconfirmed_checkpoints",),
    ),
    Mutation(
        "sectypes: reveal does not require a MAC check first",
        "offchain/sectypes/array.py",
        "    engine.require_checked(label)\n",
        "",
        (ENGINE + "test_reveal_refuses_unchecked_openings_and_unconfirmed_checkpoints",),
    ),
    # -- preprocessing checks --------------------------------------------------------------
    Mutation(
        "checks: a failed sacrifice is ignored",
        "offchain/engine/checks.py",
        "failed = sum(1 for v in f.to_ints(zs) if v != 0) if count else 0",
        "failed = 0",
        (ENGINE + "test_bad_triple_fails_sacrifice_and_is_never_used",),
    ),
    Mutation(
        "checks: triples usable although the sacrifice failed",
        "offchain/engine/checks.py",
        "        if not failed:\n            self._checked = tuple(",
        "        if True:\n            self._checked = tuple(",
        (ENGINE + "test_bad_triple_fails_sacrifice_and_is_never_used",),
    ),
    Mutation(
        "checks: a failed bit test is ignored (dealt bits and input bits)",
        "offchain/engine/checks.py",
        "return f.to_ints(opened) == [0]",
        "return True",
        (
            "tests/offchain/protocols/test_compare.py::test_a_dealt_non_bit_is_caught_before_use",
            "tests/offchain/protocols/test_inputs.py::test_an_out_of_range_input_is_refused_by_every_org",
        ),
    ),
    Mutation(
        "checks: the dealt bits are never tested",
        "offchain/engine/checks.py",
        'ok = self.test_bits(bits, "bit-check") if len(bits) else True',
        "ok = True",
        ("tests/offchain/protocols/test_compare.py::test_a_dealt_non_bit_is_caught_before_use",),
    ),
    off(
        "checks: masks of a kind or width the bit check did not cover are usable",
        "offchain/engine/checks.py",
        "count and key not in self._bits_checked",
        (
            "tests/offchain/preprocessing/test_kinds.py::test_only_the_kinds_the_bit_check_covered_are_usable",
            "tests/offchain/preprocessing/test_kinds.py::test_a_tampered_bit_of_any_kind_and_width_is_caught_before_use",
        ),
    ),
    off(
        "checks: mask bits used before the MAC check covering the bit check",
        "offchain/engine/checks.py",
        "count and self._bits_serial not in self._confirmed",
        (
            "tests/offchain/protocols/test_compare.py::test_mask_bits_wait_for_the_mac_check_that_covers_their_check",
        ),
    ),
    Mutation(
        "checks: a wrong clear input mask is accepted",
        "offchain/engine/checks.py",
        "self._masks_checked = expected is None or f.to_ints(u)[expected[0]] == expected[1]",
        "self._masks_checked = True",
        (ENGINE + "test_a_shifted_mask_is_caught_by_its_owner_and_input_refused",),
    ),
    Mutation(
        "engine: input does not wait for the mask check",
        "offchain/engine/core.py",
        "        self._require_checked_masks(count)\n",
        "",
        (ENGINE + "test_input_waits_for_the_mask_check_and_its_mac_check",),
    ),
    Mutation(
        "peer: constant sacrifice challenge",
        "chainmpc/peer.py",
        '(t,) = challenge(self.field.p, self.tag, b"sacrifice", *hashes, count=1)',
        '(t,) = challenge(self.field.p, self.tag, b"sacrifice", count=1)',
        (
            "tests/offchain/engine/test_mac_check.py::test_a_dealer_cannot_predict_the_sacrifice_challenge",
        ),
    ),
    # -- bounded input ---------------------------------------------------------------------
    off(
        "inputs: an out-of-range input is accepted",
        "offchain/protocols/inputs.py",
        "not in_range",
        (
            "tests/offchain/protocols/test_inputs.py::test_an_out_of_range_input_is_refused_by_every_org",
        ),
    ),
    Mutation(
        "inputs: the range test is trusted before its MAC check",
        "offchain/protocols/inputs.py",
        "    engine.check_between_peers()  # the outcome steers the computation: check it first\n",
        "",
        (
            "tests/offchain/protocols/test_inputs.py::test_a_hidden_out_of_range_input_fails_the_mac_check_before_it_is_used",
        ),
    ),
    Mutation(
        "sectypes: secret_input does not bound its input",
        "offchain/sectypes/array.py",
        "input_bounded(engine, vec, owner, count, bits)",
        "engine.input(vec, owner, count)",
        (
            "tests/offchain/protocols/test_inputs.py::test_a_session_with_an_out_of_range_input_finalises_nothing",
        ),
    ),
    # -- field -----------------------------------------------------------------------------
    off(
        "field: composite moduli accepted",
        "offchain/hazmat/field.py",
        "not gmpy2.is_prime(p, 25)",
        (
            "tests/offchain/preprocessing/test_material.py::test_prime_field_refuses_composites_and_small_primes",
        ),
    ),
    Mutation(
        "field: moduli outside the table of known primes accepted",
        "offchain/hazmat/field.py",
        "    check_modulus(p)\n    return Mersenne127()",
        "    return Mersenne127()",
        ("tests/offchain/preprocessing/test_material.py::test_only_known_primes_make_a_field",),
    ),
    # -- the peer's parameter checks and steps ---------------------------------------------
    off(
        "peer: job hash not checked",
        "chainmpc/peer.py",
        "info.job_hash != job_hash(job.description())",
        PEER,
    ),
    off(
        "peer: participants not checked",
        "chainmpc/peer.py",
        "info.participants != participants",
        PEER,
    ),
    Mutation(
        "peer: modulus not checked against its own table",
        "chainmpc/peer.py",
        "        check_modulus(info.modulus)\n",
        "        pass\n",
        (SOUND + "test_a_composite_modulus_is_refused_by_every_peer_and_the_auditor",),
    ),
    off(
        "peer: modulus allow-list not checked",
        "chainmpc/peer.py",
        "not consortium.is_allowed_modulus(info.modulus)",
        PEER,
    ),
    off(
        "peer: service may be a participant",
        "chainmpc/peer.py",
        "info.preprocessor in info.participants",
        PEER,
    ),
    off(
        "peer: unregistered service accepted",
        "chainmpc/peer.py",
        "not consortium.is_service(info.preprocessor)",
        PEER,
    ),
    off(
        "peer: deadline not bounded",
        "chainmpc/peer.py",
        "not now < info.deadline <= now + MAX_SESSION_SECONDS",
        PEER,
    ),
    off(
        "peer: output length not checked",
        "chainmpc/peer.py",
        "info.output_length != job.output_length",
        PEER,
    ),
    off(
        "peer: parameters hash not checked",
        "chainmpc/peer.py",
        "expected != info.params_hash",
        PEER,
    ),
    Mutation(
        "peer: session tag not bound to the chain id",
        "chainmpc/peer.py",
        '        + chain_id.to_bytes(32, "big")\n',
        "",
        PEER,
    ),
    off(
        "peer: material counts not checked against the job",
        "chainmpc/peer.py",
        "counts != self.needs.counts()",
        (SOUND + "test_material_counts_unlike_the_job_are_refused",),
    ),
    Mutation(
        "peer: output committed before everything is MAC-checked",
        "chainmpc/peer.py",
        '        self._engine.require_checked("output")\n',
        "",
        (SOUND + "test_output_is_refused_until_everything_opened_is_mac_checked",),
    ),
    off(
        "peer: checkpoint confirmed before it passed on-chain",
        "chainmpc/peer.py",
        "self._session().checkpoint_count <= share.checkpoint",
        (SOUND + "test_a_checkpoint_is_confirmed_only_once_it_passed_on_chain",),
    ),
    Mutation(
        "launcher: an org whose step fails does not post the abort",
        "chainmpc/launcher.py",
        "        peer.abort(claim_for(exc))\n",
        "",
        (SOUND + "test_an_org_that_crashes_mid_session_is_reported_on_chain",),
    ),
    off(
        "peer: material for another field accepted",
        "chainmpc/peer.py",
        "material.field.p != self.field.p or material.n != len(self.participants)",
        (SOUND + "test_material_for_another_field_is_refused",),
    ),
    Mutation(
        "launcher: undecodable bytes from an org are not an org's failure",
        "chainmpc/launcher.py",
        "    FieldError,  # another org sent bytes that are not field elements\n",
        "",
        (SOUND + "test_garbage_from_an_org_is_reported_by_the_others",),
    ),
    off(
        "peer: an abort after the deadline is not closed as expired",
        "chainmpc/peer.py",
        'self.sender.w3.eth.get_block("latest")["timestamp"] > info.deadline',
        (SOUND + "test_an_abort_after_the_deadline_closes_the_session_as_expired",),
    ),
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
