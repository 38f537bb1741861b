#!/usr/bin/env bash
# The ecosystem speed rows of BENCHMARKS.md: one axum app (benches/ecosystem/src/main.rs) built
# twice, on minirt through `[patch.crates-io]` (benches/ecosystem/minirt/) and on real tokio
# (benches/ecosystem/tokio/), measured in one run.
#
#   benches/ecosystem.sh [ROUNDS] [SECONDS]     # default: 2 rounds of 10-second wrk runs
#
# Server: pinned to core 0 (`taskset -c 0`), both runtime flavors (current-thread, and
# multi-thread with one worker, since it has one core). Load: wrk pinned to core 1, one thread,
# 50 connections, on GET /text (13 bytes) and GET /json (a small object). Each line gives
# requests/s and the server's CPU time per request (utime + stime of all its threads, from
# /proc/PID/stat, over the run). Then the reqwest client loop: 10k keep-alive GETs, one at a
# time, from the client (core 1) to a current-thread server of the same runtime (core 0), each
# flavor; it prints its own rate and its own CPU per request. minirt and tokio alternate
# (minirt, tokio, minirt, tokio...) so that slow phases of a shared machine hit both, and the
# side that goes first swaps every round (tokio first in even rounds), so that over an even
# number of rounds each side runs first equally often on every row.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
secs=${2:-10}
target=${CARGO_TARGET_DIR:-target/eco-bench}
# shellcheck source=benches/ecosystem/servers.sh
source benches/ecosystem/servers.sh

echo "# $(date -u '+%F %T') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
start_servers 19480

for round in $(seq "$rounds"); do
  sides="minirt tokio"
  if ((round % 2 == 0)); then sides="tokio minirt"; fi
  for flavor in current multi; do
    for route in text json; do
      for side in $sides; do
        read -r hostport pid <<<"${addr[$side-$flavor]}"
        before=$(cpu_ticks "$pid")
        out=$(taskset -c 1 wrk -t1 -c50 -d"${secs}s" "http://$hostport/$route")
        after=$(cpu_ticks "$pid")
        rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        awk -v w="wrk /$route" -v f="$flavor" -v s="$side" -v rate="$rate" \
          -v t=$((after - before)) -v secs="$secs" 'BEGIN {
            printf "%-10s %-8s %-7s %9.0f requests/s  server CPU %3.0f%%  %.2f us/request\n",
              w, f, s, rate, t / secs, t * 10000 / (rate * secs) }'
      done
    done
  done
  for flavor in current multi; do
    for side in $sides; do
      read -r hostport _ <<<"${addr[$side-current]}"
      printf '%-10s %-8s %-7s ' "reqwest" "$flavor" "$side"
      taskset -c 1 "$(bin $side)" client "http://$hostport/text" 10000 "$flavor" 1
    done
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
