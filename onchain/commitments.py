"""The commitment formats the contracts check, computed off the chain with the same encoding.

``keccak256(abi.encode(...))`` binds each value to its salt, its org, the chain id, the session
manager's address, its session and (for MAC check shares) its checkpoint, so a commitment cannot
be replayed on another chain, another deployment, another session or another checkpoint.
``session_params_hash`` is the hash every participant accepts on-chain before preprocessing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from eth_abi import encode
from eth_utils import keccak


def new_salt() -> bytes:
    """A fresh 32-byte salt from the OS CSPRNG."""
    return secrets.token_bytes(32)


def sigma_commitment(
    sigma: int,
    salt: bytes,
    org: str,
    chain_id: int,
    manager: str,
    session: int,
    checkpoint: int,
) -> bytes:
    """Commitment to an org's MAC-check share, as ``SessionManager.revealSigma`` recomputes it:
    ``keccak256(abi.encode(sigma, salt, org, chainid, manager, session, uint256(checkpoint)))``.
    """
    return keccak(
        encode(
            ["uint256", "bytes32", "address", "uint256", "address", "uint256", "uint256"],
            [sigma, salt, org, chain_id, manager, session, checkpoint],
        )
    )


def output_commitment(
    shares: Sequence[int], salt: bytes, org: str, chain_id: int, manager: str, session: int
) -> bytes:
    """Commitment to an org's output value shares, as ``revealOutput`` recomputes it:
    ``keccak256(abi.encode(shares, salt, org, chainid, manager, session))``."""
    return keccak(
        encode(
            ["uint256[]", "bytes32", "address", "uint256", "address", "uint256"],
            [list(shares), salt, org, chain_id, manager, session],
        )
    )


def input_commitment(
    values: Sequence[int], salt: bytes, org: str, chain_id: int, manager: str, session: int
) -> bytes:
    """An org's salted commitment to its private input (never opened on-chain; the org can
    later prove what it put in by revealing values and salt to whom it chooses). Tagged
    ``"chainmpc/input"`` and bound to the chain id, the manager and the session."""
    return keccak(
        encode(
            ["string", "uint256[]", "bytes32", "address", "uint256", "address", "uint256"],
            ["chainmpc/input", list(values), salt, org, chain_id, manager, session],
        )
    )


def session_params_hash(
    chain_id: int,
    manager: str,
    session: int,
    job_hash: bytes,
    participants: Sequence[str],
    modulus: int,
    preprocessor: str,
    deadline: int,
    output_length: int,
) -> bytes:
    """The parameters hash ``SessionManager.openSession`` stores and ``acceptSession`` checks:
    ``keccak256(abi.encode(chainid, manager, session, jobHash, participants, modulus,
    preprocessor, uint64(deadline), uint32(outputLength)))``. An org computes it from the
    parameters it checked itself, never copies it from the chain."""
    return keccak(
        encode(
            [
                "uint256",
                "address",
                "uint256",
                "bytes32",
                "address[]",
                "uint256",
                "address",
                "uint64",
                "uint32",
            ],
            [
                chain_id,
                manager,
                session,
                job_hash,
                list(participants),
                modulus,
                preprocessor,
                deadline,
                output_length,
            ],
        )
    )


def job_hash(job: dict[str, Any]) -> bytes:
    """Hash of a job description (what is computed, on which schema), canonical JSON."""
    return keccak(json.dumps(job, sort_keys=True, separators=(",", ":")).encode())
