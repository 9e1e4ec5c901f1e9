#!/usr/bin/env bash
# How the bundled models robust to the blur of their input were trained (PRETRAINED_MODELS.md). Each LR patch
# is made anew at every use from its HR patch (--degradation random: Gaussian blur of sigma drawn in
# [0, 0.5 x 4] HR pixels, then 4 x 4 block averaging); each model is then scored on held-out rows at four blurs.
# - s2-rgbn-x4: Sentinel-2 B4 B3 B2 B8 (reflectance x 10000) of the shared L1C product, 10 m rows 0-1151 for
#   training, rows 1152-1535 held out; trained from scratch (about 30 minutes on 2 cores).
# - landsat-rgb-x4: the shared Landsat 8 scene, rows 0-1299 for training, 1300-1859 held out; the model trained
#   on Wald's fixed blur (scripts/train_default_model.sh, about 12 minutes) fine-tuned (about 20 minutes).
# Usage: bash scripts/train_robust_models.sh [shared/data] [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
work=${2:-out/robust}
PY=${SR4RS_VENV:-.venv}/bin
mkdir -p "$work"
s2="$data/S2A_L1C_T18SVG_20160112_10m_B2B3B4B8.tif"
gdal_translate -q -b 3 -b 2 -b 1 -b 4 -srcwin 0 0 1536 1152 "$s2" "$work/s2_train.tif"
gdal_translate -q -b 3 -b 2 -b 1 -b 4 -srcwin 0 1152 1536 384 "$s2" "$work/s2_heldout.tif"
"$PY/python" - "$work" <<'PY'
import sys
from osgeo import gdal
for name in ("s2_train", "s2_heldout"):
    ds = gdal.Open(f"{sys.argv[1]}/{name}.tif", gdal.GA_Update)
    for i, band in enumerate(("B4", "B3", "B2", "B8"), 1):
        ds.GetRasterBand(i).SetDescription(band)
    ds = None
PY
"$PY/sr4rs" extract --hr "$work/s2_train.tif" --factor 4 --patch-size 24 --step 8 --val-fraction 0.08 --seed 0 \
  --out-lr "$work/s2_lr.tif" --out-hr "$work/s2_hr.tif" --overwrite --no-progress
"$PY/python" train.py --lr_patches "$work/s2_lr_train.tif" --hr_patches "$work/s2_hr_train.tif" \
  --valid_lr_patches "$work/s2_lr_val.tif" --valid_hr_patches "$work/s2_hr_val.tif" \
  --arch edsr --depth 32 --nresblocks 8 --epochs 80 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 \
  --vggweight 0 --adam_lr 0.001 --adam_b1 0.9 --lr_schedule onecycle --degradation random --blur_max 0.5 \
  --ema 0.999 --samweight 0.5 --augment --seed 1 --nodata 0 --bands B4 B3 B2 B8 \
  --description "Sentinel-2 B4 B3 B2 B8, x4, robust to blur" --ckpt_folder --overwrite --no-progress \
  --save_ckpt "$work/s2rgbn/ckpt" --logdir "$work/s2rgbn/logs" --savedmodel "$work/s2rgbn/model"
"$PY/sr4rs" evaluate --savedmodel "$work/s2rgbn/model" --hr "$work/s2_heldout.tif" --degradation 0,0.25,0.333,0.5 \
  --nodata 0 --out "$work/eval_s2rgbn" --overwrite --no-progress

# landsat-rgb-x4: Wald's fixed-blur model first, then fine-tuned with a blur drawn per patch.
bash scripts/train_default_model.sh "$data" "$work/landsat_wald"
ls="$work/landsat_wald"
"$PY/sr4rs" extract --hr "$ls/train_region.tif" --factor 4 --patch-size 24 --step 8 --val-fraction 0.08 --seed 0 \
  --nodata 0 --out-lr "$work/ls_lr.tif" --out-hr "$work/ls_hr.tif" --overwrite --no-progress
"$PY/python" train.py --lr_patches "$work/ls_lr_train.tif" --hr_patches "$work/ls_hr_train.tif" \
  --valid_lr_patches "$work/ls_lr_val.tif" --valid_hr_patches "$work/ls_hr_val.tif" \
  --load_ckpt "$ls/savedmodel" --finetune \
  --arch edsr --depth 32 --nresblocks 8 --epochs 80 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 \
  --vggweight 0 --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle --degradation random --blur_max 0.5 \
  --ema 0.999 --samweight 0.5 --augment --seed 1 --nodata 0 --bands "B4 red" "B3 green" "B2 blue" \
  --description "Landsat 8/9 B4 B3 B2, x4, robust to blur" --ckpt_folder --overwrite --no-progress \
  --save_ckpt "$work/lsft/ckpt" --logdir "$work/lsft/logs" --savedmodel "$work/lsft/model"
"$PY/sr4rs" evaluate --savedmodel "$work/lsft/model" --hr "$ls/heldout_region.tif" --degradation 0,0.25,0.333,0.5 \
  --nodata 0 --out "$work/eval_landsat" --overwrite --no-progress
