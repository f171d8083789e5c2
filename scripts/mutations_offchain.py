"""Mutations of the off-chain checks: transport, material cache, MAC check, preprocessing
checks, bounded input, field (see ``scripts/mutations.py``).
"""

from __future__ import annotations

from mutation_base import CACHE, DELIVERY, DEMO, ENGINE, SEALED, SOUND, Mutation, off

OFFCHAIN: list[Mutation] = [
    # -- transport ------------------------------------------------------------------------
    Mutation(
        "transport: counters not checked",
        "offchain/transport/framing.py",
        "if counter != chan.expected:",
        "if False:",
        ("tests/offchain/transport/test_transport.py",),
    ),
    Mutation(
        "transport: nonce prefix not checked",
        "offchain/transport/framing.py",
        "if nonce_prefix(sender, receiver, kind, salt) != chan.prefix:",
        "if False:",
        ("tests/offchain/transport/test_transport.py",),
    ),
    # -- mining ---------------------------------------------------------------------------
    Mutation(
        "stats: local aggregates input without a range proof",
        "offchain/mining/stats.py",
        "sectypes.secret_input_widths(engine, values, owner, widths)",
        "sectypes.secret_input_unchecked(engine, values, owner, len(widths), 127)",
        ("tests/offchain/mining/test_stats.py",),
    ),
    Mutation(
        "naive-bayes: local counts input without a range proof",
        "offchain/mining/naive_bayes.py",
        "sectypes.secret_input_widths(engine, values, o, widths)",
        "sectypes.secret_input_unchecked(engine, values, o, len(widths), 127)",
        ("tests/offchain/mining/test_naive_bayes.py",),
    ),
    Mutation(
        "kmeans and linear-svm: local aggregates input without a range proof",
        "offchain/mining/aggregates.py",
        "sectypes.secret_input_widths(engine, values, owner, widths)",
        "sectypes.secret_input_unchecked(engine, values, owner, len(widths), 127)",
        (
            "tests/offchain/mining/test_kmeans.py::test_a_negative_or_oversized_count_is_refused_by_every_org",
            "tests/offchain/mining/test_linear_svm.py::test_an_out_of_range_count_is_refused_by_every_org",
        ),
    ),
    Mutation(
        "linear-svm: the model output as a trivially shared constant (vacuous MAC check)",
        "offchain/mining/linear_svm.py",
        "return SecretArray(engine, zero.shared[index], zero.bits) + values",
        "return SecretArray(engine, zero.shared[index], zero.bits).constant(values)",
        (
            "tests/offchain/mining/test_linear_svm.py::test_the_outputs_are_shared_so_the_output_mac_check_is_not_vacuous",
        ),
    ),
    # -- cache and outbox (offchain/preprocessing/cache.py) -------------------------------
    Mutation(
        "cache: batch hash not checked",
        "offchain/preprocessing/cache.py",
        "if hash_file(f) != expected_hash:",
        "if False:",
        (CACHE + "test_edited_file_is_rejected_and_left_for_inspection",),
    ),
    Mutation(
        "cache: batch not consumed (ledger entry not exclusive, reusable)",
        "offchain/preprocessing/cache.py",
        "_LEDGER_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY",
        "_LEDGER_FLAGS = os.O_CREAT | os.O_WRONLY",
        (CACHE + "test_restoring_a_consumed_file_does_not_replay_it",),
    ),
    Mutation(
        "cache: consumption recorded by file name, not by batch hash",
        "offchain/preprocessing/cache.py",
        "ledger = self._ledger / expected_hash.hex()",
        'ledger = self._ledger / f"{deployment}-{session}"',
        (CACHE + "test_the_same_bytes_under_another_name_do_not_replay",),
    ),
    off(
        "cache: a received batch kept without its hash check",
        "offchain/preprocessing/cache.py",
        "sink is not None and sink.digest.digest() != expected_hash",
        (
            CACHE + "test_bytes_that_miss_the_commitment_never_become_the_entry",
            DELIVERY + "test_tampered_bytes_are_rejected_and_the_cache_stays_empty",
        ),
    ),
    Mutation(
        "cache: a failed write leaves its temporary file",
        "offchain/preprocessing/cache.py",
        "tmp.unlink(missing_ok=True)",
        "pass",
        (CACHE + "test_a_failed_write_leaves_nothing",),
    ),
    Mutation(
        "outbox: session claim not exclusive",
        "offchain/preprocessing/cache.py",
        "_CLAIM_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY",
        "_CLAIM_FLAGS = os.O_CREAT | os.O_WRONLY",
        (
            CACHE + "test_only_one_service_deals_a_session",
            CACHE + "test_claim_is_exclusive_across_processes",
        ),
    ),
    Mutation(
        "outbox: a failed dealing keeps its half-put batches",
        "offchain/preprocessing/cache.py",
        "for put in self._held.pop(key):\n                put.unlink(missing_ok=True)",
        "self._held.pop(key)",
        (CACHE + "test_a_failed_dealing_rolls_back_its_batches_and_claim",),
    ),
    # -- the chunked sealed format (offchain/preprocessing/sealed.py) ---------------------
    Mutation(
        "sealed: a chunk's nonce is not its place in the batch",
        "offchain/preprocessing/sealed.py",
        'return number.to_bytes(24, "big")',
        "return bytes(24)",
        (SEALED + "test_tampered_chunks_are_refused_on_opening",),
    ),
    Mutation(
        "sealed: the batch key is not fresh per batch",
        "offchain/preprocessing/sealed.py",
        "self._key = nacl.utils.random(32)",
        "self._key = bytes(32)",
        (SEALED + "test_tampered_chunks_are_refused_on_opening",),
    ),
    Mutation(
        "sealed: decrypted chunks kept without bound (a re-read chunk is never re-checked)",
        "offchain/preprocessing/sealed.py",
        "while self._cache and self._resident + size > self._budget:",
        "while False:",
        (SEALED + "test_a_chunk_changed_on_disk_after_opening_is_never_used",),
    ),
    off(
        "sealed: a truncated batch is not refused by its length",
        "offchain/preprocessing/sealed.py",
        "size < offset",
        (SEALED + "test_tampered_chunks_are_refused_on_opening",),
    ),
    off(
        "sealed: trailing bytes after the last chunk are accepted",
        "offchain/preprocessing/sealed.py",
        "size > offset",
        (SEALED + "test_tampered_chunks_are_refused_on_opening",),
    ),
    Mutation(
        "sealed: chunks not all authenticated before the material is used",
        "offchain/preprocessing/batch.py",
        "    reader.verify()\n",
        "",
        (
            SEALED + "test_tampered_chunks_are_refused_on_opening",
            SEALED + "test_a_service_committing_a_tampered_batch_gets_it_refused_and_kept",
        ),
    ),
    Mutation(
        "checks: a failed sacrifice part is forgotten by the next part",
        "offchain/engine/checks.py",
        "failed += self._sacrifice_part(",
        "failed = self._sacrifice_part(",
        (SEALED + "test_a_bad_triple_in_any_sacrifice_part_fails_the_sacrifice",),
    ),
    # -- delivery over the network (chainmpc/roles/delivery.py) ---------------------------
    off(
        "delivery: request signer not checked against the org in the path",
        "chainmpc/roles/delivery.py",
        "signer != org",
        (
            DELIVERY + "test_a_wrong_signer_is_refused",
            DELIVERY + "test_an_org_cannot_fetch_another_orgs_batch",
        ),
    ),
    off(
        "delivery: request timestamp freshness not checked",
        "chainmpc/roles/delivery.py",
        "abs(time.time() - int(stamp)) > FRESHNESS",
        (DELIVERY + "test_a_stale_or_future_timestamp_is_refused",),
    ),
    off(
        "delivery: the service's authorize() not asked",
        "chainmpc/roles/delivery.py",
        "not self.server.authorize(deployment, session, org)",
        (DELIVERY + "test_an_org_the_service_does_not_authorize_is_refused_at_once",),
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
        "chainmpc/roles/peer.py",
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
        "return sum(1 for v in f.to_ints(zs) if v != 0) if count else 0",
        "return 0",
        (ENGINE + "test_bad_triple_fails_sacrifice_and_is_never_used",),
    ),
    Mutation(
        "checks: triples usable although the sacrifice failed",
        "offchain/engine/checks.py",
        "        if not failed:\n            self._checked = (first, count)",
        "        if True:\n            self._checked = (first, count)",
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
            "tests/offchain/preprocessing/test_kinds.py::"
            "test_only_the_kinds_the_bit_check_covered_are_usable",
            "tests/offchain/preprocessing/test_kinds.py::"
            "test_a_tampered_bit_of_any_kind_and_width_is_caught_before_use",
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
        "chainmpc/roles/peer.py",
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
]
