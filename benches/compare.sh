#!/usr/bin/env bash
# Runs the same live-editing workloads against Ruche, Hocuspocus and the reference y-websocket
# server, each with its persistence on, and prints one table side by side.
#
#   bash benches/compare.sh            # 30 s per workload
#   DURATION=10 bash benches/compare.sh
#   WORKLOADS="a b" SERVERS="ruche hocuspocus" bash benches/compare.sh
#   SERVERS="ruche-pg ruche-2x" PG=postgres://postgres@127.0.0.1 REDIS=redis://127.0.0.1:6379 \
#     bash benches/compare.sh   # Ruche on PostgreSQL: one process, then two with Redis
#   (the clients of each page are spread over both processes: every delivery crosses them)
#
# Needs Node 18+ and npm (the peers are installed into $SCRATCH, default a temporary folder).
# Who stores before broadcasting: Ruche (an update is in the database before anyone receives
# it); Hocuspocus stores after (debounced, 2 s by default); y-websocket with YPERSISTENCE writes
# each update to LevelDB as it applies it, not before it relays it.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
WORKLOADS=${WORKLOADS:-"a b c"}
SERVERS=${SERVERS:-"ruche hocuspocus y-websocket"}
SCRATCH=${SCRATCH:-$(mktemp -d -t ruche-compare-XXXXXX)}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

echo "building ruche and ruche-load (release)…" >&2
cargo build --release --bin ruche --bin ruche-load >&2
LOAD=target/release/ruche-load

needs_node=false
case " $SERVERS " in *" hocuspocus "*|*" y-websocket "*) needs_node=true ;; esac
if $needs_node && [ ! -d "$SCRATCH/node_modules/@hocuspocus/server" ]; then
  echo "installing the peers into $SCRATCH…" >&2
  (cd "$SCRATCH" && npm init -y >/dev/null \
    && npm install --no-audit --no-fund @hocuspocus/server@4 @hocuspocus/extension-sqlite@4 @y/websocket-server@0.1.1 >&2 \
    && (npm install-scripts approve better-sqlite3 leveldown >&2 || true) \
    && npm rebuild better-sqlite3 leveldown >&2)
fi
cp benches/hocuspocus-server.mjs "$SCRATCH/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

# workload name → ruche-load arguments
args_for() {
  case $1 in
    a) echo "--clients 200 --pages 1 --rate 2" ;;
    b) echo "--clients 2000 --pages 200 --rate 1" ;;
    c) echo "--clients 50 --readers 9950 --pages 1000 --rate 1" ;;
  esac
}
describe() {
  case $1 in
    a) echo "(a) 200 people, 1 page, 2 keys/s" ;;
    b) echo "(b) 2000 conns, 200 pages, 1 key/s" ;;
    c) echo "(c) 10000 conns, 1000 pages, 50 typing" ;;
  esac
}

run_one() { # server workload → prints the load program's report
  local server=$1 workload=$2 port pid out
  # shellcheck disable=SC2046
  case $server in
    ruche)
      $LOAD $(args_for "$workload") --duration "$DURATION"
      return ;;
    ruche-pg|ruche-2x)
      # A fresh database per run, on the server PG names (trust or password in the URL).
      local db="ruche_compare_$$_$workload" processes=1 redis=()
      psql "${PG:?set PG=postgres://user@host}/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >&2
      if [ "$server" = ruche-2x ]; then processes=2; redis=(--redis-url "${REDIS:?set REDIS=redis://host:6379}"); fi
      $LOAD --database-url "$PG/$db" --processes "$processes" "${redis[@]}" $(args_for "$workload") --duration "$DURATION" || true
      psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >&2 || true
      return ;;
    hocuspocus)
      port=$(free_port)
      (cd "$SCRATCH" && exec node hocuspocus-server.mjs "$port" "$SCRATCH/hocuspocus-$workload.sqlite") >"$SCRATCH/hocuspocus.log" 2>&1 &
      pid=$!
      wait_port "$port"
      $LOAD --peer hocuspocus --target "ws://127.0.0.1:$port" --server-pid "$pid" $(args_for "$workload") --duration "$DURATION" || true
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true ;;
    y-websocket)
      port=$(free_port)
      (cd "$SCRATCH" && HOST=127.0.0.1 PORT=$port YPERSISTENCE="$SCRATCH/yws-$workload" exec node node_modules/@y/websocket-server/src/server.js) >"$SCRATCH/y-websocket.log" 2>&1 &
      pid=$!
      wait_port "$port"
      $LOAD --peer y-websocket --target "ws://127.0.0.1:$port" --server-pid "$pid" $(args_for "$workload") --duration "$DURATION" || true
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true ;;
  esac
}

field() { grep -m1 "^$1" | sed -E "s/^$1:? *//"; }

printf '| workload | server | delivered/s | p50 ms | p99 ms | max ms | errors | dropped | KiB per idle conn | RSS peak MiB | CPU s |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for workload in $WORKLOADS; do
  for server in $SERVERS; do
    echo "running $(describe "$workload") against $server…" >&2
    out=$(run_one "$server" "$workload" 2>&1 | tee -a "$SCRATCH/compare.log")
    received=$(echo "$out" | field "updates received" | awk '{print $1}')
    p50=$(echo "$out" | field "latency p50" | awk '{print $1}')
    p99=$(echo "$out" | field "latency p99" | awk '{print $1}')
    max=$(echo "$out" | field "latency max" | awk '{print $1}')
    errors=$(echo "$out" | field "errors" | awk '{print $1}')
    dropped=$(echo "$out" | field "connections" | sed -E 's/.*, ([0-9]+) dropped.*/\1/')
    rss=$(echo "$out" | field "server memory" | sed -E 's/.*, ([0-9.]+) MiB peak.*/\1/')
    per_conn=$(echo "$out" | field "server memory" | sed -E 's/.*\(([0-9.]+) KiB per connection\).*/\1/')
    cpu=$(echo "$out" | field "server CPU" | awk '{print $1}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(describe "$workload")" "$server" \
      "${received:-?}" "${p50:-?}" "${p99:-?}" "${max:-?}" "${errors:-?}" "${dropped:-?}" "${per_conn:-?}" "${rss:-?}" "${cpu:-?}"
  done
done
echo "full reports: $SCRATCH/compare.log" >&2
