#!/usr/bin/env bash
# Super-resolve an image with OTBTF's TensorflowModelServe and an sr4rs model (a bundled model's name, or a
# SavedModel folder exported by sr4rs), with the fields sr4rs's --backend otbtf and SR4RS's sr.py use:
# expression field = the tile, receptive field = (tile + 2 x margin) / scale, spacing scale = 1 / scale,
# output output_{margin}. The margin is the model's recommended one, rounded up to an exported crop.
# Usage: sr4rs-serve MODEL INPUT OUTPUT [TILE=512] [PIXEL_TYPE=float]   (OUTPUT may hold OTB's ?& options)
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
model=$1 input=$2 output=$3 tile=${4:-512} pixel=${5:-float}
models=${SR4RS_MODELS:-/opt/sr4rs/models}
[ -d "$model" ] || model="$models/$model"
[ -f "$model/saved_model.pb" ] || { echo "sr4rs-serve: no SavedModel '$1' (bundled: $(ls "$models" | tr '\n' ' '))" >&2; exit 1; }
read -r scale margin < <(python3 - "$model" <<'PY'
import json, os, sys
path = os.path.join(sys.argv[1], "assets.extra", "sr4rs.json")
meta = json.load(open(path)) if os.path.exists(path) else {}
scale = int(meta.get("scale", 4))
margin = int(meta.get("margin", 64))
crops = [32, 64, 128, 256, 512]
print(scale, next((c for c in crops if c >= margin), crops[-1]))
PY
)
if [ $((tile % scale)) -ne 0 ]; then echo "sr4rs-serve: tile $tile is not a multiple of the scale $scale" >&2; exit 1; fi
rfield=$(((tile + 2 * margin) / scale))
case "$output" in *'?&'*) sep='&' ;; *) sep='?&' ;; esac
exec otbcli_TensorflowModelServe -source1.il "$input" -source1.rfieldx "$rfield" -source1.rfieldy "$rfield" \
  -source1.placeholder lr_input -model.dir "$model" -model.fullyconv on -output.names "output_$margin" \
  -output.efieldx "$tile" -output.efieldy "$tile" -output.spcscale "$(python3 -c "print(1 / $scale)")" \
  -optim.tilesizex "$tile" -optim.tilesizey "$tile" -optim.disabletiling 1 \
  -out "${output}${sep}streaming:type=tiled&streaming:sizemode=height&streaming:sizevalue=$tile" "$pixel"
