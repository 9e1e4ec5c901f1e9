#!/usr/bin/env bash
# Set everything up (see setup.sh), then super-resolve the bundled sample scene
# (512 x 512 Landsat 8 pixels, bands B4 B3 B2, 30 m) with the default model:
# writes out/landsat8_rgb_512_x4.tif (7.5 m) and a PNG quicklook of it and of the input.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
"${SR4RS_VENV:-.venv}/bin/sr4rs" apply --input examples/landsat8_rgb_512.tif \
  --output out/landsat8_rgb_512_x4.tif --quicklook out/landsat8_rgb_512_x4.png --overwrite "$@"
"${SR4RS_VENV:-.venv}/bin/python" -c "from sr4rs.api import write_quicklook; write_quicklook('examples/landsat8_rgb_512.tif', 'out/landsat8_rgb_512.png')"
echo "demo: see out/landsat8_rgb_512.png (input) and out/landsat8_rgb_512_x4.png (x4)"
