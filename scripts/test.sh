#!/usr/bin/env bash
# The whole test suite, on a fresh machine with Python 3.11+ and Node 20:
# installs the Python and npm packages, lints, runs slither on the contracts (its own
# virtualenv, scripts/slither.sh), runs pytest (which starts and stops the
# ganache node its integration tests need), then the mutation check: every security check
# removed in turn must make its tests fail (scripts/mutation_check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python || command -v python3)}"

"$PY" -m pip install --quiet --disable-pip-version-check -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error

"$PY" -m ruff check .
"$PY" -m ruff format --check offchain onchain chainmpc scripts
"$PY" -m onchain.compile --check
PYTHON="$PY" ./scripts/slither.sh 2>&1 | grep -v "^WARNING: Location"  # static analysis: no unexplained finding

set +e
"$PY" -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
if [ "$rc" -ne 0 ] || [ -n "${CHAINMPC_SKIP_MUTATIONS:-}" ]; then
  exit "$rc"
fi
"$PY" scripts/mutation_check.py --after-suite
