"""``chainmpc deploy`` (the admin deploys a consortium) and ``chainmpc preprocess`` (the
preprocessing service prepares one session)."""

from __future__ import annotations

from pathlib import Path

import click
from eth_account import Account
from web3.exceptions import Web3Exception

from chainmpc.cli.common import (
    address_syntax,
    affordable,
    chain_reason,
    connect_or_fail,
    console,
    consortium_at,
    existing_session,
    fail,
    writable_dir,
)
from chainmpc.exceptions import InputError, ServiceError
from chainmpc.jobs.registry import load_job
from chainmpc.roles.deployment import deploy
from chainmpc.roles.service import preprocess as preprocess_session
from offchain.preprocessing.material import MaterialError
from onchain.transactions import Sender, TransactionError, TxLog

#: Gas bound for the admin's balance check (measured: deploying takes about 3.6M gas). The
#: service checks its own balance before dealing (chainmpc/roles/service.py).
DEPLOY_GAS = 5_000_000


@click.command("deploy")
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node to deploy to.")
def deploy_cmd(rpc: str) -> None:
    """Deploy the consortium registry and session manager; print their addresses.

    The deploying account (the consortium admin) is CHAINMPC_FUNDER_KEY, or on a dev node the
    first account of its well-known development mnemonic."""
    chain = connect_or_fail(rpc)
    affordable(chain, chain.funder.address, chain.funder_label, "deploying", 0, DEPLOY_GAS)
    try:
        d = deploy(Sender(chain.w3, chain.funder, TxLog(), "admin"))
    except TransactionError as exc:
        fail(str(exc))
    console.print_json(
        data={
            "consortium": d.consortium.address,
            "manager": d.sessions.address,
            "admin": chain.funder.address,
        }
    )


@click.command()
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node holding the session.")
@click.option("--consortium", metavar="ADDRESS", required=True, help="Consortium contract.")
@click.option(
    "--session", type=click.IntRange(min=1), required=True, help="Session id to prepare (>= 1)."
)
@click.option(
    "--job",
    "job_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The job file (TOML, or the canonical JSON of `describe-job`) the session computes; "
    "its hash is checked on-chain. Data paths in it are not read.",
)
@click.option(
    "--cache-root",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory holding each org's cache, one subdirectory per org name.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="File with the service's Ethereum private key (hex).",
)
def preprocess(
    rpc: str,
    consortium: str,
    session: int,
    job_file: Path,
    cache_root: Path,
    key_file: Path,
) -> None:
    """Run the preprocessing service for one session: deal triples and input masks, seal each
    org's batch to its key into its cache, commit the batch hashes on-chain."""
    address = address_syntax(consortium, "--consortium")
    try:
        account = Account.from_key(key_file.read_text().strip())
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        fail(f"--key-file {key_file}: not a private key (expected 64 hex digits)")
    writable_dir(cache_root, "--cache-root")
    try:
        job = load_job(job_file)
    except InputError as exc:
        fail(f"--job {exc}")
    chain = connect_or_fail(rpc)
    client, sessions = consortium_at(chain, address)
    existing_session(sessions, session)
    try:
        sender = Sender(chain.w3, account, TxLog(), "preprocessing service")
        preprocess_session(
            sender,
            client,
            sessions,
            session,
            job,
            cache_root,
            progress=console.print,
        )
    except (ServiceError, TransactionError, MaterialError, InputError) as exc:
        fail(str(exc))
    except Web3Exception as exc:
        fail(f"cannot read session {session}: {chain_reason(exc)}")
