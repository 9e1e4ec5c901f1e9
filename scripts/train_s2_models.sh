#!/usr/bin/env bash
# How the bundled Sentinel-2 fusion models (sr4rs/model/bundled/s2-20m-x2, s2-60m-x6) were trained: Wald's
# protocol on the shared Sentinel-2 L1C product (tile 18SVG, 2016-01-12) at its three native resolutions, rows
# 0-1151 of the 10 m grid (and the same ground at 20 m and 60 m) for training, rows 1152-1535 held out for
# evaluation. Usage: bash scripts/train_s2_models.sh [shared/data] [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
work=${2:-out/s2_models}
s2="$data/S2A_L1C_T18SVG_20160112"
PY=${SR4RS_VENV:-.venv}/bin
mkdir -p "$work/run_x2" "$work/run_x6"
crop() {  # crop NAME 10M-ROW 10M-ROWS: the same ground at 10, 20 and 60 m (B1 and B9 only: B10 is not fused)
  gdal_translate -q -srcwin 0 "$2" 1536 "$3" "${s2}_10m_B2B3B4B8.tif" "$work/$1_10m.tif"
  gdal_translate -q -srcwin 0 $(($2 / 2)) 768 $(($3 / 2)) "${s2}_20m_B5B6B7B8AB11B12.tif" "$work/$1_20m.tif"
  gdal_translate -q -b 1 -b 2 -srcwin 0 $(($2 / 6)) 256 $(($3 / 6)) "${s2}_60m_B1B9B10.tif" "$work/$1_60m.tif"
}
crop train 0 1152
crop heldout 1152 384
"$PY/sr4rs" extract --input "$work/train_10m.tif" --input "$work/train_20m.tif" --patch-size 32 --step 16 \
  --val-fraction 0.1 --seed 0 --out "$work/set_x2" --overwrite --no-progress
"$PY/sr4rs" extract --input "$work/train_10m.tif" --input "$work/train_20m.tif" --input "$work/train_60m.tif" \
  --patch-size 24 --step 6 --val-fraction 0.1 --seed 0 --out "$work/set_x6" --overwrite --no-progress
common=(--arch fusion --depth 64 --nresblocks 6 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0
        --adam_lr 0.0005 --adam_b1 0.9 --augment --seed 1 --nodata 0 --ckpt_folder --overwrite --no-progress)
"$PY/python" train.py --lr_patches "$work/set_x2/train" --valid_lr_patches "$work/set_x2/val" --epochs 40 \
  "${common[@]}" --bands B5 B6 B7 B8A B11 B12 --description "Sentinel-2 20 m bands to 10 m" \
  --save_ckpt "$work/run_x2/ckpt" --logdir "$work/run_x2/logs" --savedmodel "$work/run_x2/model"
"$PY/python" train.py --lr_patches "$work/set_x6/train" --valid_lr_patches "$work/set_x6/val" --epochs 80 \
  "${common[@]}" --bands B1 B9 --description "Sentinel-2 60 m bands to 10 m" \
  --save_ckpt "$work/run_x6/ckpt" --logdir "$work/run_x6/logs" --savedmodel "$work/run_x6/model"
# x6, second stage: the model above fine-tuned on Wald pairs made at all 36 phases of the 6 x 6 block grid (the
# training rows shifted by 0-5 pixels at 60 m in each direction before degrading: 36 times as many distinct
# coarse inputs for the same ground), one-cycle schedule, moving average of the weights; 3 epochs, 6465 steps.
# (`sr4rs extract --phases 6` now cuts such a set in one command, each phase over the whole shifted image rather
# than the fixed-size crops of this loop, which made the bundled model.)
for a in 0 1 2 3 4 5; do for b in 0 1 2 3 4 5; do
  p="$work/phases/p$a$b"; mkdir -p "$p"
  gdal_translate -q -srcwin $((6 * a)) $((6 * b)) 1500 1116 "${s2}_10m_B2B3B4B8.tif" "$p/10m.tif"
  gdal_translate -q -srcwin $((3 * a)) $((3 * b)) 750 558 "${s2}_20m_B5B6B7B8AB11B12.tif" "$p/20m.tif"
  gdal_translate -q -b 1 -b 2 -srcwin "$a" "$b" 250 186 "${s2}_60m_B1B9B10.tif" "$p/60m.tif"
  "$PY/sr4rs" extract --input "$p/10m.tif" --input "$p/20m.tif" --input "$p/60m.tif" --patch-size 24 --step 6 \
    --val-fraction 0.1 --seed 0 --out "$p/set" --overwrite --no-progress
done; done
rm -rf "$work/run_x6/stage1_model" && mv "$work/run_x6/model" "$work/run_x6/stage1_model"
"$PY/python" train.py --lr_patches "$work"/phases/p*/set/train --valid_lr_patches "$work/phases/p00/set/val" \
  --load_ckpt "$work/run_x6/ckpt" --finetune --epochs 3 --lr_schedule onecycle --ema 0.999 --vggweight 0 \
  "${common[@]}" --bands B1 B9 --description "Sentinel-2 60 m bands to 10 m" \
  --save_ckpt "$work/run_x6/ckpt_phases" --logdir "$work/run_x6/logs_phases" --savedmodel "$work/run_x6/model"
for run in x2 x6; do
  groups=("$work/heldout_10m.tif" "$work/heldout_20m.tif")
  [ $run = x6 ] && groups+=("$work/heldout_60m.tif")
  "$PY/sr4rs" evaluate --savedmodel "$work/run_$run/model" $(printf -- '--input %s ' "${groups[@]}") \
    --border 6 --out "$work/eval_$run" --overwrite --no-progress
done
