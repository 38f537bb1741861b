#!/usr/bin/env bash
# What the live console costs while it is on (issue 23, item 3): every figure of BENCHMARKS.md's
# "What the console and the slow-poll detector cost", console off beside on.
#
#   benches/console_cost.sh [ROUNDS] [SECONDS]    # default: 3 rounds, 5-second load runs
#
# 1. callgrind: user-space instructions of one `spawn_many` and one `yield_many` iteration
#    (current-thread flavor, `--test` mode), off and on; the run with no benchmark selected
#    is printed too, to subtract. Load does not move these.
# 2. criterion: `spawn_many/minirt` and `yield_many/minirt`, off and on alternated ROUNDS times
#    (wall time: read it beside `uptime`).
# 3. echo (loadgen, 50 connections, 64-byte messages) and http (wrk, 50 connections) on the
#    current-thread examples, off and on side by side (ports 17410/17411, 18490/18491), pinned
#    to core 0 with the load on core 1 as benches/load.sh: the rate and the server's CPU time
#    per request (utime + stime from /proc), which the machine's other load moves less.
#
# "On" is `MINIRT_CONSOLE=127.0.0.1:0` (a console on a free port nobody reads: the hooks' cost
# alone). The bench binary is built with CARGO_PROFILE_BENCH_CODEGEN_UNITS=1 so that both sides
# of a comparison are partitioned alike.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
echo "# $(date -u '+%F %T') UTC, $(git rev-parse --short HEAD), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

bench=$(CARGO_PROFILE_BENCH_CODEGEN_UNITS=1 cargo bench --bench runtime --no-run 2>&1 |
  grep -oE 'target/release/deps/runtime-[0-9a-f]+' | tail -1)
cargo build --release --example echo --example http --example loadgen 2>/dev/null
on=(env MINIRT_CONSOLE=127.0.0.1:0)
off=(env -u MINIRT_CONSOLE)

echo "## callgrind (instructions)"
out=$(mktemp)
"${off[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" --test '^none$' >/dev/null 2>&1
echo "nothing selected: $(callgrind_annotate "$out" | grep TOTALS | awk '{print $1}')"
for w in spawn_many yield_many; do
  for side in off on; do
    declare -n env=$side
    "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" --test "^$w/minirt\$" >/dev/null 2>&1
    echo "$w $side: $(callgrind_annotate "$out" | grep TOTALS | awk '{print $1}')"
  done
done
rm -f "$out"

echo "## criterion (wall time), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
  for side in off on; do
    declare -n env=$side
    "${env[@]}" "$bench" --bench '^(spawn_many|yield_many)/minirt$' --noplot 2>/dev/null |
      grep 'time:' | sed "s|^|$side |"
  done
done

echo "## echo and http, load: $(cut -d' ' -f1-3 /proc/loadavg)"
bin=target/release/examples
taskset -c 0 "${off[@]}" "$bin/echo" 127.0.0.1:17410 >/dev/null 2>&1 & echo_off=$!
taskset -c 0 "${on[@]}" "$bin/echo" 127.0.0.1:17411 >/dev/null 2>&1 & echo_on=$!
taskset -c 0 "${off[@]}" "$bin/http" 127.0.0.1:18490 >/dev/null 2>&1 & http_off=$!
taskset -c 0 "${on[@]}" "$bin/http" 127.0.0.1:18491 >/dev/null 2>&1 & http_on=$!
trap 'kill $echo_off $echo_on $http_off $http_on; wait' EXIT
sleep 0.5
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run LABEL SIDE PID COMMAND...: the rate, and the server's CPU time per request.
run() {
  local label=$1 side=$2 pid=$3 before after out rate
  shift 3
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$@")
  after=$(cpu_ticks "$pid")
  rate=$(echo "$out" | grep -oE '[0-9.]+ round trips/s|Requests/sec: +[0-9.]+' | grep -oE '[0-9.]+' | head -1)
  awk -v l="$label" -v s="$side" -v rate="$rate" -v t=$((after - before)) -v secs="$secs" \
    'BEGIN { printf "%-8s %-4s %10.0f /s  server CPU %3.0f%%  %.3f us/request\n", l, s, rate, t / secs, t * 10000 / (rate * secs) }'
}
for _ in $(seq "$rounds"); do
  run echo off $echo_off "$bin/loadgen" 127.0.0.1:17410 50 64 "$secs"
  run echo on $echo_on "$bin/loadgen" 127.0.0.1:17411 50 64 "$secs"
  run http off $http_off wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18490/
  run http on $http_on wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:18491/
done
echo "# done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
