"""The ``chainmpc`` command line: ``demo``, ``run``, ``jobs``, ``job hash``, ``deploy``,
``preprocess serve|deal``, ``describe-job``, ``audit``, ``keys new|show``, ``session
open|status|abort``, ``peer``, ``predict``, ``bench mining``.

Every argument of every command is checked before the first transaction: an error a user can
cause (a malformed option, a missing or unwritable path, a malformed address or one without a
consortium, an unknown session, an account without the ether it needs, an unreachable or
unusable RPC node) ends in one line naming the problem and a non-zero exit, with nothing sent.

One module per command group: :mod:`chainmpc.cli.demo`, :mod:`chainmpc.cli.run` (``run``,
``jobs``, ``job hash``), :mod:`chainmpc.cli.consortium`
(``deploy``, ``preprocess``), :mod:`chainmpc.cli.audit` (``audit``, ``describe-job``),
:mod:`chainmpc.cli.keys` (``keys``), :mod:`chainmpc.cli.session` (``session``),
:mod:`chainmpc.cli.peer` (``peer``), :mod:`chainmpc.cli.predict` (``predict``),
:mod:`chainmpc.cli.bench` (``bench``).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from chainmpc.cli.audit import audit, describe_job
from chainmpc.cli.bench import bench_group
from chainmpc.cli.common import fail
from chainmpc.cli.consortium import deploy_cmd, preprocess
from chainmpc.cli.demo import demo
from chainmpc.cli.keys import keys_group
from chainmpc.cli.member import member_group
from chainmpc.cli.peer import peer
from chainmpc.cli.predict import predict_cmd
from chainmpc.cli.run import job_group, jobs, run
from chainmpc.cli.session import session_group
from chainmpc.exceptions import ChainmpcError
from offchain.exceptions import OffchainError
from onchain.exceptions import OnchainError

_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _Group(click.Group):
    """A group whose usage errors (a bad or missing option value) are one line, like every
    other error of the command line, instead of click's usage block."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except _NO_ARGS_IS_HELP as exc:  # bare `chainmpc`: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            sub = exc.ctx is not None and exc.ctx.parent is not None
            command = f"{exc.ctx.command.name}: " if sub else ""
            fail(f"{command}{exc.format_message()} (see --help)", code=exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message())
        except click.Abort:
            fail("aborted")
        except (ChainmpcError, OffchainError, OnchainError) as exc:
            # The three packages' roots, and only those: anything else is a bug, and its
            # traceback is what a bug report needs.
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Group)
@click.version_option(package_name="chainmpc")
def main() -> None:
    """Privacy-preserving data mining with SPDZ MPC and an Ethereum audit trail."""


for _command in (
    demo,
    run,
    jobs,
    job_group,
    deploy_cmd,
    preprocess,
    audit,
    describe_job,
    keys_group,
    session_group,
    member_group,
    peer,
    predict_cmd,
    bench_group,
):
    main.add_command(_command)

__all__ = ["main"]
