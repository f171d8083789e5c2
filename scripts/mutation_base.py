"""What a mutation is (:class:`Mutation`), and the helpers and test paths the mutation lists
share (``scripts/mutations.py`` gathers the lists; ``scripts/contract_mutations.py`` has the
contracts').
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


ENGINE = "tests/offchain/engine/test_engine.py::"
SOUND = "tests/chainmpc/test_soundness.py::"
CACHE = "tests/offchain/preprocessing/test_cache.py::"
SEALED = "tests/offchain/preprocessing/test_sealed.py::"
DELIVERY = "tests/chainmpc/roles/test_delivery.py::"
PEER = ("tests/chainmpc/roles/test_peer.py",)
PROCESSES = "tests/chainmpc/roles/test_processes.py::"
AUDIT = ("tests/onchain/test_audit.py",)
DEMO = "tests/chainmpc/cli/test_demo.py::test_every_cheat_aborts_on_chain_with_no_result"


def off(name: str, path: str, condition: str, tests: tuple[str, ...], count: int = 1) -> Mutation:
    """The check ``if condition:`` never fires."""
    return Mutation(name, path, f"if {condition}:", "if False:", tests, count)
