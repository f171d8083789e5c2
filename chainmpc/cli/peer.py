"""``chainmpc peer``: one org's part of a session, on that org's own machine."""

from __future__ import annotations

import dataclasses
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import click
from rich.markup import escape

from chainmpc.cli.common import (
    FILE_ARG,
    SESSION_FAILURES,
    console,
    deployment_chain,
    deployment_option,
    deployment_rpc_option,
    err,
    fail,
    load_deployment,
    writable_dir,
)
from chainmpc.cli.display import LiveView, Log, live_wanted
from chainmpc.cli.keys import key_options, open_keys
from chainmpc.cli.report import result_document
from chainmpc.exceptions import InputError, ParameterError, SessionAborted
from chainmpc.jobs.registry import job_from_spec, load_job
from chainmpc.roles.org import OrgAborted
from chainmpc.roles.progress import PhaseMeter
from chainmpc.roles.standalone import Member
from offchain.hazmat.field import field_for
from onchain.clients import State


@click.command("peer")
@deployment_option
@key_options(who="This org's")
@click.option(
    "--job",
    "job_file",
    type=FILE_ARG,
    required=True,
    metavar="JOB.toml",
    help="The job file this org agreed to; its hash must be the session's.",
)
@click.option(
    "--data",
    type=FILE_ARG,
    metavar="CSV",
    help="This org's CSV (default: the job file's orgs.NAME.data).",
)
@click.option(
    "--session",
    type=click.IntRange(min=1),
    help="The session to join (default: wait for the next one of this job).",
)
@deployment_rpc_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for result.json, stats.json and this org's batch cache.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for the other orgs at each step before aborting.",
)
@click.option(
    "--json-log",
    is_flag=True,
    help="Progress as JSON lines, for machines (default: a live panel on a terminal, "
    "plain log lines otherwise).",
)
def peer(
    deployment_file: Path, key_file: Path, passphrase_file: Path | None, job_file: Path,
    data: Path | None, session: int | None, rpc: str | None, out: Path, timeout: float,
    json_log: bool,
) -> None:  # fmt: skip
    """Take part in a session as one org: check and accept its parameters, fetch this org's
    sealed batch from the service, connect to the other orgs at their registered endpoints,
    compute, post this org's own transactions, and write OUT/result.json and OUT/stats.json
    (time, rounds and bytes, in total and per phase).

    On a terminal a live panel shows the phase, rounds done, bytes sent and received and the
    elapsed time; otherwise (a pipe, a log file) progress is one line per step.

    Any failure at this org (a refused parameter, a bad batch, a peer that stops answering for
    --timeout seconds) ends with this org's abort on-chain, naming the reason."""
    record = load_deployment(deployment_file)
    writable_dir(out, "--out")
    keys = open_keys(key_file, passphrase_file)
    try:
        job = load_job(job_file)
    except InputError as exc:
        fail(f"--job {exc}")
    log: Log | None = None

    def waiting(message: str) -> None:  # a node retry: in the peer's own log once it has one
        if log is None:
            err.print(f"[yellow]waiting:[/] {escape(message)}")
        else:
            log.say(f"waiting: {message}")

    chain = deployment_chain(record, rpc, keys, waiting)
    try:
        member = Member(chain.w3, record, keys, job)
    except ParameterError as exc:
        fail(str(exc))
    if data is not None:
        paths = list(job.spec.data) + [None] * (job.orgs - len(job.spec.data))
        paths[member.index] = data
        job = job_from_spec(dataclasses.replace(job.spec, data=tuple(paths)))
        member.job = job
    try:
        own = job.load_input(member.index)  # read and checked before any transaction
    except InputError as exc:
        fail(str(exc))
    meter = PhaseMeter(member.figures)
    log = Log(member.name, meter, json_log, console)
    view = LiveView(member.name, meter, console) if live_wanted(console, json_log) else None
    out.mkdir(parents=True, exist_ok=True)
    try:
        with view.shown() if view is not None else nullcontext():
            if session is None:
                session = member.find_session(timeout, 1.0, log.say)
            if view is not None:
                view.session = session
            log.say(f"session {session} on {chain.description}")
            opened = member.take_part(
                session,
                own,
                out / "cache",
                timeout=timeout,
                poll=0.25,
                progress=log.say,
                phase=log.enter,
            )
    except OrgAborted as exc:
        if exc.posted:
            fail(f"session {session} aborted by this org: {exc}")
        fail(f"{_aborted_on_chain(member, session)}; this org saw {exc}")
    except KeyboardInterrupt:
        # take_part has posted this org's abort on the way out (if the node answered).
        fail(f"interrupted; {_left(member, session, deployment_file, key_file)}")
    except SessionAborted as exc:
        waiting = getattr(exc, "waiting", None)  # AbortedWhileWaiting: what this org waited for
        fail(_aborted_on_chain(member, session) + (f"; this org was waiting for {waiting}"
                                                   if waiting else ""))  # fmt: skip
    except (TimeoutError, *SESSION_FAILURES) as exc:
        fail(f"{type(exc).__name__}: {exc}; {_left(member, session, deployment_file, key_file)}")
    del own
    field = field_for(member.sessions.session(session).modulus)
    doc = result_document(
        job, record.consortium, session, record.chain_id, [field.to_signed(v) for v in opened]
    )
    (out / "result.json").write_text(json.dumps(doc, indent=2) + "\n")
    # "phases": when each phase started; "per_phase": what each cost (they add up to the
    # session's totals below them, which count from the first phase on).
    timing = {"org": member.name, "session": session, "wall_seconds":
              round(meter.progress().elapsed, 3), "phases": dict(meter.starts),
              "per_phase": meter.per_phase(), **member.timings()}  # fmt: skip
    (out / "stats.json").write_text(json.dumps(timing, indent=2) + "\n")
    log.say(f"finalised; wrote {out / 'result.json'}")
    sys.exit(0)


def _left(member: Member, session: int | None, deployment: Path, key: Path) -> str:
    """What state the failure left the session in, and how to close it if it is live."""
    if session is None:
        return "no session was joined"
    try:
        state = member.sessions.session(session).state
    except Exception:  # noqa: BLE001 - the node may be what failed
        state = None
    if state in (State.ABORTED, State.FINALISED):
        return f"session {session} is {state.name}"
    return (
        f"session {session} may still be live; close it with: chainmpc session abort "
        f"--deployment {deployment} --key {key} --session {session}"
    )


def _aborted_on_chain(member: Member, session: int | None) -> str:
    """Who aborted the session on-chain and with which claim, in words."""
    info = member.sessions.abort_info(session or 0)
    by = member.names.get(info.by, info.by)
    return (
        f"session {session} was aborted on-chain by {by} ({info.reason.name}, "
        f"claim {info.claim.name})"
    )
