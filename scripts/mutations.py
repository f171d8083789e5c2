"""The mutations of the security checks that ``scripts/mutation_check.py`` applies.

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


CONTRACT_TESTS = ("tests/test_contracts.py",)

MUTATIONS: list[Mutation] = [
    # -- transport ------------------------------------------------------------------------
    Mutation(
        "transport: counters not checked",
        "offchain/transport.py",
        "if counter != chan.expected:",
        "if False:",
        ("tests/test_transport.py",),
    ),
    Mutation(
        "transport: nonce prefix not checked",
        "offchain/transport.py",
        "if _nonce_prefix(sender, receiver, kind, salt) != chan.prefix:",
        "if False:",
        ("tests/test_transport.py",),
    ),
    # -- cache ----------------------------------------------------------------------------
    Mutation(
        "cache: batch hash not checked",
        "offchain/cache.py",
        "if batch_hash(sealed) != expected_hash:",
        "if False:",
        ("tests/test_preprocessing.py",),
    ),
    Mutation(
        "cache: batch not consumed (reusable)",
        "offchain/cache.py",
        "os.rename(source, taken)",
        "os.link(source, taken)",
        ("tests/test_preprocessing.py",),
    ),
]
