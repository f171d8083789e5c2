"""Mutations of the key files' checks and of ``write_secret_file`` (see
``scripts/mutations.py``)."""

from __future__ import annotations

from mutation_base import Mutation, off

KEYS_PATH = "chainmpc/keys.py"
KEYS = "tests/chainmpc/test_keys.py::"

KEYS_MUTATIONS: list[Mutation] = [
    Mutation(
        "keys: secret file written over an existing file (no O_EXCL)",
        KEYS_PATH,
        "os.O_CREAT | os.O_EXCL | ",
        "os.O_CREAT | ",
        (KEYS + "test_an_existing_file_is_refused_and_left_untouched",),
    ),
    # O_NOFOLLOW alone is redundant while O_EXCL is there (O_CREAT | O_EXCL never follows a
    # final symlink: EEXIST), so dropping it alone changes nothing a test can see. It is what
    # still refuses a link if O_EXCL is ever lost; this entry checks that the link tests catch
    # a write that follows one.
    Mutation(
        "keys: secret file written through a symlink (no O_EXCL, no O_NOFOLLOW)",
        KEYS_PATH,
        "os.O_EXCL | os.O_NOFOLLOW | ",
        "",
        (
            KEYS + "test_a_symlink_is_refused_and_its_target_untouched",
            KEYS + "test_a_dangling_symlink_is_refused_and_nothing_created",
        ),
    ),
    Mutation(
        "keys: secret file mode 0644",
        KEYS_PATH,
        "_MODE = 0o600",
        "_MODE = 0o644",
        (KEYS + "test_a_secret_file_is_mode_0600_whatever_the_umask",),
    ),
    Mutation(
        "keys: secret file mode left to the umask (no fchmod)",
        KEYS_PATH,
        "os.fchmod(fd, _MODE)",
        "pass",
        (KEYS + "test_a_secret_file_is_mode_0600_whatever_the_umask",),
    ),
    off(
        "keys: encryption key not checked against the decrypted secret",
        KEYS_PATH,
        'keys.encryption_key != bytes.fromhex(doc["encryption_key"])',
        (
            KEYS + "test_a_swapped_encryption_key_is_refused",
            KEYS + "test_a_box_taken_from_another_key_file_is_refused",
        ),
    ),
    off(
        "keys: address not checked against the decrypted account",
        KEYS_PATH,
        'keys.address != doc["address"]',
        (KEYS + "test_a_swapped_address_is_refused",),
    ),
]
