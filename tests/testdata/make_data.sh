#!/usr/bin/env bash
# Rebuild the test crops from the shared sample imagery (see README.md here).
# Usage: bash tests/testdata/make_data.sh [path/to/shared/data]
set -euo pipefail
src=${1:-"$(dirname "$0")/../../../shared/data"}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
co=(-co TILED=YES -co COMPRESS=DEFLATE -co PREDICTOR=2)
# Landsat 8 B4, B3, B2 (red, green, blue): the file stores B2, B3, B4, hence -b 3 -b 2 -b 1.
# 203 x 157 pixels crossing the scene's fill border (0, untagged).
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 1050 250 203 157 "${co[@]}" \
  "$src/landsat8_224078_20200518_b234_30m.tif" "$here/landsat8_rgb_crop.tif"
# 4-band 5 m RGBN, byte, 121 x 95 pixels.
gdal_translate -q -srcwin 200 150 121 95 "${co[@]}" "$src/rgbn_5m.tif" "$here/rgbn_5m_crop.tif"
# The demo scene: 512 x 512 Landsat pixels from the part held out of training (rows >= 1300).
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 700 1348 512 512 "${co[@]}" \
  "$src/landsat8_224078_20200518_b234_30m.tif" "$top/examples/landsat8_rgb_512.tif"
for f in "$here/landsat8_rgb_crop.tif" "$top/examples/landsat8_rgb_512.tif"; do
  python3 - "$f" <<'PY'
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1], gdal.GA_Update)
for i, name in enumerate(("B4 red", "B3 green", "B2 blue")):
    ds.GetRasterBand(i + 1).SetDescription(name)
ds = None
PY
done
python3 - "$here/rgbn_5m_crop.tif" <<'PY'
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1], gdal.GA_Update)
for i, name in enumerate(("red", "green", "blue", "nir")):
    ds.GetRasterBand(i + 1).SetDescription(name)
ds = None
PY
rm -f "$here"/*.aux.xml "$top"/examples/*.aux.xml
# Sentinel-2 L1C at its three native resolutions, one area from the same corner (col 600, row 702 of the
# 10 m file): 127 x 99 pixels at 10 m (B2 B3 B4 B8), 64 x 50 at 20 m (B5 B6 B7 B8A B11 B12), 22 x 17 at 60 m
# (B1 B9 B10); the coarse crops cover the 10 m one (odd sizes: their last pixels reach past it).
s2=S2A_L1C_T18SVG_20160112
gdal_translate -q -srcwin 600 702 127 99 "${co[@]}" "$src/${s2}_10m_B2B3B4B8.tif" "$here/s2_10m_crop.tif"
gdal_translate -q -srcwin 300 351 64 50 "${co[@]}" "$src/${s2}_20m_B5B6B7B8AB11B12.tif" "$here/s2_20m_crop.tif"
gdal_translate -q -srcwin 100 117 22 17 "${co[@]}" "$src/${s2}_60m_B1B9B10.tif" "$here/s2_60m_crop.tif"
rm -f "$here"/*.aux.xml
# Held-out Sentinel-2 area for the bundled fusion models (rows >= 1152 of the 10 m file were kept out of their
# training): 360 x 288 pixels at 10 m from col 0, row 1152; the same ground at 20 m and 60 m (B1 B9 only).
gdal_translate -q -srcwin 0 1152 360 288 "${co[@]}" "$src/${s2}_10m_B2B3B4B8.tif" "$here/s2_heldout_10m.tif"
gdal_translate -q -srcwin 0 576 180 144 "${co[@]}" "$src/${s2}_20m_B5B6B7B8AB11B12.tif" "$here/s2_heldout_20m.tif"
gdal_translate -q -b 1 -b 2 -srcwin 0 192 60 48 "${co[@]}" "$src/${s2}_60m_B1B9B10.tif" "$here/s2_heldout_60m.tif"
rm -f "$here"/*.aux.xml
