"""``chainmpc session open | status | abort``: a session's life cycle from the command line.

``open`` is the admin's (or an org's) step; ``status`` needs no key; ``abort`` is how an org
closes a session that a crash, a lost node or an interrupt left live (past its deadline,
anyone may close it as expired).
"""

from __future__ import annotations

from pathlib import Path

import click

from chainmpc.cli.common import (
    FILE_ARG,
    SESSION_FAILURES,
    console,
    deployment_chain,
    deployment_option,
    deployment_rpc_option,
    existing_session,
    fail,
    load_deployment,
)
from chainmpc.cli.keys import key_options, open_keys
from chainmpc.exceptions import InputError
from chainmpc.jobs.registry import load_job
from chainmpc.roles.peer import MAX_SESSION_SECONDS
from offchain.hazmat.field import BN254_SCALAR
from onchain.clients import AbortClaim, ConsortiumClient, SessionClient, State
from onchain.commitments import job_hash
from onchain.transactions import Sender, TxLog

_session = click.option(
    "--session", type=click.IntRange(min=1), required=True, help="The session id."
)
_CLAIMS = {c.name.lower().replace("_", "-"): c for c in AbortClaim if c != AbortClaim.NONE}


@click.group("session")
def session_group() -> None:
    """Open a session, show its status, or abort it."""


@session_group.command("open")
@deployment_option
@key_options()
@click.option(
    "--job",
    "job_file",
    type=FILE_ARG,
    required=True,
    metavar="JOB.toml",
    help="The job the session computes (its orgs, in order, are the participants).",
)
@click.option(
    "--orgs",
    metavar="A,B,...",
    help="The participants' names (default: the job's orgs, in the job's order).",
)
@click.option(
    "--minutes",
    type=click.IntRange(1, MAX_SESSION_SECONDS // 60),
    default=60,
    show_default=True,
    help="The session's deadline, from now.",
)
@deployment_rpc_option
def open_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, job_file: Path,
    orgs: str | None, minutes: int, rpc: str | None,
) -> None:  # fmt: skip
    """Open a session of a job; print its id. Every org then checks and accepts it (`chainmpc
    peer`)."""
    record = load_deployment(deployment_file)
    try:
        job = load_job(job_file)
    except InputError as exc:
        fail(f"--job {exc}")
    names = [n.strip() for n in orgs.split(",")] if orgs else list(job.spec.orgs)
    if names != list(job.spec.orgs):
        fail(f"--orgs {orgs}: the job's orgs are {','.join(job.spec.orgs)}, in that order")
    keys = open_keys(key_file, passphrase_file)
    chain = deployment_chain(record, rpc, keys)
    consortium = ConsortiumClient(chain.w3, record.consortium)
    sessions = SessionClient(chain.w3, record.manager)
    registry = consortium.orgs()
    missing = [n for n in names if n not in registry]
    if missing:
        fail(f"--orgs: not registered on-chain: {', '.join(missing)}")
    services = consortium.contract.events.ServiceRegistered().get_logs(from_block=record.block)
    if not services:
        fail("the consortium has no registered preprocessing service")
    now = chain.w3.eth.get_block("latest")["timestamp"]
    try:
        sid = sessions.open_session(
            Sender(chain.w3, keys.account, TxLog(), "admin"),
            job_hash(job.description()),
            [registry[n] for n in names],
            BN254_SCALAR,
            services[-1]["args"]["service"],
            now + 60 * minutes,
            job.output_length,
        )
    except SESSION_FAILURES as exc:
        fail(str(exc))
    console.print(f"opened session {sid} of job {job.spec.name!r} for {', '.join(names)}")


@session_group.command("status")
@deployment_option
@_session
@deployment_rpc_option
def status_cmd(deployment_file: Path, session: int, rpc: str | None) -> None:
    """Show a session's state, who has done what, and its deadline (no key needed)."""
    record = load_deployment(deployment_file)
    chain = deployment_chain(record, rpc, None)
    consortium = ConsortiumClient(chain.w3, record.consortium)
    sessions = SessionClient(chain.w3, record.manager)
    existing_session(sessions, session)
    info = sessions.session(session)
    names = {a: n for n, a in consortium.orgs().items()}
    left = info.deadline - chain.w3.eth.get_block("latest")["timestamp"]
    when = f"deadline in {left} s" if left > 0 else f"deadline passed {-left} s ago"
    console.print(
        f"session {session}: {info.state.name}, checkpoint {info.checkpoint_count}, {when}"
    )
    for a in info.participants:
        accepted = "accepted" if sessions.is_accepted(session, a) else "not accepted"
        console.print(f"  {names.get(a, a)} {a}: {accepted}")
    if info.state == State.ABORTED:
        abort = sessions.abort_info(session)
        console.print(f"  aborted: {abort.reason.name}, claim {abort.claim.name}, by {abort.by}")


@session_group.command("abort")
@deployment_option
@key_options()
@_session
@click.option(
    "--claim",
    type=click.Choice(sorted(_CLAIMS)),
    default="protocol-error",
    show_default=True,
    help="What went wrong (recorded as your claim).",
)
@deployment_rpc_option
def abort_cmd(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, session: int,
    claim: str, rpc: str | None,
) -> None:  # fmt: skip
    """Abort a live session as one of its orgs (past its deadline: close it as expired, which
    anyone may). A closed session is left as it is."""
    record = load_deployment(deployment_file)
    keys = open_keys(key_file, passphrase_file)
    chain = deployment_chain(record, rpc, keys)
    sessions = SessionClient(chain.w3, record.manager)
    existing_session(sessions, session)
    info = sessions.session(session)
    if info.state in (State.FINALISED, State.ABORTED):
        console.print(f"session {session} is already {info.state.name}")
        return
    sender = Sender(chain.w3, keys.account, TxLog(), "org")
    try:
        if chain.w3.eth.get_block("latest")["timestamp"] > info.deadline:
            sessions.abort_expired(sender, session)
        elif keys.address in info.participants:
            sessions.abort(sender, session, _CLAIMS[claim])
        else:
            fail(
                f"--key: {keys.address} is not a participant of session {session}, and its "
                "deadline has not passed"
            )
    except SESSION_FAILURES as exc:
        fail(str(exc))
    console.print(f"session {session}: {sessions.session(session).state.name}")
