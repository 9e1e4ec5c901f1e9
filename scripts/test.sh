#!/usr/bin/env bash
# Set everything up (see setup.sh and setup_integrations.sh), then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${SR4RS_VENV:-.venv}
# The DEEPaaS service's tests run the real deepaas-run: its pinned set goes into the same venv (it keeps
# TensorFlow's requirements: pip check below says so), installed again only when the pins change.
stamp="$VENV/.sr4rs-deepaas"
want="$(sha1sum requirements-deepaas.txt | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-deepaas.txt
  "$VENV/bin/python" -m pip check
  echo "$want" > "$stamp"
fi
# sr4rs.xarray and the STAC tests: xarray, rioxarray, odc-stac, stac-valid (requirements-stac.txt), when the pins change.
stamp="$VENV/.sr4rs-stac"
want="$(sha1sum requirements-stac.txt | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-stac.txt
  echo "$want" > "$stamp"
fi
# The optional runtimes (ONNX Runtime, tf2onnx, OpenVINO) are tested too: their pinned set, installed again only when
# the pins change.
stamp="$VENV/.sr4rs-runtimes"
want="$(sha1sum requirements-runtimes.txt | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-runtimes.txt
  "$VENV/bin/python" -m pip check
  echo "$want" > "$stamp"
fi
bash scripts/setup_integrations.sh  # OTB, QGIS, TensorFlow 2.14 for tests/integrations (SR4RS_INTEGRATIONS=0: none)
# Two test processes (pytest-xdist), a test file staying in one (its module fixtures made once): SR4RS_TEST_PROCESSES=0
# runs them in this one.
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider -n "${SR4RS_TEST_PROCESSES:-2}" --dist loadfile tests "$@"
