"""The mutations of the contracts' security checks (see ``scripts/mutations.py`` for the rest).

One mutation per security check of contracts/SessionManager.sol and contracts/Consortium.sol,
each with the smallest selection of the tests in tests/contracts/ that catches it; the
contracts are recompiled in the scratch copy for each.
"""

from __future__ import annotations

from contract_mutations_membership import MEMBERSHIP_MUTATIONS

from mutations import Mutation

SM = "contracts/SessionManager.sol"
CONSORTIUM = "contracts/Consortium.sol"


#: The module of every contract test a mutation selects (a KeyError names a moved test).
_TEST_FILE = {
    "test_deadline_expiry": "test_abort.py",
    "test_participant_abort": "test_abort.py",
    "test_participant_abort_needs_a_claim": "test_abort.py",
    "test_checkpoint_errors": "test_checkpoints.py",
    "test_commit_input_errors": "test_checkpoints.py",
    "test_digest_mismatch_aborts": "test_checkpoints.py",
    "test_mac_check_failure_aborts": "test_checkpoints.py",
    "test_sigma_commitment_for_another_deployment_rejected": "test_checkpoints.py",
    "test_sigma_mismatch_aborts": "test_checkpoints.py",
    "test_allow_modulus": "test_consortium.py",
    "test_one_role_per_address": "test_consortium.py",
    "test_register_org_errors": "test_consortium.py",
    "test_set_session_manager_once_by_admin": "test_consortium.py",
    "test_checkpoint_after_output_reveal_can_fail": "test_outputs.py",
    "test_commit_output_errors": "test_outputs.py",
    "test_output_mismatch_aborts": "test_outputs.py",
    "test_output_mismatch_wrong_sender_binding": "test_outputs.py",
    "test_reveal_output_errors": "test_outputs.py",
    "test_wrong_length_commitment_stalls_only_its_author": "test_outputs.py",
    "test_accept_refuses_other_params_hash": "test_session_setup.py",
    "test_accept_session_errors": "test_session_setup.py",
    "test_commit_preprocessing_errors": "test_session_setup.py",
    "test_open_session_deadline_bounded": "test_session_setup.py",
    "test_open_session_errors": "test_session_setup.py",
    "test_open_session_refuses_non_service": "test_session_setup.py",
    "test_open_session_refuses_unlisted_modulus": "test_session_setup.py",
    "test_preprocessing_needs_every_acceptance": "test_session_setup.py",
}


#: The stateful property test of SessionManager (tests/contracts/test_stateful.py).
STATEFUL = ("tests/contracts/test_stateful.py::TestSessionManager",)


def _t(*names: str) -> tuple[str, ...]:
    """The node ids of the named tests, wherever under tests/contracts/ each one lives."""
    return tuple(f"tests/contracts/{_TEST_FILE[name.split('[')[0]]}::{name}" for name in names)


def _no_participant_check(function_tail: str) -> tuple[str, str]:
    """(old, new) dropping the ``_requireParticipant`` call that ``function_tail`` follows."""
    return f"_requireParticipant(sessionId);\n        {function_tail}", function_tail


CONTRACT_MUTATIONS: list[Mutation] = [
    # -- the MAC check and the commitments
    Mutation(
        "contract: sigmas need not sum to zero",
        SM,
        "if (sum != 0) {",
        "if (false) {",
        _t("test_mac_check_failure_aborts"),
    ),
    Mutation(
        "contract: digest mismatch does not abort",
        SM,
        "if (s.digestMismatch) {",
        "if (false) {",
        _t("test_digest_mismatch_aborts"),
    ),
    Mutation(
        "contract: sigma reveal not compared to its commitment",
        SM,
        "if (expected != _sigmaCommitments[sessionId][cp][msg.sender]) {",
        "if (false) {",
        _t("test_sigma_mismatch_aborts"),
    ),
    Mutation(
        "contract: output reveal not compared to its commitment",
        SM,
        "if (expected != _outputCommitments[sessionId][msg.sender]) {",
        "if (false) {",
        _t("test_output_mismatch_aborts"),
    ),
    Mutation(
        "contract: sigma commitment without the chain id",
        SM,
        "block.chainid,\n                address(this),\n                sessionId,\n"
        "                uint256(cp)",
        "address(this),\n                sessionId,\n                uint256(cp)",
        _t("test_sigma_commitment_for_another_deployment_rejected[chain_id]"),
    ),
    Mutation(
        "contract: sigma commitment without the manager address",
        SM,
        "block.chainid,\n                address(this),\n                sessionId,\n"
        "                uint256(cp)",
        "block.chainid,\n                sessionId,\n                uint256(cp)",
        _t("test_sigma_commitment_for_another_deployment_rejected[manager]"),
    ),
    Mutation(
        "contract: output commitment without the sender",
        SM,
        "abi.encode(shares, salt, msg.sender, block.chainid,",
        "abi.encode(shares, salt, block.chainid,",
        _t("test_output_mismatch_wrong_sender_binding"),
    ),
    # -- state gates
    Mutation(
        "contract: commitInput without the sacrifice checkpoint",
        SM,
        "if (!s.sacrificeChecked) revert SacrificeNotChecked();",
        "",
        _t("test_commit_input_errors"),
    ),
    Mutation(
        "contract: commitOutput without a checkpoint after the inputs",
        SM,
        "if (!s.outputAllowed) revert MacCheckRequired();",
        "",
        _t("test_commit_output_errors"),
    ),
    Mutation(
        "contract: the sacrifice checkpoint also allows outputs",
        SM,
        "s.sacrificeChecked = true;",
        "s.sacrificeChecked = true;\n            s.outputAllowed = true;",
        _t("test_commit_output_errors"),
    ),
    Mutation(
        "contract: commitPreprocessing before all accepted",
        SM,
        "if (s.state != State.Accepted) revert",
        "if (s.state != State.Accepted && s.state != State.Opened) revert",
        _t("test_preprocessing_needs_every_acceptance"),
    ),
    Mutation(
        "contract: sigma reveal before all commits (revealOpen gate)",
        SM,
        "if (!s.revealOpen) revert WrongPhase();",
        "",
        _t("test_checkpoint_errors"),
    ),
    Mutation(
        "contract: output reveal before all output commitments",
        SM,
        "if (s.outputCommits != n) revert WrongPhase();",
        "",
        _t("test_commit_output_errors"),
    ),
    Mutation(
        "contract: finalised without the final checkpoint",
        SM,
        "if (reveals == n) _setState(sessionId, s, State.OutputRevealed);",
        "if (reveals == n) _setState(sessionId, s, State.Finalised);",
        _t("test_checkpoint_after_output_reveal_can_fail"),
    ),
    # -- one submission per participant
    Mutation(
        "contract: acceptSession twice",
        SM,
        "if (_accepted[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);",
        "",
        _t("test_accept_session_errors"),
    ),
    Mutation(
        "contract: revealOutput twice",
        SM,
        "if (_outputRevealed[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);",
        "",
        _t("test_reveal_output_errors"),
    ),
    # -- roles
    Mutation(
        "contract: only the preprocessor commits preprocessing (check removed)",
        SM,
        "if (msg.sender != s.preprocessor) revert NotPreprocessor(msg.sender);",
        "",
        _t("test_commit_preprocessing_errors"),
    ),
    Mutation(
        "contract: acceptSession by a non-participant",
        SM,
        *_no_participant_check("if (s.state != State.Opened)"),
        _t("test_accept_session_errors"),
    ),
    Mutation(
        "contract: commitCheckpoint by a non-participant",
        SM,
        *_no_participant_check(
            "State st = s.state;\n"
            "        if (st == State.Opened || st == State.Accepted) revert WrongState("
            "State.Preprocessed, st);\n        if (\n"
        ),
        _t("test_checkpoint_errors"),
    ),
    Mutation(
        "contract: revealSigma by a non-participant",
        SM,
        *_no_participant_check(
            "State st = s.state;\n"
            "        if (st == State.Opened || st == State.Accepted) revert WrongState("
            "State.Preprocessed, st);\n        if (!s.revealOpen)"
        ),
        _t("test_checkpoint_errors"),
    ),
    Mutation(
        "contract: commitInput by a non-participant",
        SM,
        *_no_participant_check("if (s.state != State.Preprocessed)"),
        _t("test_commit_input_errors"),
    ),
    Mutation(
        "contract: commitOutput by a non-participant",
        SM,
        *_no_participant_check(
            "if (s.state != State.Computing) revert WrongState(State.Computing, s.state);\n"
            "        if (!s.outputAllowed)"
        ),
        _t("test_commit_output_errors"),
    ),
    Mutation(
        "contract: revealOutput by a non-participant",
        SM,
        *_no_participant_check(
            "if (s.state != State.Computing) revert WrongState(State.Computing, s.state);\n"
            "        uint256 n"
        ),
        _t("test_reveal_output_errors"),
    ),
    Mutation(
        "contract: abort by a non-participant",
        SM,
        *_no_participant_check("if (claim == AbortClaim.None)"),
        _t("test_participant_abort[opened-4]"),
    ),
    # -- session parameters
    Mutation(
        "contract: unregistered participant",
        SM,
        "if (!consortium.isOrg(p)) revert UnknownOrg(p);",
        "",
        _t("test_open_session_errors"),
    ),
    Mutation(
        "contract: duplicate participant",
        SM,
        "if (participants[j] == p) revert DuplicateParticipant(p);",
        "",
        _t("test_open_session_errors"),
    ),
    Mutation(
        "contract: modulus allow-list not checked",
        SM,
        "if (!consortium.isAllowedModulus(modulus)) revert ModulusNotAllowed(modulus);",
        "",
        _t("test_open_session_refuses_unlisted_modulus"),
    ),
    Mutation(
        "contract: preprocessor service role not checked",
        SM,
        "if (!consortium.isService(preprocessor)) revert NotAService(preprocessor);",
        "",
        _t("test_open_session_refuses_non_service"),
    ),
    Mutation(
        "contract: ServiceIsParticipant not checked",
        SM,
        "if (participants[i] == preprocessor) revert ServiceIsParticipant(preprocessor);",
        "",
        _t("test_open_session_refuses_non_service"),
    ),
    Mutation(
        "contract: deadline upper bound removed",
        SM,
        "deadline <= block.timestamp || deadline > block.timestamp + MAX_SESSION_DURATION",
        "deadline <= block.timestamp",
        _t("test_open_session_deadline_bounded"),
    ),
    Mutation(
        "contract: params hash not checked in acceptSession",
        SM,
        "if (paramsHash != expected) revert ParamsMismatch(expected, paramsHash);",
        "",
        _t("test_accept_refuses_other_params_hash[chain_id]"),
    ),
    Mutation(
        "contract: output length not checked in revealOutput (grief)",
        SM,
        "if (len != outputLength) revert LengthMismatch(outputLength, len);",
        "",
        _t("test_wrong_length_commitment_stalls_only_its_author[shorter]"),
    ),
    # -- closing and aborts
    Mutation(
        "contract: closed session still live",
        SM,
        "    s = _existing(sessionId);\n"
        "        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);\n",
        "    s = _existing(sessionId);\n",
        _t("test_digest_mismatch_aborts"),
    ),
    Mutation(
        "contract: deadline not enforced",
        SM,
        "if (block.timestamp > s.deadline) revert DeadlinePassed(sessionId, s.deadline);",
        "",
        _t("test_deadline_expiry"),
    ),
    Mutation(
        "contract: abortExpired before the deadline",
        SM,
        "if (block.timestamp <= s.deadline) revert DeadlineNotPassed();",
        "",
        _t("test_deadline_expiry"),
    ),
    Mutation(
        "contract: abort claim None accepted",
        SM,
        'if (claim == AbortClaim.None) revert EmptyField("claim");',
        "",
        _t("test_participant_abort_needs_a_claim"),
    ),
    # -- caught by the stateful property test (its invariants 1, 2 and 3)
    Mutation(
        "contract: checkpoint passes whatever the sigmas sum to (stateful)",
        SM,
        "if (sum != 0) {",
        "if (false) {",
        STATEFUL,
    ),
    Mutation(
        "contract: a result before Finalised (stateful)",
        SM,
        "if (s.state != State.Finalised) return new uint256[](0);",
        "if (s.state == State.Aborted) return new uint256[](0);",
        STATEFUL,
    ),
    Mutation(
        "contract: commitInput by a non-participant (stateful)",
        SM,
        *_no_participant_check("if (s.state != State.Preprocessed)"),
        STATEFUL,
    ),
    # -- Consortium
    Mutation(
        "contract: registerOrg not admin-only",
        CONSORTIUM,
        "        string calldata endpoint\n    ) external onlyAdmin {",
        "        string calldata endpoint\n    ) external {",
        _t("test_register_org_errors"),
    ),
    Mutation(
        "contract: registerService not admin-only",
        CONSORTIUM,
        "string calldata name) external onlyAdmin {",
        "string calldata name) external {",
        _t("test_one_role_per_address"),
    ),
    Mutation(
        "contract: allowModulus not admin-only",
        CONSORTIUM,
        "function allowModulus(uint256 modulus) external onlyAdmin {",
        "function allowModulus(uint256 modulus) external {",
        _t("test_allow_modulus"),
    ),
    Mutation(
        "contract: setSessionManager not admin-only",
        CONSORTIUM,
        "function setSessionManager(address manager) external onlyAdmin {",
        "function setSessionManager(address manager) external {",
        _t("test_set_session_manager_once_by_admin"),
    ),
    Mutation(
        "contract: more than one role per address",
        CONSORTIUM,
        "if (_memberRole(account) != bytes32(0) || _retired[account]) {",
        "if (_retired[account]) {",
        _t("test_one_role_per_address"),
    ),
    Mutation(
        "contract: allowModulus without the minimum size",
        CONSORTIUM,
        "if (modulus % 2 == 0 || modulus < MIN_MODULUS) revert",
        "if (modulus % 2 == 0) revert",
        _t("test_allow_modulus"),
    ),
] + MEMBERSHIP_MUTATIONS
