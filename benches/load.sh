#!/usr/bin/env bash
# Load runs of BENCHMARKS.md (every run in docs/BENCHMARKS-notebook.md): the echo and http examples, minirt beside tokio, and nginx.
#
#   cargo build --release --examples
#   benches/load.sh [ROUNDS] [SECONDS] [MODE]   # default: 3 rounds of 5-second runs, pinned
#
# MODE `pinned` (the default) measures one core: it starts echo, tokio_echo, http, tokio_http
# (current-thread) and nginx (benches/nginx.conf: one worker, the same 13-byte body, access log
# off) on 127.0.0.1, pinned to core 0, and drives each from core 1.
#
# MODE `multi` measures every core: the same servers on the multi-thread runtimes with one
# worker per core (`--threads N`, N = nproc), nginx with N workers, and `reuseport` (N
# current-thread runtimes, one SO_REUSEPORT listener each) beside them; nothing is pinned, so
# servers and load generator share the cores (on a 2-core machine the load generator takes a
# large share: read the server CPU per request beside the rate).
#
# Load: `loadgen` (10 and 50 connections, 64-byte messages) for the echo servers, `wrk`
# (50 connections, plain and 16 pipelined requests per write) for the HTTP servers. minirt and
# tokio alternate, so slow phases of a shared machine hit both. Every line gives the rate and
# the server's CPU time over the run (utime + stime of all its threads, from /proc), the
# load-independent cost.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update
  apt-get install -y wrk nginx
fi
rounds=${1:-3}
secs=${2:-5}
mode=${3:-pinned}
case "$mode" in
  pinned) server=(taskset -c 0) load=(taskset -c 1) threads=() workers=1 ;;
  multi) server=() load=() workers=$(nproc) threads=(--threads "$workers") ;;
  *) echo "load.sh: MODE is pinned or multi, not $mode" >&2; exit 2 ;;
esac
bin=target/release/examples
pipeline=$(mktemp --suffix=.lua)
cat > "$pipeline" <<'LUA'
-- 16 pipelined GET requests in every write, as wrk's own scripts/pipeline.lua
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
LUA

"${server[@]}" "$bin/echo" 127.0.0.1:17400 "${threads[@]}" >/dev/null & echo_minirt=$!
"${server[@]}" "$bin/tokio_echo" 127.0.0.1:17401 "${threads[@]}" >/dev/null & echo_tokio=$!
"${server[@]}" "$bin/http" 127.0.0.1:18480 "${threads[@]}" >/dev/null & http_minirt=$!
"${server[@]}" "$bin/tokio_http" 127.0.0.1:18481 "${threads[@]}" >/dev/null & http_tokio=$!
nginx_prefix=$(mktemp -d)
sed "s/^worker_processes 1;/worker_processes $workers;/" benches/nginx.conf > "$nginx_prefix/nginx.conf"
"${server[@]}" nginx -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" -e stderr & nginx_master=$!
servers="$echo_minirt $echo_tokio $http_minirt $http_tokio $nginx_master"
if [ "$mode" = multi ]; then
  "$bin/reuseport" 127.0.0.1:18483 "$workers" >/dev/null & http_reuseport=$!
  servers="$servers $http_reuseport"
fi
trap 'kill $servers; wait; rm -rf "$pipeline" "$nginx_prefix"' EXIT
sleep 0.5

# CPU time of a process and its children so far (nginx: the master and its workers; the
# threads of a process are counted in its own /proc/PID/stat), in clock ticks (1/100 s).
cpu_ticks() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# run LABEL RUNTIME PID COMMAND...: runs the load command, prints rate, server CPU per request.
run() {
  local label=$1 runtime=$2 pid=$3 before after out rate
  shift 3
  before=$(cpu_ticks "$pid")
  out=$("${load[@]}" "$@")
  after=$(cpu_ticks "$pid")
  rate=$(echo "$out" | grep -oE '[0-9.]+ round trips/s|Requests/sec: +[0-9.]+' | grep -oE '[0-9.]+' | head -1)
  awk -v l="$label" -v r="$runtime" -v rate="$rate" -v t=$((after - before)) -v s="$secs" \
    'BEGIN { printf "%-12s %-9s %10.0f /s  server CPU %3.0f%%  %.2f us/request\n", l, r, rate, t / s, t * 10000 / (rate * s) }'
}

for _ in $(seq "$rounds"); do
  for conns in 10 50; do
    run "echo-$conns" minirt $echo_minirt "$bin/loadgen" 127.0.0.1:17400 "$conns" 64 "$secs"
    run "echo-$conns" tokio $echo_tokio "$bin/loadgen" 127.0.0.1:17401 "$conns" 64 "$secs"
  done
  run http minirt $http_minirt wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18480/
  run http tokio $http_tokio wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18481/
  run http nginx $nginx_master wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18482/
  if [ "$mode" = multi ]; then
    run http reuseport $http_reuseport wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18483/
  fi
  run http-pipe16 minirt $http_minirt wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18480/
  run http-pipe16 tokio $http_tokio wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18481/
  run http-pipe16 nginx $nginx_master wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18482/
  if [ "$mode" = multi ]; then
    run http-pipe16 reuseport $http_reuseport wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18483/
  fi
done
