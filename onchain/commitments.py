"""The commitment formats the contracts check, computed off the chain with the same encoding.

``keccak256(abi.encode(...))`` binds each value to its salt, its org, its session and (for MAC
check shares) its checkpoint, so a commitment cannot be replayed in another context.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from eth_abi import encode
from eth_utils import keccak


def new_salt() -> bytes:
    """A fresh 32-byte salt from the OS CSPRNG."""
    return secrets.token_bytes(32)


def sigma_commitment(sigma: int, salt: bytes, org: str, session: int, checkpoint: int) -> bytes:
    """Commitment to an org's MAC-check share, as ``SessionManager.revealSigma`` recomputes it."""
    return keccak(
        encode(
            ["uint256", "bytes32", "address", "uint256", "uint256"],
            [sigma, salt, org, session, checkpoint],
        )
    )


def output_commitment(shares: list[int], salt: bytes, org: str, session: int) -> bytes:
    """Commitment to an org's output value shares, as ``revealOutput`` recomputes it."""
    return keccak(
        encode(["uint256[]", "bytes32", "address", "uint256"], [shares, salt, org, session])
    )


def input_commitment(values: list[int], salt: bytes, org: str, session: int) -> bytes:
    """An org's salted commitment to its private input (never opened on-chain; the org can
    later prove what it put in by revealing values and salt to whom it chooses)."""
    return keccak(
        encode(
            ["string", "uint256[]", "bytes32", "address", "uint256"],
            ["chainmpc/input", values, salt, org, session],
        )
    )


def job_hash(job: dict[str, Any]) -> bytes:
    """Hash of a job description (what is computed, on which schema), canonical JSON."""
    return keccak(json.dumps(job, sort_keys=True, separators=(",", ":")).encode())
