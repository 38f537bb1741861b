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
#    current-thread examples, off and on in pairs (ports 17410/17411, 18490/18491): both
#    servers pinned to core 0, each with its own load on core 1, both loads started together
#    (which one is started first swaps every round), as benches/ecosystem_paired.sh does: a
#    slow phase of the VM hits both halves of a pair, and with one core shared the ratio of
#    the rates is the inverse ratio of the CPU time per request. Each line: the rate, the
#    server's CPU time per request (utime + stime from /proc); each pair: on / off.
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
# load KIND PORT: one load run of KIND (echo or http) against 127.0.0.1:PORT, on core 1.
load() {
  case $1 in
    echo) taskset -c 1 "$bin/loadgen" "127.0.0.1:$2" 50 64 "$secs" ;;
    http) taskset -c 1 wrk -t1 -c50 -d"${secs}s" "http://127.0.0.1:$2/" ;;
  esac
}
rate_of() { grep -oE '[0-9.]+ round trips/s|Requests/sec: +[0-9.]+' "$1" | grep -oE '[0-9.]+' | head -1; }
# pair KIND OFF_PORT OFF_PID ON_PORT ON_PID FIRST: both loads at once, FIRST (off or on)
# started first; prints each side and the ratios.
pair() {
  local kind=$1 off_port=$2 off_pid=$3 on_port=$4 on_pid=$5 first=$6
  local off_out on_out off0 on0 off1 on1 a b
  off_out=$(mktemp)
  on_out=$(mktemp)
  off0=$(cpu_ticks "$off_pid")
  on0=$(cpu_ticks "$on_pid")
  if [ "$first" = off ]; then
    load "$kind" "$off_port" >"$off_out" & a=$!
    load "$kind" "$on_port" >"$on_out" & b=$!
  else
    load "$kind" "$on_port" >"$on_out" & b=$!
    load "$kind" "$off_port" >"$off_out" & a=$!
  fi
  wait $a $b
  off1=$(cpu_ticks "$off_pid")
  on1=$(cpu_ticks "$on_pid")
  awk -v k="$kind" -v f="$first" -v ro="$(rate_of "$off_out")" -v rn="$(rate_of "$on_out")" \
    -v to=$((off1 - off0)) -v tn=$((on1 - on0)) -v secs="$secs" 'BEGIN {
      uo = to * 10000 / (ro * secs); un = tn * 10000 / (rn * secs)
      printf "%-5s off %8.0f /s %6.3f us/request | on %8.0f /s %6.3f us/request | on/off rate %.3f, CPU per request %.3f (%s first)\n",
        k, ro, uo, rn, un, rn / ro, un / uo, f }'
  rm -f "$off_out" "$on_out"
}
first=off
for _ in $(seq "$rounds"); do
  pair echo 17410 $echo_off 17411 $echo_on $first
  pair http 18490 $http_off 18491 $http_on $first
  if [ $first = off ]; then first=on; else first=off; fi
done
echo "# done, load: $(cut -d' ' -f1-3 /proc/loadavg)"
