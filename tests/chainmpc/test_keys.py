"""Key files as an attacker with write access to the file (or to its directory) sees them:
every tampering is refused with a message naming the file and the field and no secret, the
secrets never show, and a secret file is never written over a file or through a link."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import nacl.pwhash.argon2id as argon2id
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from nacl.public import PrivateKey, SealedBox

from chainmpc.exceptions import InputError
from chainmpc.keys import KeyPair, load_keys, new_keys, public_keys, write_secret_file

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, KeyPair]:
    path = tmp_path / "org.key"
    return path, new_keys(path, PASSPHRASE, strength="interactive")


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test, restoring it after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def secrets_of(keys: KeyPair) -> list[str]:
    """Every spelling of the two private keys a leak could take."""
    raw = [bytes(keys.account.key), bytes(keys.box_key)]
    return [s for r in raw for s in (r.hex(), r.hex().upper(), "0x" + r.hex(), repr(r))]


def assert_no_secret(text: str, keys: KeyPair) -> None:
    for secret in [*secrets_of(keys), PASSPHRASE]:
        assert secret not in text


def edit(path: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


# -- round trip ------------------------------------------------------------------------------


def test_round_trip_gives_keys_that_sign_and_open_what_was_sealed_to_the_file(key_file) -> None:
    path, made = key_file
    loaded = load_keys(path, PASSPHRASE)
    assert loaded.address == made.address == public_keys(path)[0]
    assert loaded.encryption_key == made.encryption_key == public_keys(path)[1]
    assert len(loaded.encryption_key) == 32
    assert loaded.address == Account.from_key(loaded.account.key).address  # checksummed
    # What a user relies on: a transaction signed with the loaded key comes from the address
    # the file shows, and a batch sealed to the shown encryption key opens with it.
    message = encode_defunct(text="register")
    signed = loaded.account.sign_message(message)
    assert Account.recover_message(message, signature=signed.signature) == public_keys(path)[0]
    sealed = SealedBox(PrivateKey(bytes(made.box_key)).public_key).encrypt(b"batch")
    assert SealedBox(loaded.box_key).decrypt(sealed) == b"batch"


def test_the_file_holds_no_secret_in_clear_and_records_its_costs(key_file) -> None:
    path, keys = key_file
    text = path.read_text()
    assert_no_secret(text, keys)
    doc = json.loads(text)
    assert doc["format"] == "chainmpc-key/1"
    assert doc["box"]["opslimit"] == argon2id.OPSLIMIT_INTERACTIVE
    assert doc["box"]["memlimit"] == argon2id.MEMLIMIT_INTERACTIVE
    assert doc["ethereum"]["crypto"]["kdfparams"]["n"] == 2**14


def test_two_key_files_hold_different_keys(tmp_path: Path) -> None:
    a = new_keys(tmp_path / "a", PASSPHRASE, strength="interactive")
    b = new_keys(tmp_path / "b", PASSPHRASE, strength="interactive")
    assert a.address != b.address and a.encryption_key != b.encryption_key


def test_repr_and_str_show_the_public_keys_only(key_file) -> None:
    _, keys = key_file
    for text in (repr(keys), str(keys), f"{keys!r}", repr([keys])):
        assert_no_secret(text, keys)
        assert keys.address in text and keys.encryption_key.hex() in text


def test_unknown_strength_and_empty_passphrase_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="strength 'weak'"):
        new_keys(tmp_path / "k", PASSPHRASE, strength="weak")
    with pytest.raises(InputError, match="passphrase is empty"):
        new_keys(tmp_path / "k", "", strength="interactive")
    assert not (tmp_path / "k").exists()


# -- wrong passphrase and tampering ------------------------------------------------------------


def test_wrong_passphrase(key_file) -> None:
    path, keys = key_file
    with pytest.raises(InputError) as caught:
        load_keys(path, PASSPHRASE + "!")
    assert str(caught.value) == f"{path}: wrong passphrase (or corrupted key file)"


def flip(doc: dict, *where: str) -> None:
    """Flip one bit of the hex field at ``where``."""
    *parents, name = where
    for p in parents:
        doc = doc[p]
    data = bytearray(bytes.fromhex(doc[name]))
    data[0] ^= 1
    doc[name] = data.hex()


def delete(*where: str) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        *parents, name = where
        for p in parents:
            doc = doc[p]
        del doc[name]

    return change


def put(value: object, *where: str) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        *parents, name = where
        for p in parents:
            doc = doc[p]
        doc[name] = value

    return change


CORRUPTED = "wrong passphrase (or corrupted key file)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: flip(d, "box", "ciphertext"), CORRUPTED),
        (lambda d: flip(d, "box", "nonce"), CORRUPTED),
        (lambda d: flip(d, "box", "salt"), CORRUPTED),
        (lambda d: flip(d, "ethereum", "crypto", "ciphertext"), CORRUPTED),
        (lambda d: flip(d, "ethereum", "crypto", "mac"), CORRUPTED),
        (put("chainmpc-key/0", "format"), "field 'format' is not 'chainmpc-key/1'"),
        (delete("box"), "field 'box' is missing"),
        (delete("ethereum"), "field 'ethereum' is missing"),
        (delete("encryption_key"), "field 'encryption_key' is missing"),
        (delete("box", "salt"), "field 'box.salt' is missing"),
        (delete("ethereum", "crypto", "kdfparams"), "'ethereum.crypto.kdfparams' is missing"),
        (put("zz", "encryption_key"), "field 'encryption_key' is not hex"),
        (put("ab", "encryption_key"), "field 'encryption_key' has 1 bytes, expected 32"),
        (put("0x" + "ab" * 20, "address"), "field 'address' is not a checksummed address"),
        (put("3", "box", "opslimit"), "field 'box.opslimit' is not a JSON integer"),
        (put(True, "box", "opslimit"), "field 'box.opslimit' is not a JSON integer"),
        # Costs beyond what `moderate` writes: loading would take minutes or gigabytes.
        (put(2**40, "box", "memlimit"), "field 'box.memlimit' is 1099511627776, outside"),
        (put(2**30, "ethereum", "crypto", "kdfparams", "n"), "kdfparams.n' is 1073741824"),
        (put(64, "ethereum", "crypto", "kdfparams", "p"), "kdfparams.p' is 64, outside"),
        (put("pbkdf2", "ethereum", "crypto", "kdf"), "field 'ethereum.crypto.kdf' is not"),
        (put("ab" * 20, "ethereum", "address"), "'ethereum.address' differs from field 'addr"),
        (put([], "box"), "field 'box' is not a JSON object"),
    ],
)
def test_a_tampered_file_is_refused_naming_the_field(key_file, change, message) -> None:
    path, keys = key_file
    edit(path, change)
    with pytest.raises(InputError) as caught:
        load_keys(path, PASSPHRASE)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text
    assert_no_secret(text, keys)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "invalid JSON at line 1 column 1"),
        (b"0x" + b"ab" * 32, "invalid JSON at line 1 column 2"),  # a raw private key file
        (b"\xff\xfe", "not UTF-8 text"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_a_file_that_is_not_a_key_file_is_refused_without_echoing_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "not.key"
    path.write_bytes(content)
    for read in (public_keys, lambda p: load_keys(p, PASSPHRASE)):
        with pytest.raises(InputError) as caught:
            read(path)
        assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
        assert "abab" not in str(caught.value)


def test_a_swapped_encryption_key_is_refused(key_file, tmp_path: Path) -> None:
    # Someone with write access replaces the public encryption key with one whose secret they
    # hold: the org would register it and the service would seal the org's batches to them.
    path, _ = key_file
    theirs = PrivateKey.generate()
    edit(path, put(bytes(theirs.public_key).hex(), "encryption_key"))
    assert public_keys(path)[1] == bytes(theirs.public_key)  # unauthenticated, as documented
    with pytest.raises(InputError, match="field 'encryption_key' is not the public key"):
        load_keys(path, PASSPHRASE)


def test_a_box_taken_from_another_key_file_is_refused(key_file, tmp_path: Path) -> None:
    # The attacker's own key file, same passphrase: its box decrypts, but it is not the key
    # this file says it holds.
    path, _ = key_file
    other = tmp_path / "other.key"
    new_keys(other, PASSPHRASE, strength="interactive")
    edit(path, put(json.loads(other.read_text())["box"], "box"))
    with pytest.raises(InputError, match="field 'encryption_key' is not the public key"):
        load_keys(path, PASSPHRASE)


def test_a_swapped_address_is_refused(key_file, tmp_path: Path) -> None:
    path, _ = key_file
    theirs = Account.create().address

    def swap(doc: dict) -> None:
        doc["address"] = theirs
        doc["ethereum"]["address"] = theirs[2:].lower()

    edit(path, swap)
    assert public_keys(path)[0] == theirs
    with pytest.raises(InputError, match="field 'address' is not the address of the encrypted"):
        load_keys(path, PASSPHRASE)


# -- write_secret_file ---------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_a_secret_file_is_mode_0600_whatever_the_umask(tmp_path: Path, umask, mask) -> None:
    umask(mask)
    path = tmp_path / "secret"
    write_secret_file(path, b"s3cret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"s3cret"
    umask(0)
    new_keys(tmp_path / "org.key", PASSPHRASE, strength="interactive")
    assert stat.S_IMODE((tmp_path / "org.key").stat().st_mode) == 0o600


def test_an_existing_file_is_refused_and_left_untouched(tmp_path: Path, key_file) -> None:
    path = tmp_path / "existing"
    path.write_bytes(b"someone else's data")
    path.chmod(0o644)
    with pytest.raises(InputError) as caught:
        write_secret_file(path, b"secret")
    assert str(caught.value) == f"{path}: already exists; refusing to write a secret file there"
    assert path.read_bytes() == b"someone else's data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # A second `new_keys` over a key file would destroy the first's keys.
    existing, keys = key_file
    before = existing.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        new_keys(existing, PASSPHRASE, strength="interactive")
    assert existing.read_bytes() == before
    assert load_keys(existing, PASSPHRASE).address == keys.address


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"original")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(InputError, match=f"^{link}: is a symbolic link"):
        write_secret_file(link, b"secret")
    assert target.read_bytes() == b"original" and link.is_symlink()


def test_a_dangling_symlink_is_refused_and_nothing_created(tmp_path: Path) -> None:
    # The attacker's link points where they can read (their own directory, say).
    target = tmp_path / "attacker" / "loot"
    target.parent.mkdir()
    link = tmp_path / "org.key"
    link.symlink_to(target)
    with pytest.raises(InputError, match=f"^{link}: is a symbolic link"):
        write_secret_file(link, b"secret")
    with pytest.raises(InputError, match=f"^{link}: is a symbolic link"):
        new_keys(link, PASSPHRASE, strength="interactive")
    assert not target.exists() and not os.path.lexists(target)
    assert list(target.parent.iterdir()) == []


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "org.key"
    with pytest.raises(InputError, match=f"^{path}: cannot create"):
        write_secret_file(path, b"secret")
