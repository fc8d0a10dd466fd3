#!/usr/bin/env bash
# What a single request costs the server, for the requests an attacker found expensive (issue
# 14): deeply nested Markdown (preview and stored page), comparing two very different large
# revisions, and presence states of megabytes. Starts the given `ruche` binary on a scratch
# SQLite site and prints wall-clock times and the server's resident memory.
#
#   cargo build --release --bin ruche && bash benches/costs.sh target/release/ruche
#   bash benches/costs.sh /path/to/an/older/ruche     # the same probes against another build
#
# Needs curl, python3 (to make the texts) and Node with web/node_modules (`npm ci` in web/).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/ruche}")
SCRATCH=$(mktemp -d -t ruche-costs-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="sqlite://$SCRATCH/ruche.db?mode=rwc" RUCHE_DATA="$SCRATCH" RUST_LOG=error
printf 'revision_quiet_seconds = 1\nmax_connections_per_address = 0\n' > "$SCRATCH/costs.toml"
echo "costs probe secret" | "$BIN" user add costs@example.org --name Costs --password-stdin --admin >/dev/null
TOKEN=$("$BIN" token create costs@example.org | tail -n1)
RUCHE_ADDR="127.0.0.1:$PORT" RUCHE_CONFIG="$SCRATCH/costs.toml" "$BIN" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$SCRATCH"' EXIT
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$SERVER/status"; }
timed() { curl -s -o /dev/null -w '%{http_code} %{time_total}s' "$@"; }
auth=(-H "Authorization: Bearer $TOKEN")
curl -sf "${auth[@]}" -H 'content-type: application/json' -d '{"slug":"bench","title":"Bench","visibility":"public"}' "$BASE/api/spaces" >/dev/null
put() { python3 -c "import json,sys; print(json.dumps({'markdown': sys.stdin.read()}))" > "$SCRATCH/body.json"; timed -X PUT "${auth[@]}" -H 'content-type: application/json' --data-binary "@$SCRATCH/body.json" "$BASE/api/pages/bench/$1"; }

echo "server: $BIN"
echo "memory at start: $(rss)"
python3 -c "import json; print(json.dumps({'space':'bench','markdown':'>'*40000}))" > "$SCRATCH/render.json"
echo "2. POST /api/render, '>' x 40 000 (anonymous): $(timed -H 'content-type: application/json' --data-binary "@$SCRATCH/render.json" "$BASE/api/render")"
python3 -c "print('>'*100000, end='')" | put deep >/dev/null
for n in 1 2 3; do echo "2. GET a stored page of '>' x 100 000, read $n: $(timed "$BASE/s/bench/deep")"; done

python3 -c "print(' '.join(f'ancien{i}' for i in range(40000)), end='')" | put words >/dev/null
sleep 2.5
echo "3. PUT 40 000 words replaced by 40 000 others: $(python3 -c "print(' '.join(f'nouveau{i}' for i in range(40000)), end='')" | put words)"
sleep 2.5
IDS=$(curl -s "$BASE/api/pages/bench/words/revisions" | python3 -c "import json,sys; r=json.load(sys.stdin)['revisions']; print(r[1]['id'], r[0]['id'])")
set -- $IDS
for n in 1 2; do echo "3. GET compare of the two revisions, read $n: $(timed "$BASE/s/bench/words/compare?from=$1&to=$2")"; done

echo "4. memory before the presence flood: $(rss)"
node benches/presence-flood.mjs "ws://127.0.0.1:$PORT/ws/bench/deep" 250 3000000
echo "4. memory with the flooding connection held open: $(rss)"
