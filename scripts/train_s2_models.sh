#!/usr/bin/env bash
# How the bundled Sentinel-2 models (sr4rs/model/bundled/s2-20m-x2, s2-60m-x6, s2-rgbn-x4) were trained, and how
# they are scored on tiles left out of their training (PRETRAINED_MODELS.md).
# - Data: the multi-site Sentinel-2 L2A corpus (scripts/build_corpus.sh: 39 blocks, 23 tile-dates on 16 tiles) and
#   the shared Sentinel-2 L1C product (tile 18SVG, 2016-01-12), by Wald's protocol at every phase of the block grid.
# - Five tiles are left out of training entirely and only scored on: T29SNC T32TMT T34TCS T35VPK T29UPU (10
#   blocks: Portugal in spring, Switzerland in summer, Serbia in winter, Finland in summer, autumn and winter,
#   Ireland in summer and winter); two more validate during training: T33UXP T34TEP. Nothing of a tile is on two
#   sides.
# - The network (sr4rs.nets.fusion, its defaults): a local regression of the coarse bands on the 10 m bands as the
#   first estimate, bands centred and scaled by their local statistics, the back-projection consistency layer.
#   (The bundled fusion models were exported again from their last checkpoints, weights unchanged, with
#   `train.py --epochs 0 --load_ckpt CKPT --savedmodel DIR`, once their layers computed in float64; the export
#   below already does so.)
# - s2-rgbn-x4: EDSR on B4 B3 B2 B8, normalised per sample and band, the blur of each LR patch drawn anew (block
#   averaging alone for 40 % then 30 % of them), band gains and offsets drawn per patch, a spectral-angle loss; a
#   second run from the first's weights.
# Usage: bash scripts/train_s2_models.sh [shared/data] [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
work=${2:-out/s2_models}
PY=${SR4RS_VENV:-.venv}/bin
held=T29SNC,T32TMT,T34TCS,T35VPK,T29UPU
val=T33UXP,T34TEP
mkdir -p "$work"
[ -f "$work/corpus/index.csv" ] || bash scripts/build_corpus.sh "$work/corpus"
s2=$(cd "$data" && pwd)/S2A_L1C_T18SVG_20160112
cat > "$work/t18svg.csv" <<CSV
scene,tile,date,level,10m,20m,60m
T18SVG_20160112,T18SVG,2016-01-12,L1C,${s2}_10m_B2B3B4B8.tif,${s2}_20m_B5B6B7B8AB11B12.tif,${s2}_60m_B1B9B10.tif
CSV
scenes=(--scenes "$work/corpus/index.csv" --scenes "$work/t18svg.csv" --val-tiles "$val" --exclude-tiles "$held")
"$PY/sr4rs" extract "${scenes[@]}" --bands B2,B3,B4,B8,B5,B6,B7,B8A,B11,B12 --patch-size 32 --step 8 --phases 2 \
  --max-per-scene 1500 --out "$work/set_x2" --overwrite --no-progress
"$PY/sr4rs" extract "${scenes[@]}" --bands B2,B3,B4,B8,B5,B6,B7,B8A,B11,B12,B1,B9 --patch-size 18 --step 6 \
  --phases 6 --max-per-scene 3000 --out "$work/set_x6" --overwrite --no-progress
"$PY/sr4rs" extract "${scenes[@]}" --bands B4,B3,B2,B8 --factor 4 --patch-size 16 --step 4 --max-per-scene 800 \
  --out-lr "$work/rgbn_lr.tif" --out-hr "$work/rgbn_hr.tif" --overwrite --no-progress
common=(--arch fusion --depth 32 --nresblocks 6 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 --vggweight 0
        --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle --ema 0.999 --augment --gain 0.5 --offset 0.01 --seed 1
        --nodata 0 --ckpt_folder --overwrite --no-progress)
"$PY/python" train.py --lr_patches "$work/set_x2/train" --valid_lr_patches "$work/set_x2/val" --epochs 15 \
  "${common[@]}" --bands B5 B6 B7 B8A B11 B12 --description "Sentinel-2 20 m bands to 10 m" \
  --save_ckpt "$work/run_x2/ckpt" --logdir "$work/run_x2/logs" --savedmodel "$work/run_x2/model"
"$PY/python" train.py --lr_patches "$work/set_x6/train" --valid_lr_patches "$work/set_x6/val" --epochs 40 \
  "${common[@]}" --bands B1 B9 --description "Sentinel-2 60 m bands to 10 m" \
  --save_ckpt "$work/run_x6/ckpt" --logdir "$work/run_x6/logs" --savedmodel "$work/run_x6/model"
rgbn=(--lr_patches "$work/rgbn_lr_train.tif" --hr_patches "$work/rgbn_hr_train.tif" --valid_lr_patches
      "$work/rgbn_lr_val.tif" --valid_hr_patches "$work/rgbn_hr_val.tif" --arch edsr --depth 32 --nresblocks 8
      --batchsize 16 --ganweight 0 --l1weight 1 --vggweight 0 --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle
      --ema 0.999 --augment --normalise standard --degradation random --blur_max 0.6 --gain 0.5 --offset 0.03
      --nodata 0 --bands B4 B3 B2 B8 --description "Sentinel-2 B4 B3 B2 B8, x4, any product level, robust to blur"
      --ckpt_folder --overwrite --no-progress)
"$PY/python" train.py "${rgbn[@]}" --epochs 80 --seed 1 --l2weight 0 --samweight 0.5 --blur_zero 0.4 \
  --save_ckpt "$work/run_rgbn/ckpt" --logdir "$work/run_rgbn/logs" --savedmodel "$work/run_rgbn/model"
# The second run: its first 68 epochs had --l2weight 0; it was stopped there and resumed from its checkpoint
# (--load_ckpt "$work/run_rgbn2/ckpt", no --finetune) with train.py's default L2 weight, 1000, for epochs 69-80.
# Run in one go here, with the L2 weight of its last epochs throughout.
"$PY/python" train.py "${rgbn[@]}" --epochs 80 --seed 2 --samweight 1 --blur_zero 0.3 \
  --load_ckpt "$work/run_rgbn/model" --finetune \
  --save_ckpt "$work/run_rgbn2/ckpt" --logdir "$work/run_rgbn2/logs" --savedmodel "$work/run_rgbn2/model"
# Scored on every block of the left-out tiles, against cubic, the regression fusion and OTB's Pansharpening.
"$PY/sr4rs" evaluate --scenes "$work/corpus/index.csv" --tiles "$held" --savedmodel "$work/run_x2/model" \
  --border 4 --out "$work/eval_x2" --overwrite --no-progress
"$PY/sr4rs" evaluate --scenes "$work/corpus/index.csv" --tiles "$held" --savedmodel "$work/run_x6/model" \
  --border 2 --out "$work/eval_x6" --overwrite --no-progress
"$PY/sr4rs" evaluate --scenes "$work/corpus/index.csv" --tiles "$held" --savedmodel "$work/run_rgbn2/model" \
  --bands B4,B3,B2,B8 --degradation 0,0.495 --data-range 10000 --out "$work/eval_rgbn" --overwrite --no-progress
