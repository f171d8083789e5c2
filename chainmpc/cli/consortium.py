"""``chainmpc deploy`` (the admin deploys a consortium) and ``chainmpc preprocess`` (the
preprocessing service: ``serve`` for every session naming it, ``deal`` for one)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click
from web3 import Web3
from web3.exceptions import Web3Exception

from chainmpc.cli.common import (
    FILE_ARG,
    address_syntax,
    affordable,
    chain_reason,
    connect_or_fail,
    console,
    consortium_at,
    deployment_chain,
    deployment_option,
    deployment_rpc_option,
    existing_session,
    fail,
    load_deployment,
    writable_dir,
    writable_file,
)
from chainmpc.cli.keys import key_options, open_keys
from chainmpc.exceptions import InputError, ServiceError
from chainmpc.jobs.registry import load_job
from chainmpc.roles.delivery import BatchServer
from chainmpc.roles.deployment import DeploymentRecord, deploy, load_consortium, register
from chainmpc.roles.service import preprocess as preprocess_session
from chainmpc.roles.service import serve as serve_sessions
from offchain.preprocessing.cache import OrgCache, Outbox, deployment_id
from offchain.preprocessing.material import MaterialError
from onchain.clients import ConsortiumClient, SessionClient, State
from onchain.transactions import Sender, TransactionError, TxLog

#: Gas bound for the admin's balance check (measured: deploying takes about 3.6M gas, and
#: registering about 0.1M per org). The service checks its own balance before dealing.
DEPLOY_GAS = 5_000_000
REGISTER_GAS = 150_000
#: The default admin-handover delay: a day, so a stolen admin key cannot hand the role over
#: before the consortium notices the pending transfer (and the admin cancels it).
ADMIN_DELAY = 86_400


@click.command("deploy")
@click.option("--rpc", metavar="URL", required=True, help="JSON-RPC node to deploy to.")
@click.option(
    "--consortium",
    "plan_file",
    type=FILE_ARG,
    metavar="FILE",
    help="consortium.toml: the orgs, auditors and service to register (docs/design.md).",
)
@key_options(required=False, who="The admin's")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("deployment.json"),
    show_default=True,
    help="Where to write the deployment file (with --consortium).",
)
@click.option(
    "--fund",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="ETH",
    help="With --consortium: top up each org and the service to ETH ether from the admin "
    "(a development chain; a real consortium funds its accounts itself).",
)
@click.option(
    "--admin-delay",
    type=click.IntRange(min=0, max=2**48 - 1),
    default=ADMIN_DELAY,
    show_default=True,
    metavar="SECONDS",
    help="How long a named next admin waits before `member accept-admin` can take the role.",
)
def deploy_cmd(
    rpc: str, plan_file: Path | None, key_file: Path | None, passphrase_file: Path | None,
    out: Path, fund: float, admin_delay: int,
) -> None:  # fmt: skip
    """Deploy the consortium registry and session manager; print their addresses.

    With --consortium, also register its orgs, auditors and service, and write the deployment
    file every role reads. The deploying account (the consortium admin) is --key, else
    CHAINMPC_FUNDER_KEY, else on a dev node the first account of its development mnemonic."""
    plan = None
    if plan_file is not None:
        try:
            plan = load_consortium(plan_file)
        except InputError as exc:
            fail(f"--consortium {exc}")
        writable_file(out, "--out")
    keys = open_keys(key_file, passphrase_file) if key_file else None
    chain = connect_or_fail(rpc, keys.account.key.hex() if keys else None)
    gas = DEPLOY_GAS + (REGISTER_GAS * (len(plan.orgs) + len(plan.auditors) + 1) if plan else 0)
    funding = Web3.to_wei(fund, "ether") * (len(plan.orgs) + 1) if plan else 0
    affordable(chain, chain.funder.address, chain.funder_label, "deploying", funding, gas)
    admin = Sender(chain.w3, chain.funder, TxLog(), "admin")
    try:
        block = chain.w3.eth.block_number
        d = deploy(admin, admin_delay)
        if plan is not None:
            register(admin, d.consortium, plan)
            target = Web3.to_wei(fund, "ether")
            for address in [o.address for o in plan.orgs] + [plan.service]:
                short = target - chain.w3.eth.get_balance(address)
                if short > 0:
                    admin.pay(address, short)
    except TransactionError as exc:
        fail(str(exc))
    if plan is not None:
        DeploymentRecord(
            chain.w3.eth.chain_id,
            d.consortium.address,
            d.sessions.address,
            block,
            plan.service_endpoint,
            rpc,
        ).write(out)
    console.print_json(
        data={
            "consortium": d.consortium.address,
            "manager": d.sessions.address,
            "admin": chain.funder.address,
            **({"deployment": str(out), "orgs": [o.name for o in plan.orgs]} if plan else {}),
        }
    )


@click.group("preprocess")
def preprocess() -> None:
    """The preprocessing service: `serve` every session that names it, or `deal` one."""


@preprocess.command("serve")
@deployment_option
@key_options(who="The service's")
@click.option(
    "--job",
    "job_files",
    type=FILE_ARG,
    multiple=True,
    required=True,
    metavar="FILE",
    help="A job this service deals for (repeatable); sessions of other jobs are left alone.",
)
@deployment_rpc_option
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to serve batches (default: the deployment's service endpoint).",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outbox"),
    show_default=True,
    help="Directory holding sealed batches until their session closes.",
)
def serve_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None,
    job_files: tuple[Path, ...], rpc: str | None, listen: str | None, outbox: Path,
) -> None:  # fmt: skip
    """Run the service until interrupted: deal each session that names it once all its orgs
    have accepted, commit the batch hashes, and serve each org its sealed batch."""
    record = load_deployment(deployment_file)
    try:
        jobs = [load_job(f) for f in job_files]
    except InputError as exc:
        fail(f"--job {exc}")
    writable_dir(outbox, "--outbox")
    keys = open_keys(key_file, passphrase_file)
    chain = deployment_chain(record, rpc, keys)
    consortium = ConsortiumClient(chain.w3, record.consortium)
    sessions = SessionClient(chain.w3, record.manager)
    if not consortium.is_service(keys.address):
        fail(f"--key {key_file}: {keys.address} is not a registered preprocessing service")
    host, _, port = (listen or record.service_endpoint).rpartition(":")
    box = Outbox(outbox)

    def authorize(deployment: str, session: int, org: str) -> bool:
        info = sessions.session(session)
        live = info.state in (State.PREPROCESSED, State.COMPUTING)
        return (
            deployment == record.id
            and live
            and org.lower() in {a.lower() for a in info.participants}
        )

    try:
        server = BatchServer(box, host, int(port), authorize)
    except OSError as exc:
        fail(f"--listen {host}:{port}: cannot listen ({exc.strerror or exc})")
    server.start()
    console.print(f"serving batches at {server.endpoint}")
    sender = Sender(chain.w3, keys.account, TxLog(), "preprocessing service")
    stop = threading.Event()
    # SIGTERM (a service manager stopping it) ends the loop between sessions, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve_sessions(sender, consortium, sessions, record.id, jobs, box, console.print,
                       stop=stop)  # fmt: skip
    except KeyboardInterrupt:
        pass  # Ctrl-C: stop serving, as SIGTERM does
    finally:
        server.close()
    console.print("stopped")


@preprocess.command("deal")
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
@key_options(who="The service's")
def deal_cmd(
    rpc: str,
    consortium: str,
    session: int,
    job_file: Path,
    cache_root: Path,
    key_file: Path,
    passphrase_file: Path | None,
) -> None:
    """Prepare one session: deal triples and input masks, seal each org's batch to its key
    into its cache (CACHE_ROOT/NAME, on a filesystem the orgs share), commit the batch hashes
    on-chain."""
    address = address_syntax(consortium, "--consortium")
    writable_dir(cache_root, "--cache-root")
    account = open_keys(key_file, passphrase_file).account
    try:
        job = load_job(job_file)
    except InputError as exc:
        fail(f"--job {exc}")
    chain = connect_or_fail(rpc)
    client, sessions = consortium_at(chain, address)
    existing_session(sessions, session)
    try:
        sender = Sender(chain.w3, account, TxLog(), "preprocessing service")
        deployment = deployment_id(chain.w3.eth.chain_id, sessions.address)
        preprocess_session(
            sender,
            client,
            sessions,
            session,
            job,
            lambda name, _: OrgCache(cache_root / name).sink(deployment, session),
            progress=console.print,
        )
    except (ServiceError, TransactionError, MaterialError, InputError) as exc:
        fail(str(exc))
    except Web3Exception as exc:
        fail(f"cannot read session {session}: {chain_reason(exc)}")
