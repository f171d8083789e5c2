"""The committed contract artifacts (onchain/artifacts/*.json) match a fresh compile."""

from __future__ import annotations

import json
import re
import shutil
from enum import IntEnum
from pathlib import Path

import pytest

from onchain import compile as oc
from onchain.clients import AbortClaim, AbortReason, State

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="`node` is not on PATH: cannot run solc-js to recompile the contracts",
)


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    if not (oc.REPO_ROOT / "node_modules" / "solc" / "package.json").is_file():
        pytest.fail("node_modules/solc is missing: run `npm ci` in the repository root")
    return oc.render_artifacts()


@pytest.fixture(autouse=True)
def _no_home_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path / "solcx"))
    (tmp_path / "solcx").mkdir()


def test_committed_artifacts_are_fresh(fresh: dict[str, str]) -> None:
    assert sorted(fresh) == ["Consortium.json", "SessionManager.json"]
    for filename, text in fresh.items():
        path = oc.ARTIFACTS_DIR / filename
        assert path.is_file(), f"{path} missing: run `python -m onchain.compile`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `python -m onchain.compile`"
        )
    assert oc.stale_artifacts() == []


def test_artifact_format(fresh: dict[str, str]) -> None:
    for filename, text in fresh.items():
        data = json.loads(text)
        assert set(data) == {"contractName", "abi", "bytecode", "compiler", "evmVersion"}
        assert f"{data['contractName']}.json" == filename
        assert data["bytecode"].startswith("0x") and len(data["bytecode"]) > 2
        bytes.fromhex(data["bytecode"][2:])
        assert data["compiler"].startswith("solc-js 0.8.37+commit.")
        assert data["evmVersion"] == "shanghai"
        assert text.endswith("}\n")
        assert oc.load_artifact(data["contractName"]) == data


def test_compile_is_deterministic(fresh: dict[str, str]) -> None:
    assert oc.render_artifacts() == fresh


def test_no_mcopy_for_shanghai(fresh: dict[str, str]) -> None:
    """MCOPY (0x5e, Cancun) must not appear as an opcode: ganache 7.9.2 runs shanghai."""
    for text in fresh.values():
        code = bytes.fromhex(json.loads(text)["bytecode"][2:])
        i = 0
        while i < len(code):
            op = code[i]
            if op == 0xFE:  # INVALID: start of the metadata / data section
                break
            assert op != 0x5E, f"MCOPY at offset {i}"
            i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)


def test_stale_artifacts_detected(
    tmp_path: Path, fresh: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oc, "render_artifacts", lambda *_args, **_kw: dict(fresh))
    out = tmp_path / "artifacts"
    oc.write_artifacts(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(fresh)
    assert oc.stale_artifacts(out) == []
    (out / "Consortium.json").write_text("{}\n", encoding="utf-8")
    (out / "SessionManager.json").unlink()
    (out / "Gone.json").write_text(
        json.dumps({"contractName": "Gone", "compiler": "solc-js 0.8.37"}), encoding="utf-8"
    )
    (out / "notes.json").write_text("{}", encoding="utf-8")  # not ours: left alone
    problems = oc.stale_artifacts(out)
    assert len(problems) == 3
    assert any("Consortium.json" in p and "differs" in p for p in problems)
    assert any("SessionManager.json" in p and "missing" in p for p in problems)
    assert any("Gone.json" in p and "no such contract" in p for p in problems)
    oc.write_artifacts(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*fresh, "notes.json"])
    assert oc.stale_artifacts(out) == []


def test_compile_error_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n\ncontract Broken {\n"
        "    function f() external pure returns (uint256) { return x; }\n}\n",
        encoding="utf-8",
    )
    with pytest.raises(oc.CompileError, match=r"contracts/Broken\.sol:5:\d+: DeclarationError"):
        oc.compile_contracts(src)


def test_load_artifact_rejects_bad_names() -> None:
    with pytest.raises(ValueError):
        oc.load_artifact("../etc/passwd")
    with pytest.raises(FileNotFoundError, match="python -m onchain.compile"):
        oc.load_artifact("NoSuchContract")


def test_missing_solc_package_says_npm_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without node_modules/solc the error tells the user what to run."""
    repo = tmp_path / "repo"
    (repo / "onchain").mkdir(parents=True)
    wrapper = repo / "onchain" / "solc_wrapper.js"
    shutil.copy2(oc.WRAPPER, wrapper)
    monkeypatch.setattr(oc, "WRAPPER", wrapper)
    monkeypatch.setattr(oc, "REPO_ROOT", repo)
    with pytest.raises(oc.CompileError, match="run `npm ci`"):
        oc.compile_contracts()


def _upper_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


@pytest.fixture(scope="module")
def solidity_enums() -> dict[str, list[str]]:
    return oc.solidity_enums()


@pytest.mark.parametrize("enum", [State, AbortReason, AbortClaim], ids=lambda e: e.__name__)
def test_python_enums_match_solidity(
    solidity_enums: dict[str, list[str]], enum: type[IntEnum]
) -> None:
    """``onchain.clients`` mirrors the interface's enums member for member, in order."""
    solidity = solidity_enums[f"ISessionManager.{enum.__name__}"]
    assert [(m.name, m.value) for m in enum] == [
        (_upper_snake(name), i) for i, name in enumerate(solidity)
    ]


def test_abi_lists_inherited_and_shared_errors(fresh: dict[str, str]) -> None:
    """Errors and events declared in the interfaces and in utils/Errors.sol reach the ABI of
    the contract that uses them, so callers can decode every revert from one artifact."""
    abis = {name: json.loads(text)["abi"] for name, text in fresh.items()}
    shared = {"ZeroAddress", "UnknownOrg", "InvalidModulus", "EmptyField"}
    for filename, extra in (
        ("Consortium.json", {"NotAdmin", "ModulusAlreadyAllowed", "OrgRegistered"}),
        ("SessionManager.json", {"UnknownSession", "WrongState", "SessionAborted"}),
    ):
        names = {item.get("name") for item in abis[filename] if item["type"] in ("error", "event")}
        assert shared | extra <= names, (filename, sorted(shared | extra - names))


def test_sources_in_subfolders_compile(tmp_path: Path) -> None:
    """Imports between subfolders resolve also for a contracts dir outside the repository."""
    src = tmp_path / "contracts"
    (src / "utils").mkdir(parents=True)
    (src / "utils" / "E.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\nerror Nope(uint256 x);\n",
        encoding="utf-8",
    )
    (src / "C.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n"
        'import {Nope} from "./utils/E.sol";\n'
        "contract C { function f() external pure { revert Nope(1); } }\n",
        encoding="utf-8",
    )
    artifacts = oc.compile_contracts(src)
    assert {item["name"] for item in artifacts["C"]["abi"] if item["type"] == "error"} == {"Nope"}
