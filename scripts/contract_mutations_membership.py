"""The mutations of the registry's membership checks over time (offboarding, rotation, member
roles only through the registry) and of the session manager's per-step membership check; each
is caught by tests/contracts/test_membership.py."""

from __future__ import annotations

from mutation_base import Mutation

SM = "contracts/SessionManager.sol"
CONSORTIUM = "contracts/Consortium.sol"
MEMBERSHIP = "tests/contracts/test_membership.py::"

MEMBERSHIP_MUTATIONS: list[Mutation] = [
    Mutation(
        "contract: an offboarded account registered again",
        CONSORTIUM,
        "if (_memberRole(account) != bytes32(0) || _retired[account]) {",
        "if (_memberRole(account) != bytes32(0)) {",
        (MEMBERSHIP + "test_offboarding_an_org_revokes_and_retires_it",),
    ),
    Mutation(
        "contract: offboard does not revoke the role",
        CONSORTIUM,
        "        _revokeRole(role, account);\n        emit MemberOffboarded",
        "        emit MemberOffboarded",
        (MEMBERSHIP + "test_offboarding_an_org_revokes_and_retires_it",),
    ),
    Mutation(
        "contract: offboard not admin-only",
        CONSORTIUM,
        "function offboard(address account) external onlyAdmin {",
        "function offboard(address account) external {",
        (MEMBERSHIP + "test_offboard_errors",),
    ),
    Mutation(
        "contract: an offboarded org still acts in its session",
        SM,
        "if (!consortium.isOrg(msg.sender)) revert UnknownOrg(msg.sender);",
        "",
        (MEMBERSHIP + "test_an_org_offboarded_mid_session_cannot_act_and_the_others_abort",),
    ),
    Mutation(
        "contract: an offboarded service still commits preprocessing",
        SM,
        "if (!consortium.isService(msg.sender)) revert NotAService(msg.sender);",
        "",
        (MEMBERSHIP + "test_an_offboarded_service_cannot_commit_preprocessing",),
    ),
    Mutation(
        "contract: anyone rotates an org's key",
        CONSORTIUM,
        "if (!hasRole(ORG_ROLE, msg.sender)) revert UnknownOrg(msg.sender);\n"
        "        if (encryptionKey == bytes32(0))",
        "if (encryptionKey == bytes32(0))",
        (MEMBERSHIP + "test_rotation_errors",),
    ),
    Mutation(
        "contract: anyone moves an org's endpoint",
        CONSORTIUM,
        "if (!hasRole(ORG_ROLE, msg.sender)) revert UnknownOrg(msg.sender);\n"
        "        if (bytes(endpoint).length == 0)",
        "if (bytes(endpoint).length == 0)",
        (MEMBERSHIP + "test_rotation_errors",),
    ),
    Mutation(
        "contract: member roles granted through AccessControl directly",
        CONSORTIUM,
        "if (_isMemberRole(role)) revert MembershipRole(role);\n        super.grantRole",
        "super.grantRole",
        (MEMBERSHIP + "test_member_roles_change_only_through_the_registry",),
    ),
    Mutation(
        "contract: member roles revoked through AccessControl directly",
        CONSORTIUM,
        "if (_isMemberRole(role)) revert MembershipRole(role);\n        super.revokeRole",
        "super.revokeRole",
        (MEMBERSHIP + "test_member_roles_change_only_through_the_registry",),
    ),
    Mutation(
        "contract: member roles renounced through AccessControl directly",
        CONSORTIUM,
        "if (_isMemberRole(role)) revert MembershipRole(role);\n        super.renounceRole",
        "super.renounceRole",
        (MEMBERSHIP + "test_member_roles_change_only_through_the_registry",),
    ),
]
