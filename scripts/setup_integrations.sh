#!/usr/bin/env bash
# Install what the integration tests run against (scripts/test.sh calls this; scripts/setup.sh stays lean):
#   - Debian's otb-bin (Orfeo ToolBox 8.1 command-line applications),
#   - Debian's qgis and python3-qgis (QGIS 3.22: qgis_process.bin and QGIS's Python),
#   - a Python 3.11 virtual environment with tensorflow-cpu==2.14.1, the TensorFlow of OTBTF 4.x
#     (in $SR4RS_TEST_CACHE, default ~/.cache/sr4rs, kept between runs).
# Only what is missing is installed: a second run takes a second. SR4RS_INTEGRATIONS=0 skips all of it (the
# integration tests then skip, or fail in CI). Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SR4RS_INTEGRATIONS:-1}" = 0 ] && { echo "setup_integrations: skipped (SR4RS_INTEGRATIONS=0)"; exit 0; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
CACHE=${SR4RS_TEST_CACHE:-$HOME/.cache/sr4rs}
TF214=$CACHE/venv-tf2.14
start=$SECONDS

apt_install() {
  echo "setup_integrations: installing $*"
  [ -n "${APT_UPDATED:-}" ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive nice -n 10 $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v otbcli_ConcatenateImages >/dev/null 2>&1 || missing+=(otb-bin)
command -v qgis_process.bin >/dev/null 2>&1 || missing+=(qgis)
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || missing+=(python3-qgis)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# TensorFlow 2.14.1 wheels exist for Python 3.9 to 3.11 only.
stamp=$TF214/.sr4rs-tensorflow  # written once TensorFlow imported: later runs skip the slow import
if [ ! -x "$TF214/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "tensorflow-cpu==2.14.1" ]; then
  py=""
  for candidate in python3.11 /usr/bin/python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import ensurepip, venv" >/dev/null 2>&1; then
      py=$candidate; break
    fi
  done
  if [ -z "$py" ]; then
    apt_install python3.11 python3.11-venv
    py=/usr/bin/python3.11
  fi
  echo "setup_integrations: making $TF214 (tensorflow-cpu==2.14.1 on $("$py" --version 2>&1))"
  rm -rf "$TF214"
  "$py" -m venv "$TF214"
  nice -n 10 "$TF214/bin/python" -m pip -q --disable-pip-version-check install "tensorflow-cpu==2.14.1" 2>&1 \
    | grep -v "^WARNING: Location" || true
  "$TF214/bin/python" -c "import tensorflow as tf; assert tf.__version__ == '2.14.1'" 2>/dev/null \
    || { echo "setup_integrations: error: tensorflow-cpu==2.14.1 did not install in $TF214" >&2; exit 1; }
  echo "tensorflow-cpu==2.14.1" > "$stamp"
fi
echo "setup_integrations: ready in $((SECONDS - start)) s (otb-bin $(dpkg-query -W -f='${Version}' otb-bin)," \
     "qgis $(dpkg-query -W -f='${Version}' qgis), TensorFlow 2.14.1 in $TF214)"
