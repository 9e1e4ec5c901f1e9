#!/usr/bin/env bash
# Set up sr4rs on a Debian/Ubuntu machine: system GDAL, a virtual environment
# (.venv, or $SR4RS_VENV) and the Python packages. Safe to run again: it only
# installs what is missing. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SR4RS_VENV:-.venv}
PYTHON=${PYTHON:-python3}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# The pinned numpy, scipy and scikit-image need Python 3.11 or newer (Debian 12, Ubuntu 24.04 have it);
# on older systems a newer python3.X is used if there is one, else installed from the distribution.
py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
have_venv=false
if [ -x "$VENV/bin/python" ]; then
  if ! py_ok "$VENV/bin/python"; then
    echo "setup: error: $VENV has $("$VENV/bin/python" --version 2>&1), sr4rs needs 3.11 or newer:" \
         "remove it (rm -rf $VENV) and run again" >&2
    exit 1
  fi
  have_venv=true  # made by an earlier run: its Python is the one used
elif command -v "$PYTHON" >/dev/null 2>&1 && ! py_ok "$PYTHON"; then
  old=$PYTHON; PYTHON=python3.11  # installed below unless a newer one is already there
  for candidate in python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && py_ok "$candidate"; then PYTHON=$candidate; break; fi
  done
  echo "setup: $old is older than Python 3.11: using $PYTHON"
fi
case "$(basename "$PYTHON")" in python3.[0-9]*) pkg=$(basename "$PYTHON") ;; *) pkg=python3 ;; esac  # Debian names

missing=()
command -v gdal-config >/dev/null 2>&1 || missing+=(libgdal-dev)
command -v gdalinfo >/dev/null 2>&1 || missing+=(gdal-bin)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
if $have_venv; then
  :
elif ! command -v "$PYTHON" >/dev/null 2>&1; then
  missing+=("$pkg" "$pkg-venv" "$pkg-dev")
else
  "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=("$pkg-venv")
  "$PYTHON" -c "import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
    || missing+=("$pkg-dev")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "setup: error: could not install ${missing[*]}: install them (Python 3.11 or newer with venv and" \
              "headers; on Ubuntu 22.04 e.g. from the deadsnakes archive), then run again" >&2; exit 1; }
fi
if ! $have_venv && ! py_ok "$PYTHON"; then
  echo "setup: error: sr4rs needs Python 3.11 or newer, $PYTHON is $("$PYTHON" --version 2>&1):" \
       "install one and run again with PYTHON=python3.11 (or newer)" >&2
  exit 1
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip -q --disable-pip-version-check)
stamp="$VENV/.sr4rs-setup"
want="$(cat setup.py requirements.txt 2>/dev/null | sha1sum | cut -c1-16) $(gdal-config --version)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "${PIP[@]}" install --upgrade pip setuptools wheel numpy
  # GDAL's bindings must match the system library and build against the venv's numpy,
  # otherwise osgeo.gdal_array is silently left out.
  gdal_ok() { "$VENV/bin/python" -c "from osgeo import gdal_array, gdal; import sys; sys.exit(gdal.__version__ != '$(gdal-config --version)')" 2>/dev/null; }
  if ! gdal_ok; then
    # Debian's python3-numpy (pulled in by QGIS, OTB...) puts its older headers in Python's include folder:
    # the venv's numpy headers go first, or gdal_array is built for the wrong numpy and fails to import.
    numpy_include=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
    CPPFLAGS="-I$numpy_include ${CPPFLAGS:-}" "${PIP[@]}" install --no-build-isolation --force-reinstall --no-deps \
      "GDAL==$(gdal-config --version)"
    gdal_ok || { echo "setup: error: GDAL's Python bindings were built but do not import: see the messages of" \
                      "'$VENV/bin/python -c \"from osgeo import gdal_array\"'" >&2; exit 1; }
  fi
  req=requirements.txt
  if command -v nvidia-smi >/dev/null 2>&1 && [ -z "${SR4RS_CPU_ONLY:-}" ]; then
    req="$VENV/requirements-gpu.txt"  # same pins, TensorFlow's GPU build
    sed 's/^tensorflow==/tensorflow[and-cuda]==/' requirements.txt > "$req"
  fi
  "${PIP[@]}" install -r "$req"
  # setuptools warns at length about the model folders it ships as package data: keep the log for failures.
  if ! "${PIP[@]}" install --no-deps --no-build-isolation -e . > "$VENV/sr4rs-install.log" 2>&1; then
    cat "$VENV/sr4rs-install.log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
echo "setup: ready ($("$VENV/bin/python" -c 'import sr4rs, tensorflow as t; from osgeo import gdal; print("sr4rs", sr4rs.__version__, "| TensorFlow", t.__version__, "| GDAL", gdal.__version__)' 2>/dev/null))"
