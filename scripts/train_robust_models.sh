#!/usr/bin/env bash
# How the bundled models robust to the blur of their input were trained (PRETRAINED_MODELS.md). Each LR patch
# is made anew at every use from its HR patch (--degradation random: Gaussian blur of sigma drawn in
# [0, 0.5 x 4] HR pixels, then 4 x 4 block averaging); each model is then scored on held-out rows at four blurs.
# - s2-rgbn-x4: Sentinel-2 B4 B3 B2 B8 (reflectance x 10000) of the shared L1C product, 10 m rows 0-1151 for
#   training, rows 1152-1535 held out; trained from scratch, then further runs from its weights (a fresh
#   one-cycle schedule each, the moving average started from the weights loaded).
# - landsat-rgb-x4: the shared Landsat 8 scene, rows 0-1299 for training, 1300-1859 held out; the model trained
#   on Wald's fixed blur (scripts/train_default_model.sh, about 12 minutes), then runs from its weights as above.
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
robust=(--arch edsr --depth 32 --nresblocks 8 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 --vggweight 0
        --adam_b1 0.9 --lr_schedule onecycle --degradation random --blur_max 0.5 --ema 0.999 --samweight 0.5
        --augment --nodata 0 --ckpt_folder --overwrite --no-progress)
run() {  # run SET RUN FLAGS...: train on the SET (s2 or ls) patches with a blur drawn per patch; RUN/model
  local set=$1 name=$2; shift 2
  "$PY/python" train.py --lr_patches "$work/${set}_lr_train.tif" --hr_patches "$work/${set}_hr_train.tif" \
    --valid_lr_patches "$work/${set}_lr_val.tif" --valid_hr_patches "$work/${set}_hr_val.tif" "${robust[@]}" \
    --save_ckpt "$work/$name/ckpt" --logdir "$work/$name/logs" --savedmodel "$work/$name/model" "$@"
}
scores() {  # scores RUN HR OUT: the model scored on held-out rows at four blurs
  "$PY/sr4rs" evaluate --savedmodel "$work/$1/model" --hr "$2" --degradation 0,0.25,0.333,0.5 --nodata 0 \
    --out "$work/$3" --overwrite --no-progress
}
s2=(--bands B4 B3 B2 B8 --description "Sentinel-2 B4 B3 B2 B8, x4, robust to blur")
run s2 s2rgbn "${s2[@]}" --epochs 80 --adam_lr 0.001 --seed 1
run s2 s2ft "${s2[@]}" --epochs 120 --adam_lr 0.0005 --seed 2 --load_ckpt "$work/s2rgbn/model" --finetune
run s2 s2ft3 "${s2[@]}" --epochs 80 --adam_lr 0.0005 --seed 3 --load_ckpt "$work/s2ft/model" --finetune
scores s2ft3 "$work/s2_heldout.tif" eval_s2rgbn

# landsat-rgb-x4: Wald's fixed-blur model first, then runs from its weights with a blur drawn per patch.
bash scripts/train_default_model.sh "$data" "$work/landsat_wald"
ls="$work/landsat_wald"
"$PY/sr4rs" extract --hr "$ls/train_region.tif" --factor 4 --patch-size 24 --step 8 --val-fraction 0.08 --seed 0 \
  --nodata 0 --out-lr "$work/ls_lr.tif" --out-hr "$work/ls_hr.tif" --overwrite --no-progress
landsat=(--bands "B4 red" "B3 green" "B2 blue" --description "Landsat 8/9 B4 B3 B2, x4, robust to blur" --adam_lr 0.0005)
run ls lsft "${landsat[@]}" --epochs 80 --seed 1 --load_ckpt "$ls/savedmodel" --finetune
run ls lsft2 "${landsat[@]}" --epochs 120 --seed 2 --load_ckpt "$work/lsft/model" --finetune
scores lsft2 "$ls/heldout_region.tif" eval_landsat
