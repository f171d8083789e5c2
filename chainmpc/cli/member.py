"""``chainmpc member``: membership over time. The admin offboards a member and hands the admin
role over in two steps; an org rotates its encryption key and moves its endpoint.

Every command sends one transaction from ``--key``'s account to the deployment's registry;
the contract (contracts/Consortium.sol) is what enforces who may do what.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from chainmpc.cli.common import (
    SESSION_FAILURES,
    address_syntax,
    console,
    deployment_chain,
    deployment_option,
    deployment_rpc_option,
    fail,
    load_deployment,
)
from chainmpc.cli.keys import key_options, open_keys, read_passphrase
from chainmpc.exceptions import InputError
from chainmpc.keys import KeyPair, rotated_keys
from chainmpc.roles.deployment import checked_endpoint
from onchain.clients import ConsortiumClient
from onchain.transactions import Sender, TxLog

ZERO_ADDRESS = "0x" + "00" * 20


def _registry(
    deployment_file: Path, rpc: str | None, keys: KeyPair
) -> tuple[ConsortiumClient, Sender]:
    """The deployment's registry and a sender paying from ``keys``' account."""
    record = load_deployment(deployment_file)
    chain = deployment_chain(record, rpc, keys)
    return ConsortiumClient(chain.w3, record.consortium), Sender(
        chain.w3, keys.account, TxLog(), "member"
    )


@click.group("member")
def member_group() -> None:
    """Offboard a member, rotate an org's key or endpoint, hand the admin role over."""


@member_group.command("offboard")
@deployment_option
@key_options(who="The admin's")
@click.option("--account", required=True, metavar="ADDRESS", help="The member to offboard.")
@deployment_rpc_option
def offboard_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, account: str,
    rpc: str | None,
) -> None:  # fmt: skip
    """Revoke a member's role (org, auditor or service) and retire its account for good. An
    org offboarded mid-session can no longer act in it: the others abort that session."""
    account = address_syntax(account, "--account")
    registry, admin = _registry(deployment_file, rpc, open_keys(key_file, passphrase_file))
    try:
        registry.offboard(admin, account)
    except SESSION_FAILURES as exc:
        fail(str(exc))
    console.print(f"offboarded {account}")


@member_group.command("rotate-key")
@deployment_option
@key_options(who="The org's")
@deployment_rpc_option
def rotate_key_cmd(deployment_file: Path, key_file: Path, passphrase_file: Path | None,
                   rpc: str | None) -> None:  # fmt: skip
    """Give the org a fresh encryption key: written to the key file (same account, same
    passphrase) once its public half is registered. Material already dealt to the old key
    cannot be opened after this: rotate between sessions."""
    passphrase = read_passphrase(passphrase_file, confirm=False)
    try:
        keys, pending = rotated_keys(key_file, passphrase)
    except InputError as exc:
        fail(f"--key {exc}")
    try:
        registry, org = _registry(deployment_file, rpc, keys)
        registry.rotate_encryption_key(org, keys.encryption_key)
    except SESSION_FAILURES as exc:
        pending.unlink(missing_ok=True)
        fail(str(exc))
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, key_file)
    console.print(f"{keys.address}: encryption key {keys.encryption_key.hex()} registered")


@member_group.command("set-endpoint")
@deployment_option
@key_options(who="The org's")
@click.option("--endpoint", required=True, metavar="HOST:PORT", help="The new peer endpoint.")
@deployment_rpc_option
def set_endpoint_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, endpoint: str,
    rpc: str | None,
) -> None:  # fmt: skip
    """Move the org's peer endpoint; the other peers read it when a session starts."""
    try:
        checked_endpoint(endpoint, "--endpoint")
    except InputError as exc:
        fail(str(exc))
    registry, org = _registry(deployment_file, rpc, open_keys(key_file, passphrase_file))
    try:
        registry.set_endpoint(org, endpoint)
    except SESSION_FAILURES as exc:
        fail(str(exc))
    console.print(f"{org.address}: endpoint {endpoint}")


@member_group.command("transfer-admin")
@deployment_option
@key_options(who="The admin's")
@click.option("--to", "new_admin", required=True, metavar="ADDRESS", help="The next admin.")
@deployment_rpc_option
def transfer_admin_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, new_admin: str,
    rpc: str | None,
) -> None:  # fmt: skip
    """Step one of the admin handover: name the next admin. It takes the role with
    `member accept-admin` once the registry's delay (`deploy --admin-delay`) has passed."""
    new_admin = address_syntax(new_admin, "--to")
    registry, admin = _registry(deployment_file, rpc, open_keys(key_file, passphrase_file))
    try:
        registry.begin_admin_transfer(admin, new_admin)
    except SESSION_FAILURES as exc:
        fail(str(exc))
    _, schedule = registry.pending_admin()
    when = datetime.fromtimestamp(schedule, UTC).isoformat(timespec="seconds")
    console.print(f"{new_admin} may accept the admin role from {when}")


@member_group.command("accept-admin")
@deployment_option
@key_options(who="The next admin's")
@deployment_rpc_option
def accept_admin_cmd(deployment_file: Path, key_file: Path, passphrase_file: Path | None,
                     rpc: str | None) -> None:  # fmt: skip
    """Step two: the named account takes the admin role."""
    registry, new_admin = _registry(deployment_file, rpc, open_keys(key_file, passphrase_file))
    pending, _ = registry.pending_admin()
    if pending == ZERO_ADDRESS:
        fail("no admin transfer is pending (`member transfer-admin` names the next admin)")
    try:
        registry.accept_admin_transfer(new_admin)
    except SESSION_FAILURES as exc:
        fail(str(exc))
    console.print(f"admin: {registry.admin()}")
