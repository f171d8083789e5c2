"""Mutations of the network-namespace harness (``tests/helpers/netns.py``, ``consortium.py``):
its teardown, and that a peer really runs in its namespace (see ``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import Mutation

NETNS = "tests/chainmpc/roles/test_netns.py::"

NETNS_MUTATIONS: list[Mutation] = [
    Mutation(
        "netns: teardown leaves the namespaces",
        "tests/helpers/netns.py",
        '            ip("netns", "del", ns, check=False)\n',
        "            pass\n",
        (NETNS + "test_teardown_removes_only_its_own_after_a_failure",),
    ),
    Mutation(
        "netns: peers started outside their namespaces",
        "tests/helpers/consortium.py",
        '            [*prefix, sys.executable, "-m", "chainmpc", *args],',
        '            [sys.executable, "-m", "chainmpc", *args],',
        (NETNS + "test_honest_session_across_namespaces",),
    ),
]
