"""The mutations of the security checks that ``scripts/mutation_check.py`` applies (those of
the contracts are in ``scripts/contract_mutations.py``).

Each is an exact text substitution that removes or weakens one check, with the tests that must
fail once it is gone. Keep ``old`` short but unique (``count`` says how often it must occur);
when a check moves, the script reports the mutation as NOT APPLIED until it is updated here.

The entries live in themed lists: ``mutations_offchain.py`` (transport, cache, MAC check,
preprocessing, inputs, field), ``mutations_peer.py``, ``mutations_audit.py`` and
``mutations_keys.py`` (key files), ``mutations_node.py`` (node failures, nonces),
``mutations_id3.py`` (the id3 kind's input checks), ``mutations_bench.py`` (what ``bench
mining`` refuses to score); what a mutation is, in ``mutation_base.py``.
"""

from __future__ import annotations

from mutation_base import Mutation, off
from mutations_audit import AUDIT_MUTATIONS
from mutations_bench import BENCH_MUTATIONS
from mutations_id3 import ID3_MUTATIONS
from mutations_keys import KEYS_MUTATIONS
from mutations_netns import NETNS_MUTATIONS
from mutations_node import NODE_MUTATIONS
from mutations_offchain import OFFCHAIN
from mutations_peer import PEER_MUTATIONS

__all__ = ["MUTATIONS", "Mutation", "off"]

MUTATIONS: list[Mutation] = (
    OFFCHAIN
    + PEER_MUTATIONS
    + AUDIT_MUTATIONS
    + KEYS_MUTATIONS
    + NODE_MUTATIONS
    + NETNS_MUTATIONS
    + ID3_MUTATIONS
    + BENCH_MUTATIONS
)
