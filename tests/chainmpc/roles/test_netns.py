"""An honest session with each org's ``chainmpc peer`` in its own network namespace (veth pairs
to a bridge in the root namespace, where ganache and the service listen), so the orgs' traffic
crosses real interfaces rather than one loopback device.

Skipped, with the reason, when not root, without ``ip``, or when the kernel refuses to create a
namespace. The namespaces are made and removed by ``tests/helpers/netns.py`` (shared with
``scripts/bench_network.py``); these tests also check that nothing of them is left behind.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.helpers.consortium import JOB, Placement, build_consortium, sum_product_answer
from tests.helpers.netns import NetnsError, Topology, network, unavailable
from tests.helpers.node import ganache

pytestmark = pytest.mark.ganache

ORGS = 3


def leftovers(topo: Topology) -> list[str]:
    """Namespaces and links carrying this topology's tag that still exist."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return re.findall(rf"\b(?:cmpc|cmv|cmb){topo.tag}[-0-9]*", names + links)


@pytest.fixture
def topo() -> Iterator[Topology]:
    """Three namespaces on one bridge, or a skip saying why there cannot be."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with ExitStack() as stack:
        try:
            t = stack.enter_context(network(ORGS))
        except NetnsError as exc:
            pytest.skip(f"cannot create network namespaces here: {exc}")
        yield t
    assert leftovers(t) == [], "the namespaces or veths outlived the test"


def test_honest_session_across_namespaces(topo: Topology, tmp_path: Path) -> None:
    """All three peers, each in its namespace, finalise with the plaintext answer; their
    traffic went through their own interfaces, and not over the root namespace's loopback."""
    where = Placement("netns", topo.host_ip, tuple(topo.org_ip(i) for i in range(ORGS)),
                      tuple(tuple(topo.prefix(i)) for i in range(ORGS)))  # fmt: skip
    before = [topo.counters(i) for i in range(ORGS)]
    with ganache(topo.host_ip) as rpc:
        run = build_consortium(tmp_path, rpc, JOB, where).run_session(timeout=60)
    assert run.codes == {o: 0 for o in run.codes}, run.logs
    for org, doc in run.results.items():
        assert doc["session"] == run.session and doc["result"] == sum_product_answer(), org
    for i, (org, stats) in enumerate(run.stats.items()):
        assert stats["bytes_sent"] > 0 and stats["bytes_received"] > 0, org
        assert stats["rounds"] > 0, org
        rx, tx = (after - was for after, was in zip(topo.counters(i), before[i], strict=True))
        # The kernel saw at least the peer's MPC traffic leave and arrive on its veth (plus
        # the chain's and the service's, which also cross it).
        assert tx >= stats["bytes_sent"] and rx >= stats["bytes_received"], (org, rx, tx)


def test_a_namespace_cannot_reach_the_root_loopback(topo: Topology) -> None:
    """A peer in a namespace really is elsewhere: a listener on the root's 127.0.0.1 is out of
    its reach, one on the bridge address is not."""
    probe = (
        "import socket, sys\n"
        "try:\n"
        "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
        "    print('reached')\n"
        "except OSError:\n"
        "    print('unreachable')\n"
    )
    for host, want in (("127.0.0.1", "unreachable"), (topo.host_ip, "reached")):
        with socket.create_server((host, 0)) as server:
            port = server.getsockname()[1]
            said = subprocess.run([*topo.prefix(1), sys.executable, "-c", probe, host, str(port)],
                                  capture_output=True, text=True, timeout=30)  # fmt: skip
            assert said.stdout.strip() == want, (host, said.stderr)


def test_teardown_removes_only_its_own_after_a_failure() -> None:
    """A body that fails still leaves none of its namespaces or veths, and another topology
    made alongside it is left alone."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    made: list[Topology] = []
    try:
        with network(1) as other:
            made.append(other)
            with pytest.raises(RuntimeError, match="the body failed"), network(2) as t:
                made.append(t)
                assert len(leftovers(t)) >= 2 + 2 + 1  # namespaces, veth ends, bridge
                raise RuntimeError("the body failed")
            assert leftovers(t) == []
            assert other.namespace(0) in leftovers(other)
            assert Path("/sys/class/net", other.bridge).exists()
        assert leftovers(other) == []
    except NetnsError as exc:
        pytest.skip(f"cannot create network namespaces here: {exc}")
    finally:
        # Should the teardown under test be broken, leave the machine clean all the same.
        for topo in made:
            for name in leftovers(topo):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
                subprocess.run(["ip", "link", "del", name], capture_output=True)
