#!/usr/bin/env bash
# Set everything up (see setup.sh and setup_integrations.sh), then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_integrations.sh  # OTB, QGIS, TensorFlow 2.14 for tests/integrations (SR4RS_INTEGRATIONS=0: none)
exec "${SR4RS_VENV:-.venv}/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
