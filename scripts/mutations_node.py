"""Mutations of the node-failure handling and nonce allocation (see ``scripts/mutations.py``):
transport failures named as such, bounded retries, the nonce lock, no transaction sent twice."""

from __future__ import annotations

from mutation_base import Mutation, off

FAULTS = "tests/onchain/test_node_faults.py::"
TX = "onchain/transactions.py"
NODE = "onchain/node.py"

NODE_MUTATIONS: list[Mutation] = [
    Mutation(
        "node: transport failures called reverts",
        TX,
        "except _REVERTS as exc:  # gas estimation is where reverts surface",
        "except Exception as exc:  # gas estimation is where reverts surface",
        (FAULTS + "test_a_dead_node_is_a_chain_error_naming_it_and_the_method_never_a_revert",),
    ),
    Mutation(
        "node: transport failures not retried",
        NODE,
        "attempts = config.retries if retried else 1",
        "attempts = 1",
        (FAULTS + "test_a_node_restarted_between_two_transactions_the_second_waits_and_succeeds",),
    ),
    Mutation(
        "node: a call to a stalled node not bounded in time",
        NODE,
        "if attempt == attempts or time.monotonic() + wait >= deadline:",
        "if attempt == attempts:",
        (FAULTS + "test_a_stalled_node_fails_within_the_stated_bound_saying_what_it_waits_for",),
    ),
    Mutation(
        "node: retries silent",
        NODE,
        "        if self.progress is not None:\n",
        "        if False:\n",
        (FAULTS + "test_a_stalled_node_fails_within_the_stated_bound_saying_what_it_waits_for",),
    ),
    Mutation(
        "nonce: lock removed",
        TX,
        'with nonce_lock(tx["chainId"], self.address):',
        "with threading.Lock():",
        (FAULTS + "test_nonces_are_allocated_under_a_lock_other_processes_respect",),
    ),
    off(
        "nonce: lost answer re-sent without asking the node for the hash",
        TX,
        "self._known(tx_hash)",
        (FAULTS + "test_a_transaction_whose_answer_is_lost_is_not_sent_twice",),
    ),
    off(
        "nonce: a used nonce re-signed without checking it is our own transaction",
        TX,
        "self._known(signed.hash)",
        (FAULTS + "test_a_node_that_calls_our_own_nonce_used_is_not_sent_a_second_transaction",),
    ),
    Mutation(
        "nonce: a nonce taken by another transaction is an error, not the next nonce",
        TX,
        "if not _NONCE_USED.search(message):",
        "if True:",
        (FAULTS + "test_a_nonce_taken_by_another_transaction_is_re_signed_with_the_next",),
    ),
    Mutation(
        "sweep: fee not exact (tip below the cap), ether left behind",
        TX,
        'fees["maxPriorityFeePerGas"] = price',
        "pass",
        ("tests/onchain/test_sweep.py::test_sweep_empties_the_account_into_the_funder",),
    ),
]
