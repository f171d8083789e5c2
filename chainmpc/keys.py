"""Key files: one per org (and for the admin and the service), holding its Ethereum account and
its X25519 encryption key, both encrypted under one passphrase.

A key file is JSON::

    {"format": "chainmpc-key/1",
     "address": "0x…",                 # checksummed, public
     "encryption_key": "…",            # 32-byte X25519 public key, hex, public
     "ethereum": {…},                  # eth-account v3 keystore (scrypt, AES-128-CTR, MAC)
     "box": {"kdf": "argon2id", "salt": "…", "opslimit": N, "memlimit": N,
             "nonce": "…", "ciphertext": "…"}}   # X25519 secret under nacl SecretBox

The public fields let anyone read a key file's address and encryption key without the
passphrase (:func:`public_keys`, for registration). They are not authenticated by themselves:
:func:`load_keys` decrypts both secrets and refuses the file unless the account's address and
the secret's public key equal them, so a file whose public fields were swapped cannot make an
org register one key and use another.

Every secret file the package writes goes through :func:`write_secret_file` (mode 0600, never
over an existing file, never through a symbolic link).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_checksum_address, to_checksum_address
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey

from chainmpc.exceptions import InputError

FORMAT = "chainmpc-key/1"

#: Cost of each strength, measured on one core of the 2-core development machine, for
#: ``new_keys`` and again for ``load_keys`` (both derive both keys):
#: - ``moderate`` (real keys): scrypt n = 2^18 (eth-account's default; 256 MiB, ~0.55 s) and
#:   argon2id opslimit 3, memlimit 256 MiB (libsodium's MODERATE, ~0.4 s): ~1 s, 256 MiB.
#: - ``interactive`` (throwaway keys of the one-machine launcher, tests): scrypt n = 2^14
#:   (16 MiB, ~0.04 s) and argon2id opslimit 2, memlimit 64 MiB (INTERACTIVE, ~0.06 s):
#:   ~0.1 s, 64 MiB.
STRENGTHS: dict[str, tuple[int, int, int]] = {
    "moderate": (2**18, argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE),
    "interactive": (2**14, argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE),
}

# What load accepts from a file: at most what "moderate" writes, so a tampered file cannot
# make loading it take gigabytes or hours.
_MAX_SCRYPT_N = 2**18
_MAX_SCRYPT_R = 8
_MAX_SCRYPT_P = 1
_MODE = 0o600


@dataclass(frozen=True)
class KeyPair:
    """An org's two private keys: its Ethereum account (signs transactions) and its X25519
    key (opens the batches sealed to it, keys its peer channels)."""

    account: LocalAccount
    box_key: PrivateKey

    @property
    def address(self) -> str:
        """The account's checksummed address, as registered on-chain."""
        return to_checksum_address(self.account.address)

    @property
    def encryption_key(self) -> bytes:
        """The 32-byte X25519 public key, as registered on-chain."""
        return bytes(self.box_key.public_key)

    def __repr__(self) -> str:  # holds private keys: show only the public halves
        return f"KeyPair(address={self.address}, encryption_key={self.encryption_key.hex()})"


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; refuse an existing file or a symbolic
    link (even a dangling one) with an :class:`InputError` naming the path.

    Why: a secret written over an existing file would keep that file's (perhaps looser) mode
    and owner, and one written through a symlink lands wherever its owner pointed it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, _MODE)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create ({exc.strerror or exc})") from None
    try:
        # The umask can only clear bits of the mode given to open (0700-style umasks would
        # leave 0400); fchmod makes it exactly 0600, whatever the umask.
        os.fchmod(fd, _MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    os.close(fd)


def _exists(path: Path) -> InputError:
    """The refusal of a path that exists (or is a symbolic link, even a dangling one)."""
    what = "is a symbolic link" if os.path.islink(path) else "already exists"
    return InputError(f"{path}: {what}; refusing to write a secret file there")


def new_keys(
    path: Path, passphrase: str, *, strength: str = "moderate", keys: KeyPair | None = None
) -> KeyPair:
    """Generate a fresh account and X25519 key (or take ``keys``: the one-machine launcher
    hands its throwaway roles' keys to their processes this way), write them to a new key file
    at ``path`` (refused if it exists) encrypted under ``passphrase``, and return them.

    ``strength`` is ``"moderate"`` for real keys or ``"interactive"`` for throwaway ones (see
    :data:`STRENGTHS` for what each costs)."""
    if strength not in STRENGTHS:
        raise InputError(f"strength {strength!r}: expected one of {', '.join(STRENGTHS)}")
    if not passphrase:
        raise InputError(f"{path}: the passphrase is empty")
    if os.path.lexists(path):  # early, before the slow key derivations; open re-checks
        raise _exists(path)
    scrypt_n, opslimit, memlimit = STRENGTHS[strength]
    keys = keys or KeyPair(Account.create(), PrivateKey.generate())
    secret = passphrase.encode()
    salt = nacl.utils.random(argon2id.SALTBYTES)
    box_secret = argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, secret, salt, opslimit=opslimit, memlimit=memlimit
    )
    sealed = nacl.secret.SecretBox(box_secret).encrypt(bytes(keys.box_key))
    document = {
        "format": FORMAT,
        "address": keys.address,
        "encryption_key": keys.encryption_key.hex(),
        "ethereum": Account.encrypt(
            keys.account.key, passphrase, kdf="scrypt", iterations=scrypt_n
        ),
        "box": {
            "kdf": "argon2id",
            "salt": salt.hex(),
            "opslimit": opslimit,
            "memlimit": memlimit,
            "nonce": sealed.nonce.hex(),
            "ciphertext": sealed.ciphertext.hex(),
        },
    }
    write_secret_file(path, (json.dumps(document, indent=2) + "\n").encode())
    return keys


def rotated_keys(path: Path, passphrase: str) -> tuple[KeyPair, Path]:
    """The key file's account with a fresh X25519 key, written (same passphrase, same
    strength) to a new file beside it, ``<name>.rotating``: the caller publishes the new public
    key on-chain, then moves that file over ``path`` (or deletes it if publishing failed), so
    the registered key and the key on disk never disagree for longer than one transaction."""
    old = load_keys(path, passphrase)
    opslimit = _read(path)["box"]["opslimit"]
    strength = next((name for name, (_, ops, _) in STRENGTHS.items() if ops == opslimit), None)
    pending = path.with_name(path.name + ".rotating")
    keys = KeyPair(old.account, PrivateKey.generate())
    new_keys(pending, passphrase, strength=strength or "moderate", keys=keys)
    return keys, pending


def public_keys(path: Path) -> tuple[str, bytes]:
    """The key file's ``(address, encryption public key)``, read without the passphrase (to
    register an org, or show what a file holds). Not authenticated: :func:`load_keys` is what
    checks them against the secrets."""
    doc = _read(path)
    return doc["address"], bytes.fromhex(doc["encryption_key"])


def load_keys(path: Path, passphrase: str) -> KeyPair:
    """Decrypt the key file at ``path`` and return its keys, after checking that the account's
    address and the X25519 secret's public key are the file's public ``address`` and
    ``encryption_key`` (those are what get registered, so they must be what gets used)."""
    doc = _read(path)
    wrong = InputError(f"{path}: wrong passphrase (or corrupted key file)")
    try:
        account_key = Account.decrypt(doc["ethereum"], passphrase)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise wrong from None
        raise InputError(f"{path}: field 'ethereum' is not a valid keystore") from None
    box = doc["box"]
    try:
        box_secret = argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            passphrase.encode(),
            bytes.fromhex(box["salt"]),
            opslimit=box["opslimit"],
            memlimit=box["memlimit"],
        )
        raw = nacl.secret.SecretBox(box_secret).decrypt(
            bytes.fromhex(box["ciphertext"]), bytes.fromhex(box["nonce"])
        )
    except CryptoError:
        raise wrong from None
    if len(raw) != PrivateKey.SIZE:
        raise InputError(f"{path}: field 'box.ciphertext' does not hold an X25519 key")
    keys = KeyPair(Account.from_key(account_key), PrivateKey(raw))
    if keys.address != doc["address"]:
        raise InputError(f"{path}: field 'address' is not the address of the encrypted account")
    if keys.encryption_key != bytes.fromhex(doc["encryption_key"]):
        raise InputError(
            f"{path}: field 'encryption_key' is not the public key of the encrypted secret"
        )
    return keys


# -- reading and checking the file's shape -------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    """The key file's JSON, with every field ``load_keys`` uses present and well-formed; an
    error names the file and the field, never a value (values may be key material)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a chainmpc key file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not a chainmpc key file (invalid JSON at line {exc.lineno} column "
            f"{exc.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a chainmpc key file (not a JSON object)")
    if _get(path, doc, "format", str) != FORMAT:
        raise InputError(f"{path}: field 'format' is not {FORMAT!r}")
    address = _get(path, doc, "address", str)
    if not is_checksum_address(address):
        raise InputError(f"{path}: field 'address' is not a checksummed address")
    _hex(path, doc, "encryption_key", 32)
    _check_keystore(path, _get(path, doc, "ethereum", dict), address)
    box = _get(path, doc, "box", dict)
    if _get(path, box, "kdf", str, "box.") != "argon2id":
        raise InputError(f"{path}: field 'box.kdf' is not 'argon2id'")
    _hex(path, box, "salt", argon2id.SALTBYTES, "box.")
    _hex(path, box, "nonce", nacl.secret.SecretBox.NONCE_SIZE, "box.")
    _hex(path, box, "ciphertext", None, "box.")
    _bounded(path, box, "opslimit", argon2id.OPSLIMIT_MIN, argon2id.OPSLIMIT_MODERATE, "box.")
    _bounded(path, box, "memlimit", argon2id.MEMLIMIT_MIN, argon2id.MEMLIMIT_MODERATE, "box.")
    return doc


def _check_keystore(path: Path, store: Mapping[str, Any], address: str) -> None:
    """The v3 keystore's fields, and scrypt costs no higher than ``moderate`` writes."""
    crypto = _get(path, store, "crypto", dict, "ethereum.")
    if _get(path, crypto, "kdf", str, "ethereum.crypto.") != "scrypt":
        raise InputError(f"{path}: field 'ethereum.crypto.kdf' is not 'scrypt'")
    params = _get(path, crypto, "kdfparams", dict, "ethereum.crypto.")
    where = "ethereum.crypto.kdfparams."
    _bounded(path, params, "n", 2, _MAX_SCRYPT_N, where)
    _bounded(path, params, "r", 1, _MAX_SCRYPT_R, where)
    _bounded(path, params, "p", 1, _MAX_SCRYPT_P, where)
    _bounded(path, params, "dklen", 32, 32, where)
    _hex(path, params, "salt", None, where)
    _hex(path, crypto, "ciphertext", 32, "ethereum.crypto.")
    _hex(path, crypto, "mac", 32, "ethereum.crypto.")
    cipherparams = _get(path, crypto, "cipherparams", dict, "ethereum.crypto.")
    _hex(path, cipherparams, "iv", 16, "ethereum.crypto.cipherparams.")
    stored = store.get("address")
    if stored is not None and str(stored).lower().removeprefix("0x") != address[2:].lower():
        raise InputError(f"{path}: field 'ethereum.address' differs from field 'address'")


def _get(path: Path, doc: Mapping[str, Any], name: str, kind: type, where: str = "") -> Any:
    """``doc[name]``, which must be a ``kind``."""
    if name not in doc:
        raise InputError(f"{path}: field '{where}{name}' is missing")
    value = doc[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{path}: field '{where}{name}' is not a JSON {_JSON_NAMES[kind]}")
    return value


_JSON_NAMES = {str: "string", dict: "object", int: "integer"}


def _hex(path: Path, doc: Mapping[str, Any], name: str, size: int | None, where: str = "") -> None:
    """``doc[name]`` is lowercase-or-uppercase hex of ``size`` bytes (any non-zero size if
    ``None``)."""
    value = _get(path, doc, name, str, where)
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise InputError(f"{path}: field '{where}{name}' is not hex") from None
    if (size is None and not data) or (size is not None and len(data) != size):
        expected = "non-empty" if size is None else f"{size} bytes"
        raise InputError(
            f"{path}: field '{where}{name}' has {len(data)} bytes, expected {expected}"
        )


def _bounded(
    path: Path, doc: Mapping[str, Any], name: str, low: int, high: int, where: str = ""
) -> None:
    """``doc[name]`` is an integer in ``[low, high]``."""
    value = _get(path, doc, name, int, where)
    if not low <= value <= high:
        raise InputError(f"{path}: field '{where}{name}' is {value}, outside {low}..{high}")
