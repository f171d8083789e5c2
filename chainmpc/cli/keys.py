"""``chainmpc keys new`` (create a key file) and ``chainmpc keys show`` (its public keys), and
the passphrase input every command that opens a key file shares (:func:`read_passphrase`,
:data:`passphrase_file_option`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from chainmpc.cli.common import FILE_ARG, console, fail
from chainmpc.exceptions import InputError
from chainmpc.keys import STRENGTHS, KeyPair, load_keys, new_keys, public_keys

F = TypeVar("F", bound=Callable[..., Any])

#: The environment variable read when no ``--passphrase-file`` is given.
PASSPHRASE_ENV = "CHAINMPC_PASSPHRASE"

#: ``--passphrase-file`` for every command that opens or creates a key file.
passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help=f"Read the passphrase from the first line of FILE (else ${PASSPHRASE_ENV}, else a "
    "prompt).",
)


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """The passphrase: the first line of ``passphrase_file`` (without its line ending), else
    ``$CHAINMPC_PASSPHRASE``, else a hidden prompt (asked twice when ``confirm``, as for a new
    key file, where a typo would lock the keys away).

    Without a terminal to prompt on, it fails saying which option or variable to use rather
    than blocking; an empty passphrase is refused from every source."""
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(
                f"--passphrase-file {passphrase_file}: cannot read ({reason})"
            ) from None
        passphrase = text.split("\n", 1)[0].removesuffix("\r")
        source = f"--passphrase-file {passphrase_file}"
    elif PASSPHRASE_ENV in os.environ:
        passphrase = os.environ[PASSPHRASE_ENV]
        source = PASSPHRASE_ENV
    elif not sys.stdin.isatty():
        raise InputError(
            f"no passphrase: stdin is not a terminal; give --passphrase-file FILE or set "
            f"{PASSPHRASE_ENV}"
        )
    else:
        passphrase = click.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        source = "the prompt"
    if not passphrase:
        raise InputError(f"{source}: the passphrase is empty")
    return passphrase


def key_options(required: bool = True, who: str = "Your") -> Callable[[F], F]:
    """``--key FILE`` and ``--passphrase-file FILE`` of a command a role runs with its own
    account."""
    key = click.option("--key", "key_file", type=FILE_ARG, required=required, metavar="FILE",
                       help=f"{who} key file (`chainmpc keys new`).")  # fmt: skip

    def apply(fn: F) -> F:
        return key(passphrase_file_option(fn))

    return apply


def open_keys(key_file: Path, passphrase_file: Path | None) -> KeyPair:
    """The key pair in ``key_file``, or the one-line reason it cannot be opened."""
    try:
        return load_keys(key_file, read_passphrase(passphrase_file, confirm=False))
    except InputError as exc:
        fail(f"--key {exc}")


@click.group("keys")
def keys_group() -> None:
    """Key files: an org's (or the admin's, or the service's) account and encryption key."""


@keys_group.command("new")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="The key file to create (refused if it exists).",
)
@passphrase_file_option
@click.option(
    "--strength",
    type=click.Choice(list(STRENGTHS)),
    default="moderate",
    show_default=True,
    help="Passphrase hashing cost: moderate (~1 s, 256 MiB; real keys) or interactive "
    "(~0.1 s, 64 MiB; throwaway keys).",
)
def new_cmd(out: Path, passphrase_file: Path | None, strength: str) -> None:
    """Create a key file with a fresh account and encryption key; print the public halves."""
    # Checked before asking for the passphrase, so a user is not made to type it for nothing;
    # write_secret_file checks again when it creates the file.
    if os.path.lexists(out):
        raise InputError(f"--out {out}: already exists; refusing to overwrite a key file")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: its directory does not exist")
    keys = new_keys(out, read_passphrase(passphrase_file, confirm=True), strength=strength)
    _print_public(keys.address, keys.encryption_key)
    console.print(f"key file: {out}")


@keys_group.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", metavar="NAME", help="Print a consortium.toml [orgs.NAME] table instead.")
@click.option("--endpoint", metavar="HOST:PORT", help="With --org: the org's peer endpoint.")
def show_cmd(file: Path, org: str | None, endpoint: str | None) -> None:
    """Print a key file's address and encryption key (public; no passphrase needed), or with
    --org the table the admin pastes into consortium.toml."""
    address, encryption_key = public_keys(file)
    if org is None:
        _print_public(address, encryption_key)
        return
    if not endpoint:
        fail("--endpoint HOST:PORT: needed with --org (where the other orgs reach this one)")
    console.print(
        f'[orgs.{org}]\naddress = "{address}"\nencryption_key = "{encryption_key.hex()}"\n'
        f'endpoint = "{endpoint}"',
        markup=False,
    )


def _print_public(address: str, encryption_key: bytes) -> None:
    console.print(f"address: {address}")
    console.print(f"encryption key: {encryption_key.hex()}")
