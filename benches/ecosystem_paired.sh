#!/usr/bin/env bash
# The wrk rows of benches/ecosystem.sh, measured in pairs: the minirt and the tokio server run
# *at the same time* on core 0, each under its own wrk (both on core 1, started together), so a
# slow phase of a shared VM (another tenant, a build, the host's steal) hits both sides of a
# pair alike. With the two servers sharing one core, the scheduler gives each about half of it:
# the ratio of their request rates is then the inverse ratio of their CPU per request, which is
# the figure a runtime controls. Sequential runs (ecosystem.sh) on this VM move the same binary
# by 10-50 % between runs; a pair's two halves see the same machine.
#
#   benches/ecosystem_paired.sh [ROUNDS] [SECONDS]     # default: 6 rounds of 8-second pairs
#
# Each wrk line: the row, each side's requests/s and server CPU time per request (utime + stime of
# all its threads, /proc/PID/stat), then minirt/tokio for the rate and tokio/minirt for the CPU
# per request (above 1: minirt ahead). Which side starts first swaps every round. Then the
# reqwest loop of ecosystem.sh (10k keep-alive GETs), both runtimes' clients at once.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-6}
secs=${2:-8}
target=${CARGO_TARGET_DIR:-target/eco-bench}
# shellcheck source=benches/ecosystem/servers.sh
source benches/ecosystem/servers.sh

echo "# $(date -u '+%F %T') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
start_servers 19580
out=$(mktemp -d)

for round in $(seq "$rounds"); do
  sides="minirt tokio"
  if ((round % 2 == 0)); then sides="tokio minirt"; fi
  for flavor in current multi; do
    for route in text json; do
      declare -A before after rate
      for side in $sides; do
        read -r _ pid <<<"${addr[$side-$flavor]}"
        before[$side]=$(cpu_ticks "$pid")
      done
      waits=()
      for side in $sides; do
        read -r hostport _ <<<"${addr[$side-$flavor]}"
        taskset -c 1 wrk -t1 -c50 -d"${secs}s" "http://$hostport/$route" >"$out/$side" &
        waits+=($!)
      done
      wait "${waits[@]}"
      for side in $sides; do
        read -r _ pid <<<"${addr[$side-$flavor]}"
        after[$side]=$(cpu_ticks "$pid")
        rate[$side]=$(awk '/Requests\/sec/ {print $2}' "$out/$side")
      done
      awk -v row="wrk /$route $flavor" -v secs="$secs" \
        -v rm="${rate[minirt]}" -v cm=$((after[minirt] - before[minirt])) \
        -v rt="${rate[tokio]}" -v ct=$((after[tokio] - before[tokio])) 'BEGIN {
          um = cm * 10000 / (rm * secs); ut = ct * 10000 / (rt * secs)
          printf "%-18s minirt %7.0f req/s %6.2f us/req   tokio %7.0f req/s %6.2f us/req   rate m/t %.3f   CPU t/m %.3f\n",
            row, rm, um, rt, ut, rm / rt, ut / um }'
    done
  done
  # The reqwest loop: each runtime's client (core 1) against its own current-thread server
  # (core 0), the two clients at once. The client prints its own rate and CPU per request.
  for flavor in current multi; do
    waits=()
    for side in $sides; do
      read -r hostport _ <<<"${addr[$side-current]}"
      taskset -c 1 "$(bin $side)" client "http://$hostport/text" 10000 \
        "$flavor" 1 >"$out/$side" &
      waits+=($!)
    done
    wait "${waits[@]}"
    for side in minirt tokio; do
      printf '%-18s %-7s %s\n' "reqwest $flavor" "$side" "$(cat "$out/$side")"
    done
  done
done
rm -r "$out"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
