"""Saying why a session aborted, and what the chain proves about whom.

Only two abort reasons are proof against one org (docs/protocols.md, "Checkpoints and blame"): a
MAC-check share or output reveal that does not match that org's own commitment. A digest split
or a failed MAC check proves that someone cheated, not who. A participant's abort is that
org's claim: it is shown as a claim by the named org, never as a finding.
"""

from __future__ import annotations

from onchain.clients import AbortClaim, AbortInfo, AbortReason

CLAIMS = {
    AbortClaim.PROTOCOL_ERROR: "its protocol run failed",
    AbortClaim.TRANSPORT_ERROR: "a peer channel failed (an org disconnected or sent garbage)",
    AbortClaim.TIMEOUT: "another org did not answer in time",
    AbortClaim.PARAMETERS_REJECTED: "it refuses the session's parameters",
    AbortClaim.MATERIAL_REJECTED: "its preprocessing batch is missing, altered or malformed",
    AbortClaim.SACRIFICE_FAILED: "the sacrifice check of the dealt triples failed",
    AbortClaim.BIT_CHECK_FAILED: "a dealt mask bit is not 0 or 1",
    AbortClaim.MASK_CHECK_FAILED: "its clear input masks do not match their shares",
}


def explain_abort(abort: AbortInfo, names: dict[str, str]) -> str:
    """One sentence on why the session aborted; ``names`` maps addresses to org names."""
    culprit = names.get(abort.culprit, abort.culprit)
    by = names.get(abort.by, abort.by)
    where = f"checkpoint {abort.checkpoint}"
    if abort.reason == AbortReason.PARTICIPANT_ABORT:
        claim = CLAIMS.get(abort.claim, abort.claim.name)
        return f"{by} aborted the session, claiming: {claim} (a claim by {by}, not proof)"
    return {
        AbortReason.DIGEST_MISMATCH: f"{where}: the orgs' transcript digests disagree "
        "(an org showed different values to different orgs; not attributable to one org)",
        AbortReason.SIGMA_MISMATCH: f"{where}: {culprit} revealed a MAC-check share that "
        f"does not match its commitment (proof against {culprit})",
        AbortReason.MAC_CHECK_FAILED: f"{where}: MAC check failed: an opened value or a MAC "
        "share was tampered with (not attributable to a single org)",
        AbortReason.OUTPUT_MISMATCH: f"{culprit} revealed output shares that do not match "
        f"its commitment (proof against {culprit})",
        AbortReason.EXPIRED: "the session's deadline passed",
    }.get(abort.reason, f"aborted ({abort.reason.name})")
