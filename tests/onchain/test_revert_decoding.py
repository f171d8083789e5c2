"""Reverts surface by name wherever they are read: views of both clients and the CLI's reads,
on the embedded chain (whose backend raises eth-tester's own exception, not web3's)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_utils import keccak

from chainmpc.cli import main
from chainmpc.roles.deployment import Deployment, deploy
from offchain.hazmat.field import KNOWN_PRIMES
from onchain.connection import Chain, connect
from onchain.transactions import Sender, TransactionError, TxLog

# The module, not the `audit` command that chainmpc.cli re-exports under the same name.
audit_cli = importlib.import_module("chainmpc.cli.audit")


@dataclass
class World:
    chain: Chain
    deployment: Deployment


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A consortium on the embedded chain with one opened session."""
    chain = connect(None)
    admin = Sender(chain.w3, chain.funder, TxLog(), "admin")
    d = deploy(admin)
    orgs = [Account.create().address for _ in range(2)]
    for i, org in enumerate(orgs):
        d.consortium.register_org(admin, org, f"org{i}", keccak(text=f"k{i}"), f"h:{9000 + i}")
    service = Account.create().address
    d.consortium.register_service(admin, service, "dealer")
    now = chain.w3.eth.get_block("latest")["timestamp"]
    sid = d.sessions.open_session(
        admin, keccak(text="job"), orgs, min(KNOWN_PRIMES), service, now + 3600, 1
    )
    assert sid == 1
    yield World(chain, d)


def test_session_view_names_the_error(world: World) -> None:
    with pytest.raises(TransactionError, match=r"^getSession reverted: UnknownSession\(2\)$"):
        world.deployment.sessions.session(2)
    with pytest.raises(TransactionError, match=r"^getAbort reverted: UnknownSession\(0\)$"):
        world.deployment.sessions.abort_info(0)


def test_registry_view_names_the_error(world: World) -> None:
    stranger = Account.create().address
    pattern = rf"(?i)^orgInfo reverted: UnknownOrg\({stranger}\)$"  # decoded lower-case
    with pytest.raises(TransactionError, match=pattern):
        world.deployment.consortium.org_info(stranger)


def _audit(
    world: World, session: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> tuple[int, str, str]:
    # `audit` needs --rpc (an embedded chain dies with its process); hand it this one instead.
    monkeypatch.setattr(audit_cli, "connect_or_fail", lambda _rpc: world.chain)
    args = ["audit", "--rpc", "http://unused:1", "--session", str(session)]
    args += ["--consortium", world.deployment.consortium.address]
    with pytest.raises(SystemExit) as info:
        main.main(args, prog_name="chainmpc")
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_audit_of_an_unknown_session_fails_in_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = _audit(world, 2, monkeypatch, capsys)
    assert code == 1
    assert err.strip() == (
        "error: --session 2: no session 2 on this consortium (sessions run from 1 to 1)"
    )
    assert "Traceback" not in out + err


def test_audit_read_that_reverts_names_the_error(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Past the session-count check, a revert of the audit's own reads (here forced by
    skipping that check) is one decoded line, not a raw selector or a traceback."""
    monkeypatch.setattr(audit_cli, "existing_session", lambda _sessions, _session: None)
    code, out, err = _audit(world, 2, monkeypatch, capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "UnknownSession(2)" in lines[0] and lines[0].startswith("error: cannot read session 2")
    assert "0x" not in lines[0]
    assert "Traceback" not in out + err
