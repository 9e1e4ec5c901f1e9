#!/usr/bin/env bash
# Screenshot of the Swagger UI of deepaas-run serving sr4rs, for docs/deepaas.md: the server on a loopback
# port, headless Chromium from Debian's packages (apt-get install -y chromium) kept off every other address.
# Usage: bash scripts/deepaas_screenshot.sh [OUT.png]   (needs requirements-deepaas.txt in the venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SR4RS_VENV:-.venv}
OUT=${1:-docs/deepaas_swagger.png}
PORT=${PORT:-5055}
command -v chromium >/dev/null || { echo "screenshot: install chromium (apt-get install -y chromium)" >&2; exit 1; }
work=$(mktemp -d)
PYTHONPATH=$PWD "$VENV/bin/deepaas-run" --model-name sr4rs --listen-port "$PORT" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break
  kill -0 $server 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1500 \
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --user-data-dir="$work/chrome" \
  --virtual-time-budget=8000 --screenshot="$OUT" "http://127.0.0.1:$PORT/api#/models" 2>/dev/null
echo "wrote $OUT"
