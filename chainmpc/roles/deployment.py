"""Deploying a consortium: the registry, the session manager, the allowed moduli.

The admin deploys both contracts, links them, and allow-lists the primes the peers know
(``offchain.hazmat.field.KNOWN_PRIMES``): the contract refuses a session over any other modulus, and
every peer and the auditor check the modulus against their own table as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.hazmat.field import KNOWN_PRIMES
from onchain.clients import ConsortiumClient, SessionClient, deploy_contract
from onchain.transactions import Sender


@dataclass
class Deployment:
    """Addresses and clients of a deployed consortium."""

    consortium: ConsortiumClient
    sessions: SessionClient


def deploy(admin: Sender) -> Deployment:
    """Deploy the registry and the session manager, link them, allow the known primes."""
    w3 = admin.w3
    consortium = ConsortiumClient(w3, deploy_contract(admin, "Consortium"))
    sessions = SessionClient(w3, deploy_contract(admin, "SessionManager", consortium.address))
    consortium.set_session_manager(admin, sessions.address)
    for p in sorted(KNOWN_PRIMES):
        consortium.allow_modulus(admin, p)
    return Deployment(consortium, sessions)
