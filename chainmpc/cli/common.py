"""What every command shares: the consoles, the one-line failure, and the checks of arguments
that must pass before anything is sent on-chain (paths, addresses, session ids, balances)."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn

import click
from eth_utils import is_checksum_address
from rich.console import Console
from rich.markup import escape
from web3 import Web3
from web3.exceptions import Web3Exception

from chainmpc.exceptions import InputError, ServiceError
from chainmpc.jobs.base import Job
from chainmpc.keys import KeyPair
from chainmpc.roles.cluster import ProcessRun
from chainmpc.roles.deployment import DeploymentRecord
from chainmpc.roles.launcher import FUNDING, Outcome, Roles, run_session
from offchain.engine.core import ProtocolAbort
from offchain.preprocessing.material import MaterialError
from offchain.transport.mesh import TransportError
from onchain.clients import ConsortiumClient, SessionClient, errors_abi
from onchain.connection import Chain, ChainError, connect, require_balance
from onchain.transactions import TransactionError, fee_per_gas, revert_reason

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
#: What a whole session run (`demo`, `run`) can fail with, past the argument checks: one line.
SESSION_FAILURES = (
    TransactionError,
    ChainError,
    ServiceError,
    MaterialError,
    ProtocolAbort,
    TransportError,
)

#: ``--rpc`` of the commands that run a whole session on this machine (``demo``, ``run``).
local_rpc_option = click.option(
    "--rpc",
    metavar="URL",
    help="JSON-RPC node (ganache, anvil, hardhat node, ...). "
    "Default: an embedded in-process chain.",
)


def run_locally(
    chain: Chain,
    job: Job,
    roles: Roles | None = None,
    workdir: Path | None = None,
    inputs: list[Any] | None = None,
    job_file: Path | None = None,
) -> Outcome:
    """Run one session of ``job`` on ``chain`` with every org on this machine, printing each
    phase with the time elapsed; a failure past the argument checks ends in one line. With
    ``job_file``, the service and each org run as their own processes (``chainmpc run``);
    without, as threads of this one (``chainmpc demo``, whose cheats are wrappers)."""
    console.print(f"chain: {chain.description}")
    start = time.perf_counter()

    def progress(message: str) -> None:
        console.print(f"[dim]{time.perf_counter() - start:6.2f}s[/] {escape(message)}")

    try:
        if job_file is None:
            return run_session(chain, job, roles, workdir, progress, inputs)
        with ExitStack() as stack:
            if workdir is None:
                workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chainmpc-")))
            assert inputs is not None
            return ProcessRun(chain, job, job_file, inputs, workdir, progress).execute()
    except SESSION_FAILURES as exc:
        fail(f"{type(exc).__name__}: {exc}")


def print_aborted(outcome: Outcome) -> None:
    """Say that the session was aborted on-chain, why, and what each org reported."""
    console.print(f"[bold red]session aborted on-chain:[/] {outcome.message}")
    for line in outcome.errors:
        console.print(f"  [red]{line}[/]")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: MESSAGE`` (one line) on stderr and exit ``code``."""
    err.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}")
    sys.exit(code)


def chain_reason(exc: BaseException) -> str:
    """A contract call's failure in words: a custom error of either contract decoded
    (``UnknownSession(2)``), else the exception's first line."""
    reason = revert_reason(exc, errors_abi())
    return reason.splitlines()[0] if reason else type(exc).__name__


def connect_or_fail(
    rpc: str | None,
    funder_key: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Chain:
    """The chain at ``rpc`` (embedded if ``None``), or the one-line reason it is unusable;
    ``funder_key`` is the paying account (else the default funder, see ``connect``). While
    the node is retried, what is awaited goes to stderr, so a wait is never silent; a node
    that stays away ends in one ``error:`` line naming it and the method (the group's handler
    of ``OnchainError``). ``progress`` takes those notices instead (a peer's log)."""
    try:
        return connect(
            rpc,
            progress=progress or (lambda m: err.print(f"[yellow]waiting:[/] {escape(m)}")),
            funder_key=funder_key,
        )
    except ChainError as exc:
        fail(str(exc))


def writable_dir(path: Path, option: str, parents: bool = True) -> None:
    """Fail unless ``path`` is a directory this process can write in, or can be created as one
    (with its missing parents too if ``parents``)."""
    if not parents and not path.parent.is_dir():
        fail(f"{option} {path}: its parent directory does not exist")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        fail(f"{option} {path}: {existing} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        fail(f"{option} {path}: cannot write in {existing} ({exc.strerror or exc})")


def writable_file(path: Path, option: str) -> None:
    """Fail unless ``path`` can be written (an existing file, or a new one in its directory)."""
    if not path.parent.is_dir():
        fail(f"{option} {path}: its directory does not exist")
    if path.is_dir():
        fail(f"{option} {path}: is a directory")
    try:
        if path.exists():
            with path.open("r+b"):
                pass
        else:
            with tempfile.TemporaryFile(dir=path.parent):
                pass
    except OSError as exc:
        fail(f"{option} {path}: cannot write it ({exc.strerror or exc})")


def address_syntax(value: str, option: str) -> str:
    """``value`` checksummed, or fail: ``0x`` and 40 hex digits, with a valid checksum if it
    is mixed-case."""
    if not _HEX_ADDRESS.fullmatch(value):
        fail(f"{option} {value!r}: not an Ethereum address (expected 0x and 40 hex digits)")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        fail(f"{option} {value}: bad checksum (mixed-case address; check for a typo)")
    return Web3.to_checksum_address(value)


def consortium_at(chain: Chain, address: str) -> tuple[ConsortiumClient, SessionClient]:
    """The consortium at ``address`` (already syntax-checked) and its session manager, or fail
    naming ``--consortium`` if there is no chainmpc consortium there."""
    where = chain.rpc or "the embedded chain"
    try:
        if not chain.w3.eth.get_code(address):
            fail(f"--consortium {address}: no contract at that address on {where}")
        client = ConsortiumClient(chain.w3, address)
        manager = client.session_manager()
    except (ValueError, TransactionError, Web3Exception) as exc:
        fail(f"--consortium {address}: not a chainmpc consortium ({chain_reason(exc)})")
    if int(manager, 16) == 0 or not chain.w3.eth.get_code(manager):
        fail(f"--consortium {address}: has no session manager linked to it")
    return client, SessionClient(chain.w3, manager)


def existing_session(sessions: SessionClient, session: int) -> None:
    """Fail with ``no session N`` unless ``1 <= session <= sessionCount``."""
    try:
        count = sessions.session_count()
    except (ValueError, TransactionError, Web3Exception) as exc:
        fail(f"cannot read the session count: {chain_reason(exc)}")
    if session > count:
        fail(
            f"--session {session}: no session {session} on this consortium "
            f"(sessions run from 1 to {count})"
            if count
            else f"--session {session}: no session {session} (this consortium has none yet)"
        )


def affordable(chain: Chain, address: str, who: str, what: str, wei: int, gas: int) -> None:
    """Fail unless ``address`` can pay ``wei`` plus ``gas`` at the current fees."""
    try:
        require_balance(chain.w3, address, wei + gas * fee_per_gas(chain.w3), who, what)
    except ChainError as exc:
        fail(str(exc))


def can_fund_session(chain: Chain, orgs: int, what: str) -> None:
    """Fail unless the funder can fund a local session's fresh accounts (the admin, the
    service and each org) with ``FUNDING`` each, plus gas."""
    accounts = 2 + orgs
    affordable(
        chain,
        chain.funder.address,
        chain.funder_label,
        f"{what} (funding {accounts} accounts with {FUNDING // 10**18} ETH each, plus gas)",
        accounts * FUNDING,
        accounts * 21_000,
    )


#: An existing file argument.
FILE_ARG = click.Path(dir_okay=False, exists=True, path_type=Path)


#: ``--deployment FILE`` of every command a role runs against a deployed consortium.
deployment_option = click.option(
    "--deployment",
    "deployment_file",
    type=FILE_ARG,
    required=True,
    metavar="FILE",
    help="deployment.json (from `chainmpc deploy --consortium`).",
)
#: ``--rpc`` of those commands: each party may use its own node.
deployment_rpc_option = click.option(
    "--rpc", metavar="URL", help="JSON-RPC node (default: the deployment file's)."
)


def load_deployment(path: Path) -> DeploymentRecord:
    """``deployment.json``, or the one-line reason it is unusable."""
    try:
        return DeploymentRecord.load(path)
    except InputError as exc:
        fail(f"--deployment {exc}")


def deployment_chain(
    record: DeploymentRecord,
    rpc: str | None,
    keys: KeyPair | None,
    progress: Callable[[str], None] | None = None,
) -> Chain:
    """The node at ``rpc`` (else the one in the deployment file), checked to be on the
    deployment's chain; the role's own account pays for its transactions. ``progress``: see
    :func:`connect_or_fail`."""
    url = rpc or record.rpc
    if url is None:
        fail("--rpc: the deployment file names no node; give --rpc URL")
    chain = connect_or_fail(url, keys.account.key.hex() if keys else None, progress)
    if chain.w3.eth.chain_id != record.chain_id:
        fail(
            f"--rpc {url}: chain id {chain.w3.eth.chain_id}, the deployment's is {record.chain_id}"
        )
    return chain
