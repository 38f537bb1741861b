#!/usr/bin/env bash
# Load runs of BENCHMARKS.md: the echo and http examples, minirt beside tokio, and nginx.
#
#   cargo build --release --examples
#   benches/load.sh [ROUNDS] [SECONDS]        # default: 3 rounds of 5-second runs
#
# Starts echo, tokio_echo, http, tokio_http and nginx (benches/nginx.conf: one worker, the same
# 13-byte body, access log off) on 127.0.0.1, pinned to core 0, and drives each
# from core 1: `loadgen` (10 and 50 connections, 64-byte messages) for the echo servers, `wrk`
# (50 connections, plain and 16 pipelined requests per write) for the HTTP servers. minirt and
# tokio alternate, so slow phases of a shared machine hit both. Every line gives the rate and
# the server's CPU time over the run (utime + stime from /proc), the load-independent cost.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update
  apt-get install -y wrk nginx
fi
rounds=${1:-3}
secs=${2:-5}
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

taskset -c 0 "$bin/echo" 127.0.0.1:17400 >/dev/null & echo_minirt=$!
taskset -c 0 "$bin/tokio_echo" 127.0.0.1:17401 >/dev/null & echo_tokio=$!
taskset -c 0 "$bin/http" 127.0.0.1:18480 >/dev/null & http_minirt=$!
taskset -c 0 "$bin/tokio_http" 127.0.0.1:18481 >/dev/null & http_tokio=$!
nginx_prefix=$(mktemp -d)
taskset -c 0 nginx -p "$nginx_prefix" -c "$PWD/benches/nginx.conf" -e stderr & nginx_master=$!
trap 'kill $echo_minirt $echo_tokio $http_minirt $http_tokio $nginx_master; wait; rm -rf "$pipeline" "$nginx_prefix"' EXIT
sleep 0.5

# CPU time of a process and its children so far (nginx: the master and its worker), in clock
# ticks (1/100 s).
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
  out=$(taskset -c 1 "$@")
  after=$(cpu_ticks "$pid")
  rate=$(echo "$out" | grep -oE '[0-9.]+ round trips/s|Requests/sec: +[0-9.]+' | grep -oE '[0-9.]+' | head -1)
  awk -v l="$label" -v r="$runtime" -v rate="$rate" -v t=$((after - before)) -v s="$secs" \
    'BEGIN { printf "%-12s %-7s %10.0f /s  server CPU %3.0f%%  %.2f us/request\n", l, r, rate, t / s, t * 10000 / (rate * s) }'
}

for _ in $(seq "$rounds"); do
  for conns in 10 50; do
    run "echo-$conns" minirt $echo_minirt "$bin/loadgen" 127.0.0.1:17400 "$conns" 64 "$secs"
    run "echo-$conns" tokio $echo_tokio "$bin/loadgen" 127.0.0.1:17401 "$conns" 64 "$secs"
  done
  run http minirt $http_minirt wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18480/
  run http tokio $http_tokio wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18481/
  run http nginx $nginx_master wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18482/
  run http-pipe16 minirt $http_minirt wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18480/
  run http-pipe16 tokio $http_tokio wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18481/
  run http-pipe16 nginx $nginx_master wrk -t1 -c50 -d"${secs}s" -s "$pipeline" http://127.0.0.1:18482/
done
