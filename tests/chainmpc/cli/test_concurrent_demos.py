"""Three demos started together against one node, all funded by the same account: each must
finish (today two of three died with ``nonce too low``: the funder's nonce was read unlocked)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ganache


def test_three_demos_started_together_on_one_node_all_succeed(ganache_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chainmpc", "demo", "--orgs", "2", "--rpc", ganache_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, out[-2000:] + err[-2000:]
        assert "matches the plaintext computation" in out
        assert "Traceback" not in err
