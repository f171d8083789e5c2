#!/usr/bin/env bash
# The whole test suite, on a fresh machine with Python 3.11+ and Node 20:
# installs the Python and npm packages, lints, and runs pytest (which starts and stops the
# ganache node its integration tests need).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error

ruff check .
ruff format --check offchain onchain chainmpc
python -m onchain.compile --check

set +e
python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
