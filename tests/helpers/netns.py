"""Network namespaces for the peers: one namespace per org, joined by veth pairs to a bridge in
the root namespace, so that the orgs' traffic really crosses network interfaces.

Used by ``tests/chainmpc/roles/test_netns.py`` and ``scripts/bench_network.py``; the one place
that creates and removes namespaces. :func:`network` removes exactly what it made (by the
random tag in every name), even when the body or the setup itself fails.

    root namespace: bridge cmb<tag>  10.231.X.1/24  (ganache and the service listen here)
    namespace cmpc<tag>-<i>: veth cmp<tag><i>  10.231.X.<i+2>/24  (org i's peer)
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from chainmpc.exceptions import ChainmpcError

#: The /16 the bench and the tests take their /24 from (a private range nothing else here uses).
NET = "10.231"


class NetnsError(ChainmpcError):
    """An ``ip``/``tc`` command failed; the message names the command and what it printed."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; a :class:`NetnsError` naming the command when ``check`` and it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


def unavailable() -> str | None:
    """Why namespaces cannot be used here (not root, no ``ip``), or ``None`` if they can.

    Whether creating one works is only known by trying: :func:`network` raises
    :class:`NetnsError` then."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


@dataclass
class Topology:
    """The namespaces, veths and bridge one :func:`network` call made."""

    tag: str
    subnet: str  # the first three octets, e.g. "10.231.7"
    size: int
    made_namespaces: list[str] = field(default_factory=list)
    made_links: list[str] = field(default_factory=list)  # root-namespace ends, bridge last

    @property
    def bridge(self) -> str:
        """The bridge in the root namespace."""
        return f"cmb{self.tag}"

    @property
    def host_ip(self) -> str:
        """The bridge's address: where ganache and the service are reached from every org."""
        return f"{self.subnet}.1"

    def org_ip(self, i: int) -> str:
        """Org ``i``'s address (its endpoint host) inside its namespace."""
        return f"{self.subnet}.{i + 2}"

    def namespace(self, i: int) -> str:
        """Org ``i``'s namespace name."""
        return f"cmpc{self.tag}-{i}"

    def interface(self, i: int) -> str:
        """Org ``i``'s veth end inside its namespace."""
        return f"cmp{self.tag}{i}"

    def prefix(self, i: int) -> list[str]:
        """What to put before a command so that it runs in org ``i``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(i)]

    def counters(self, i: int) -> tuple[int, int]:
        """(bytes received, bytes sent) by org ``i``'s interface, as the kernel counts them."""
        base = Path("/sys/class/net") / self.interface(i) / "statistics"
        done = ip("netns", "exec", self.namespace(i), "cat",
                  str(base / "rx_bytes"), str(base / "tx_bytes"))  # fmt: skip
        rx, tx = done.stdout.split()
        return int(rx), int(tx)

    def netem_available(self) -> bool:
        """Whether this kernel has the netem qdisc: tried on org 0's interface, then removed."""
        if shutil.which("tc") is None:
            return False
        ns, dev = self.namespace(0), self.interface(0)
        added = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev,
                                "root", "netem", "delay", "1ms"],
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        if added.returncode != 0:
            return False
        self.delay(0)
        return True

    def delay(self, rtt_ms: float) -> None:
        """Add ``rtt_ms`` of round-trip time between any two orgs (half on each org's egress,
        so org to org is ``rtt_ms``, org to ganache half of it); 0 removes the delay."""
        for i in range(self.size):
            ns, dev = self.namespace(i), self.interface(i)
            subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"],
                           capture_output=True, timeout=30)  # fmt: skip  # none there is fine
            if rtt_ms > 0:
                done = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev",
                                       dev, "root", "netem", "delay", f"{rtt_ms / 2}ms"],
                                      capture_output=True, text=True, timeout=30)  # fmt: skip
                if done.returncode != 0:
                    raise NetnsError(f"tc netem on {ns}/{dev}: {done.stderr.strip()}")

    def _create(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        self.made_links.append(self.bridge)
        ip("addr", "add", f"{self.host_ip}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(self.size):
            ns, inner, outer = self.namespace(i), self.interface(i), f"cmv{self.tag}{i}"
            ip("netns", "add", ns)
            self.made_namespaces.append(ns)
            ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            self.made_links.insert(0, outer)  # before the bridge it is enslaved to
            ip("link", "set", outer, "master", self.bridge, "up")
            ip("link", "set", inner, "netns", ns)
            ip("-n", ns, "addr", "add", f"{self.org_ip(i)}/24", "dev", inner)
            ip("-n", ns, "link", "set", inner, "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def remove(self) -> None:
        """Delete what this topology made, and only that; what is already gone is skipped.

        Deleting a namespace deletes the veth end in it and so its pair; the links are then
        deleted explicitly for a setup that failed half way."""
        for ns in reversed(self.made_namespaces):
            ip("netns", "del", ns, check=False)
        for link in self.made_links:
            if Path("/sys/class/net", link).exists():
                ip("link", "del", link, check=False)
        self.made_namespaces.clear()
        self.made_links.clear()


def _free_subnet() -> str:
    """A ``10.231.X`` no interface of the root namespace uses (another run may hold one)."""
    used = set(re.findall(rf"inet {re.escape(NET)}\.(\d+)\.", ip("-o", "-4", "addr").stdout))
    free = [x for x in range(256) if str(x) not in used]
    if not free:
        raise NetnsError(f"no free /24 left in {NET}.0.0/16")
    return f"{NET}.{secrets.choice(free)}"


@contextmanager
def network(size: int) -> Iterator[Topology]:
    """``size`` namespaces on one bridge, removed on the way out whatever happens.

    Raises :class:`NetnsError` (after removing what it made) if the kernel refuses a step."""
    reason = unavailable()
    if reason is not None:
        raise NetnsError(reason)
    topo = Topology(secrets.token_hex(2), _free_subnet(), size)
    try:
        topo._create()
        yield topo
    finally:
        topo.remove()
