#!/usr/bin/env bash
# Set everything up (see setup.sh), then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${SR4RS_VENV:-.venv}/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
