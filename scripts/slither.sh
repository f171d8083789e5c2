#!/usr/bin/env bash
# Static analysis of contracts/ with slither, offline.
#
#   scripts/slither.sh [extra slither options]
#
# slither-analyzer pins web3<8 and would downgrade the project's web3, so it lives in its own
# virtual environment, .venv-slither (gitignored; created on first use, from PyPI). It runs in
# hardhat mode: crytic-compile calls `npx hardhat clean` and `npx hardhat compile --force`, and
# hardhat.config.js hands hardhat the local solc-js, so no compiler is downloaded (slither's own
# `solc` shim would try to). Hardhat's and crytic-compile's per-user files go to
# .venv-slither/home instead of the home directory. Findings that are accepted carry a
# `// slither-disable-next-line DETECTOR` with the reason on the line above; the exit status is
# nonzero if slither reports anything else.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-slither"
SLITHER_VERSION="0.11.6"
PYTHON="${PYTHON:-python3}"

cd "$ROOT"
if [[ ! -x "$VENV/bin/slither" ]] || ! "$VENV/bin/slither" --version | grep -qx "$SLITHER_VERSION"; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "slither-analyzer==$SLITHER_VERSION"
fi
if [[ ! -d node_modules/hardhat ]]; then
    echo "scripts/slither.sh: node_modules/hardhat missing; run \`npm ci\` first" >&2
    exit 2
fi

export XDG_CACHE_HOME="$VENV/home/cache" XDG_CONFIG_HOME="$VENV/home/config"
export XDG_DATA_HOME="$VENV/home/data"
mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

exec "$VENV/bin/slither" . \
    --compile-force-framework hardhat \
    --hardhat-artifacts-directory artifacts-hardhat \
    --hardhat-cache-directory cache \
    --filter-paths node_modules \
    "$@"
