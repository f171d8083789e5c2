"""``chainmpc keys new`` and ``keys show`` as a user runs them (their own process): the
passphrase from a file, the environment or a terminal prompt, the public keys printed, and no
secret ever on the screen."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainmpc.keys import KeyPair, load_keys

ROOT = Path(__file__).resolve().parents[3]
PASSPHRASE = "tr0ub4dor & 3"


def chainmpc(
    *args: str, passphrase: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHAINMPC_PASSPHRASE"}
    env["PYTHONPATH"] = str(ROOT)
    if passphrase is not None:
        env["CHAINMPC_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "chainmpc", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def printed(stdout: str) -> dict[str, str]:
    """The ``name: value`` lines of the output."""
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def assert_no_secret(output: str, keys: KeyPair, passphrase: str) -> None:
    for secret in (bytes(keys.account.key).hex(), bytes(keys.box_key).hex(), passphrase):
        assert secret.lower() not in output.lower()


def test_new_with_the_environment_variable_prints_the_public_keys(tmp_path: Path) -> None:
    out = tmp_path / "bank-a.key"
    proc = chainmpc(
        "keys", "new", "--out", str(out), "--strength", "interactive", passphrase=PASSPHRASE
    )
    assert proc.returncode == 0, proc.stderr
    keys = load_keys(out, PASSPHRASE)
    shown = printed(proc.stdout)
    assert shown == {
        "address": keys.address,
        "encryption key": keys.encryption_key.hex(),
        "key file": str(out),
    }
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert_no_secret(proc.stdout + proc.stderr, keys, PASSPHRASE)


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_new_with_a_passphrase_file_uses_its_first_line(tmp_path: Path, ending: str) -> None:
    secret = tmp_path / "passphrase"
    # Without a line ending, the whole file; with one, the second line is not part of it.
    secret.write_text(PASSPHRASE + (f"{ending}a second line{ending}" if ending else ""))
    out = tmp_path / "org.key"
    # The file wins over the environment.
    proc = chainmpc(
        "keys", "new", "--out", str(out), "--passphrase-file", str(secret),
        "--strength", "interactive", passphrase="not this one",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    keys = load_keys(out, PASSPHRASE)
    assert printed(proc.stdout)["address"] == keys.address
    assert_no_secret(proc.stdout + proc.stderr, keys, PASSPHRASE)


def test_show_prints_the_same_public_keys_without_a_passphrase(tmp_path: Path) -> None:
    out = tmp_path / "org.key"
    made = chainmpc(
        "keys", "new", "--out", str(out), "--strength", "interactive", passphrase=PASSPHRASE
    )
    assert made.returncode == 0, made.stderr
    shown = chainmpc("keys", "show", str(out))  # no passphrase anywhere, stdin not a terminal
    assert shown.returncode == 0, shown.stderr
    assert printed(shown.stdout) == {
        k: v for k, v in printed(made.stdout).items() if k != "key file"
    }
    assert_no_secret(shown.stdout + shown.stderr, load_keys(out, PASSPHRASE), PASSPHRASE)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_without_passphrase_or_terminal_it_says_what_to_use(tmp_path: Path) -> None:
    out = tmp_path / "org.key"
    line = one_error_line(chainmpc("keys", "new", "--out", str(out)))
    assert "--passphrase-file" in line and "CHAINMPC_PASSPHRASE" in line
    assert not out.exists()


def test_an_empty_passphrase_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "org.key"
    assert "passphrase is empty" in one_error_line(
        chainmpc("keys", "new", "--out", str(out), passphrase="")
    )
    empty = tmp_path / "empty"
    empty.write_text("\nsecond line\n")
    proc = chainmpc("keys", "new", "--out", str(out), "--passphrase-file", str(empty))
    line = one_error_line(proc)
    assert f"--passphrase-file {empty}: the passphrase is empty" in line
    assert "second line" not in line
    assert not out.exists()


def test_an_existing_key_file_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "org.key"
    first = chainmpc(
        "keys", "new", "--out", str(out), "--strength", "interactive", passphrase=PASSPHRASE
    )
    assert first.returncode == 0
    before = out.read_bytes()
    line = one_error_line(chainmpc("keys", "new", "--out", str(out), passphrase=PASSPHRASE))
    assert f"--out {out}: already exists" in line
    assert out.read_bytes() == before


def test_show_of_a_raw_private_key_file_does_not_echo_it(tmp_path: Path) -> None:
    raw = tmp_path / "service.key"
    raw.write_text("0x" + "ab" * 32 + "\n")
    line = one_error_line(chainmpc("keys", "show", str(raw)))
    assert f"{raw}: not a chainmpc key file" in line and "abab" not in line


def test_the_prompt_hides_the_passphrase_and_asks_twice(tmp_path: Path) -> None:
    # A real terminal: the passphrase is typed twice and never echoed.
    out = tmp_path / "org.key"
    env = {k: v for k, v in os.environ.items() if k != "CHAINMPC_PASSPHRASE"}
    env["PYTHONPATH"] = str(ROOT)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chainmpc", "keys", "new", "--out", str(out),
         "--strength", "interactive"],
        stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    screen = b""

    def read_until(text: bytes | None, timeout: float = 60) -> None:
        """Read the terminal until ``text`` shows (``None``: until it is closed or idle)."""
        nonlocal screen
        deadline = time.monotonic() + timeout
        while (text is None or text not in screen) and time.monotonic() < deadline:
            if not select.select([leader], [], [], 0.5)[0]:
                if text is None:
                    return
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            screen += chunk

    try:
        read_until(b"Passphrase:")
        os.write(leader, PASSPHRASE.encode() + b"\n")
        read_until(b"Repeat for confirmation:")
        os.write(leader, PASSPHRASE.encode() + b"\n")
        read_until(b"key file:")
        assert proc.wait(timeout=60) == 0, screen.decode(errors="replace")
        read_until(None, timeout=5)  # whatever is left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    keys = load_keys(out, PASSPHRASE)
    text = screen.decode(errors="replace")
    assert keys.address in text
    assert_no_secret(text, keys, PASSPHRASE)
