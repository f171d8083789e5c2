"""What the CLI tells a user about an abort: proof against an org only where the chain holds
it, a participant's abort only as that org's claim."""

from __future__ import annotations

from chainmpc.explain import explain_abort
from onchain.clients import AbortClaim, AbortInfo, AbortReason

ORG1, ORG2 = "0x" + "11" * 20, "0x" + "22" * 20
NOBODY = "0x" + "00" * 20
NAMES = {ORG1: "org1", ORG2: "org2"}


def test_a_participant_abort_is_shown_as_that_orgs_claim() -> None:
    info = AbortInfo(AbortReason.PARTICIPANT_ABORT, ORG1, NOBODY, 0, AbortClaim.BIT_CHECK_FAILED)
    message = explain_abort(info, NAMES)
    assert message.startswith("org1 aborted the session, claiming: a dealt mask bit")
    assert "a claim by org1, not proof" in message
    assert "service dealt" not in message  # never turned into a finding against the service


def test_a_sigma_mismatch_is_proof_against_the_culprit() -> None:
    info = AbortInfo(AbortReason.SIGMA_MISMATCH, ORG1, ORG2, 1, AbortClaim.NONE)
    assert "org2 revealed a MAC-check share" in explain_abort(info, NAMES)
    assert "proof against org2" in explain_abort(info, NAMES)


def test_a_failed_mac_check_names_nobody() -> None:
    info = AbortInfo(AbortReason.MAC_CHECK_FAILED, ORG2, NOBODY, 1, AbortClaim.NONE)
    message = explain_abort(info, NAMES)
    assert "not attributable to a single org" in message and "org2" not in message
