#!/usr/bin/env bash
# How the bundled Sentinel-2 fusion models (sr4rs/model/bundled/s2-20m-x2, s2-60m-x6) were trained, and how they
# are scored on tiles left out of their training (PRETRAINED_MODELS.md).
# - Data: the multi-site Sentinel-2 L2A corpus (scripts/build_corpus.sh: 39 blocks, 23 tile-dates on 16 tiles) and
#   the shared Sentinel-2 L1C product (tile 18SVG, 2016-01-12), by Wald's protocol at every phase of the block grid.
# - Five tiles are left out of training entirely and only scored on: T29SNC T32TMT T34TCS T35VPK T29UPU (10
#   blocks: Portugal in spring, Switzerland in summer, Serbia in winter, Finland in summer, autumn and winter,
#   Ireland in summer and winter); two more validate during training: T33UXP T34TEP. Nothing of a tile is on two
#   sides.
# - The network (sr4rs.nets.fusion, its defaults): a local regression of the coarse bands on the 10 m bands as the
#   first estimate, bands centred and scaled by their local statistics, the back-projection consistency layer.
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
common=(--arch fusion --depth 32 --nresblocks 6 --batchsize 16 --ganweight 0 --l1weight 1 --l2weight 0 --vggweight 0
        --adam_lr 0.0005 --adam_b1 0.9 --lr_schedule onecycle --ema 0.999 --augment --gain 0.5 --offset 0.01 --seed 1
        --nodata 0 --ckpt_folder --overwrite --no-progress)
"$PY/python" train.py --lr_patches "$work/set_x2/train" --valid_lr_patches "$work/set_x2/val" --epochs 15 \
  "${common[@]}" --bands B5 B6 B7 B8A B11 B12 --description "Sentinel-2 20 m bands to 10 m" \
  --save_ckpt "$work/run_x2/ckpt" --logdir "$work/run_x2/logs" --savedmodel "$work/run_x2/model"
"$PY/python" train.py --lr_patches "$work/set_x6/train" --valid_lr_patches "$work/set_x6/val" --epochs 40 \
  "${common[@]}" --bands B1 B9 --description "Sentinel-2 60 m bands to 10 m" \
  --save_ckpt "$work/run_x6/ckpt" --logdir "$work/run_x6/logs" --savedmodel "$work/run_x6/model"
# Scored on every block of the left-out tiles, against cubic, the regression fusion and OTB's Pansharpening.
"$PY/sr4rs" evaluate --scenes "$work/corpus/index.csv" --tiles "$held" --savedmodel "$work/run_x2/model" \
  --border 4 --out "$work/eval_x2" --overwrite --no-progress
"$PY/sr4rs" evaluate --scenes "$work/corpus/index.csv" --tiles "$held" --savedmodel "$work/run_x6/model" \
  --border 2 --out "$work/eval_x6" --overwrite --no-progress
