"""Compile the Solidity contracts and manage their committed artifacts.

The contracts in ``contracts/`` are compiled with solc-js (the npm package ``solc``, pinned in
``package.json``) through ``onchain/solc_wrapper.js``, a ``solc`` command-line stand-in that
py-solc-x drives as ``solc_binary``. Native solc binaries cannot be downloaded here, and the
wrapper needs only ``node`` and ``npm ci``.

The ABI and bytecode of every deployable contract are committed under ``onchain/artifacts/``
so that deploying and talking to the contracts (``load_artifact``) needs neither node nor a
compiler. Output is deterministic; ``--check`` verifies the committed files are fresh::

    python -m onchain.compile            # (re)write onchain/artifacts/*.json
    python -m onchain.compile --check    # exit 1 if any committed artifact is stale
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from onchain.exceptions import CompileError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
WRAPPER = PACKAGE_DIR / "solc_wrapper.js"

EVM_VERSION = "shanghai"
OPTIMIZER_RUNS = 200

_VERSION_RE = re.compile(r"Version:\s*(\S+)")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_toolchain() -> str:
    """Check node, the npm ``solc`` package and the wrapper; return solc's long version."""
    if shutil.which("node") is None:
        raise CompileError(
            "`node` is not on PATH: install Node.js (>= 18) and run `npm ci` in the repo root"
        )
    if not WRAPPER.is_file():
        raise CompileError(f"solc wrapper not found: {WRAPPER}")
    if not os.access(WRAPPER, os.X_OK):
        raise CompileError(f"solc wrapper is not executable: run `chmod +x {WRAPPER}`")
    try:
        proc = subprocess.run(
            [str(WRAPPER), "--version"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"cannot run the solc wrapper {WRAPPER}: {exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip()
        if "cannot find the npm package 'solc'" in detail:
            raise CompileError(
                f"node_modules/solc is missing: run `npm ci` in {REPO_ROOT} ({detail})"
            )
        raise CompileError(f"solc wrapper failed (exit {proc.returncode}): {detail}")
    match = _VERSION_RE.search(proc.stdout)
    if match is None:
        raise CompileError(f"cannot parse the solc version from: {proc.stdout!r}")
    return match.group(1)


def _source_files(contracts_dir: Path) -> list[Path]:
    # Interfaces and shared errors live in subfolders; every unit is passed with its content
    # because solc-js reads no files itself (see solc_wrapper.js).
    files = sorted(contracts_dir.rglob("*.sol"))
    if not files:
        raise CompileError(f"no Solidity sources in {contracts_dir}")
    return files


def _source_key(path: Path, contracts_dir: Path) -> str:
    """The source unit name: the path relative to the repo root, POSIX style.

    Outside the repo it is ``contracts/`` plus the path below ``contracts_dir``, so that the
    relative imports between subfolders resolve to the same unit names either way.
    """
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return "contracts/" + path.resolve().relative_to(contracts_dir.resolve()).as_posix()


def standard_json_input(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Any]:
    """The solc standard-JSON input compiling every ``*.sol`` file in ``contracts_dir`` and
    its subfolders."""
    sources = {
        _source_key(path, contracts_dir): {"content": path.read_text(encoding="utf-8")}
        for path in _source_files(contracts_dir)
    }
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def _line_col(content: str, offset: int) -> tuple[int, int]:
    prefix = content.encode("utf-8")[: max(offset, 0)].decode("utf-8", errors="ignore")
    line = prefix.count("\n") + 1
    col = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return line, col


def _format_errors(errors: list[dict[str, Any]], sources: dict[str, dict[str, str]]) -> str:
    lines = []
    for err in errors:
        if err.get("severity") != "error":
            continue
        where = "<unknown location>"
        loc = err.get("sourceLocation") or {}
        file = loc.get("file")
        if file:
            where = file
            content = sources.get(file, {}).get("content")
            if content is not None and isinstance(loc.get("start"), int):
                line, col = _line_col(content, loc["start"])
                where = f"{file}:{line}:{col}"
        kind = err.get("type", "Error")
        lines.append(f"{where}: {kind}: {err.get('message', '').strip()}")
    return "\n".join(lines) or "solc reported errors without details"


def _run_solc(input_data: dict[str, Any], contracts_dir: Path) -> dict[str, Any]:
    """solc's standard-JSON output for ``input_data``; ``CompileError`` if solc reports errors."""
    # py-solc-x keeps its state under ~/.solcx unless told otherwise; keep the home dir clean.
    if not os.environ.get("SOLCX_BINARY_PATH"):
        solcx_dir = Path(tempfile.gettempdir()) / "chainmpc-solcx"
        solcx_dir.mkdir(exist_ok=True)
        os.environ["SOLCX_BINARY_PATH"] = str(solcx_dir)
    import solcx  # imported late: it reads SOLCX_BINARY_PATH
    from solcx.exceptions import SolcError

    try:
        output: dict[str, Any] = solcx.compile_standard(
            input_data,
            solc_binary=WRAPPER,
            allow_paths=[str(contracts_dir.resolve())],
        )
    except SolcError as exc:
        error_dict = getattr(exc, "error_dict", None)
        if error_dict:
            raise CompileError(
                "solc reported errors:\n" + _format_errors(error_dict, input_data["sources"])
            ) from exc
        raise CompileError(f"solc failed: {exc}") from exc
    return output


def solidity_enums(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, list[str]]:
    """Every enum of the contracts, from the compiled AST: ``{"Scope.Name": [member, ...]}``.

    The Python mirrors of the enums (``onchain.clients``) are checked against this, so that
    they cannot drift from the Solidity declarations.
    """
    _check_toolchain()
    input_data = standard_json_input(contracts_dir)
    input_data["settings"]["outputSelection"] = {"*": {"": ["ast"]}}
    output = _run_solc(input_data, contracts_dir)
    enums: dict[str, list[str]] = {}
    for source in output.get("sources", {}).values():
        for node in source["ast"]["nodes"]:
            for child in [node, *node.get("nodes", [])]:
                if child.get("nodeType") != "EnumDefinition":
                    continue
                scope = node["name"] if child is not node else ""
                key = f"{scope}.{child['name']}" if scope else child["name"]
                enums[key] = [m["name"] for m in child["members"]]
    return enums


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, Any]]:
    """Compile every contract in ``contracts_dir``.

    Returns a mapping from contract name to its artifact: ``contractName``, ``abi``,
    ``bytecode`` (0x-hex, ``"0x"`` for interfaces and abstract contracts), ``compiler`` and
    ``evmVersion``. Raises ``CompileError`` if the toolchain is missing or solc reports errors.
    """
    long_version = _check_toolchain()
    output = _run_solc(standard_json_input(contracts_dir), contracts_dir)

    artifacts: dict[str, dict[str, Any]] = {}
    for source in sorted(output.get("contracts", {})):
        if not source.startswith("contracts/"):
            continue  # an imported package's unit (OpenZeppelin): compiled in, not deployed
        for name, data in sorted(output["contracts"][source].items()):
            if name in artifacts:
                raise CompileError(f"contract name {name!r} is defined more than once ({source})")
            artifacts[name] = {
                "contractName": name,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "compiler": f"solc-js {long_version}",
                "evmVersion": EVM_VERSION,
            }
    if not artifacts:
        raise CompileError(f"solc produced no contracts from {contracts_dir}")
    return artifacts


def render_artifacts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """Compile and render the artifact files: ``{"<ContractName>.json": text}``.

    Only deployable contracts (nonempty bytecode) get an artifact.
    """
    return {
        f"{name}.json": json.dumps(artifact, sort_keys=True, indent=2) + "\n"
        for name, artifact in compile_contracts(contracts_dir).items()
        if artifact["bytecode"] != "0x"
    }


def _is_our_artifact(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and "contractName" in data
        and str(data.get("compiler", "")).startswith("solc-js ")
    )


def write_artifacts(
    out_dir: Path = ARTIFACTS_DIR, contracts_dir: Path = CONTRACTS_DIR
) -> list[Path]:
    """Compile and write one ``<ContractName>.json`` per deployable contract into ``out_dir``.

    Artifacts of contracts that no longer exist are removed. Returns the written paths.
    """
    rendered = render_artifacts(contracts_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in sorted(out_dir.glob("*.json")):
        if old.name not in rendered and _is_our_artifact(old):
            old.unlink()
    written = []
    for filename, text in sorted(rendered.items()):
        path = out_dir / filename
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale_artifacts(
    out_dir: Path = ARTIFACTS_DIR, contracts_dir: Path = CONTRACTS_DIR
) -> list[str]:
    """Describe every artifact in ``out_dir`` that differs from a fresh compile (empty: fresh)."""
    rendered = render_artifacts(contracts_dir)
    problems = []
    for filename, text in sorted(rendered.items()):
        path = out_dir / filename
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from a fresh compile")
    for path in sorted(out_dir.glob("*.json")):
        if path.name not in rendered and _is_our_artifact(path):
            problems.append(f"{path}: no such contract any more")
    return problems


def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """Load the committed artifact of contract ``name`` (no compiler or node needed)."""
    if not _NAME_RE.match(name):
        raise ValueError(f"not a contract name: {name!r}")
    path = artifacts_dir / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no artifact for contract {name!r} at {path}: run `python -m onchain.compile`"
        ) from None
    artifact: dict[str, Any] = json.loads(text)
    return artifact


def main(argv: list[str] | None = None) -> int:
    """Command line: write the artifacts, or with ``--check`` verify they are fresh."""
    parser = argparse.ArgumentParser(
        prog="python -m onchain.compile",
        description="Compile contracts/**/*.sol and write onchain/artifacts/*.json.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed artifacts differ from a fresh compile",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale_artifacts()
            if problems:
                print("stale artifacts (run `python -m onchain.compile`):", file=sys.stderr)
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            print(f"artifacts in {ARTIFACTS_DIR} are up to date")
            return 0
        for path in write_artifacts():
            print(f"wrote {path}")
        return 0
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
