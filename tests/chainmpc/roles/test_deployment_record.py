"""``deployment.json``: the deployment block is recorded, and a file from before it was still
reads (from block 0, flagged so the audit can say so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainmpc.exceptions import InputError
from chainmpc.roles.deployment import DeploymentRecord

RECORD = DeploymentRecord(1337, "0x" + "11" * 20, "0x" + "22" * 20, 42, "127.0.0.1:9000", None)


def test_the_block_is_written_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    RECORD.write(path)
    assert json.loads(path.read_text())["block"] == 42
    assert "block_recorded" not in json.loads(path.read_text())
    loaded = DeploymentRecord.load(path)
    assert loaded.block == 42 and loaded.block_recorded


def test_a_file_without_a_block_reads_as_block_0(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    RECORD.write(path)
    doc = json.loads(path.read_text())
    del doc["block"]
    path.write_text(json.dumps(doc))
    loaded = DeploymentRecord.load(path)
    assert loaded.block == 0 and not loaded.block_recorded


@pytest.mark.parametrize("block", [-1, "42", True, 1.5])
def test_a_bad_block_is_named(tmp_path: Path, block: object) -> None:
    path = tmp_path / "deployment.json"
    RECORD.write(path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "block": block}))
    with pytest.raises(InputError, match="deployment.json: block: not a block number"):
        DeploymentRecord.load(path)
