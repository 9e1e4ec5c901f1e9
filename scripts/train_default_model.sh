#!/usr/bin/env bash
# A Landsat x4 model trained on Wald's fixed blur alone (the bundled landsat-rgb-x4 of the first releases; today's
# is trained on more scenes by scripts/train_landsat_models.sh): the shared Landsat 8 scene (B4 B3 B2, 30 m), rows
# 0-1299 for training, rows 1300-1859 held out for validation and evaluation. Usage: bash scripts/train_default_model.sh [shared/data] [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-../shared/data}/landsat8_224078_20200518_b234_30m.tif
work=${2:-out/default_model}
PY=${SR4RS_VENV:-.venv}/bin
mkdir -p "$work"
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 0 0 2041 1300 "$src" "$work/train_region.tif"
gdal_translate -q -b 3 -b 2 -b 1 -srcwin 0 1300 2041 560 "$src" "$work/heldout_region.tif"
"$PY/sr4rs" extract --hr "$work/train_region.tif" --factor 4 --patch-size 24 --step 12 --nodata 0 \
  --out-lr "$work/lr.tif" --out-hr "$work/hr.tif" --val-fraction 0.1 --seed 0 --overwrite --no-progress
"$PY/python" train.py --lr_patches "$work/lr_train.tif" --hr_patches "$work/hr_train.tif" \
  --valid_lr_patches "$work/lr_val.tif" --valid_hr_patches "$work/hr_val.tif" \
  --arch edsr --depth 32 --nresblocks 8 --epochs "${EPOCHS:-100}" --batchsize 16 \
  --l1weight 1 --l2weight 0 --ganweight 0 --adam_lr 0.001 --adam_b1 0.9 --augment --seed 42 \
  --bands "B4 red" "B3 green" "B2 blue" --nodata 0 \
  --description "x4 RGB (Sentinel-2 B4 B3 B2 / Landsat 8 B4 B3 B2), 16-bit DN, EDSR-style, L1, Wald's protocol on Landsat 8" \
  --save_ckpt "$work/ckpt" --logdir "$work/logs" --ckpt_folder --savedmodel "$work/savedmodel" --overwrite --no-progress
