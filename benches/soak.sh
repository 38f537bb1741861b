#!/usr/bin/env bash
# Soak test of the kv example: SOAK_SECONDS (default 600) of redis-benchmark load plus a chaos
# client (benches/soak/chaos.py: connections reset mid-pipeline, closed unread, or checked
# reply by reply). Samples kv's RSS and open fds every 10 s, and fails (exit 1) if
#  - the chaos client saw a wrong reply or a broken checked connection,
#  - kv died,
#  - RSS keeps growing: it rises in at least 3/4 of the 10-s intervals after the first third
#    of the run (warm-up), by more than 10 % overall (the keyspace is bounded: redis-benchmark
#    -r 10000, chaos keys expire after 2 s; DBSIZE is printed with every sample), or
#  - once the load stops, kv holds more fds than before it started.
#
#  - with SOAK_CHAOS_TASKS=1 (kv --chaos-tasks: tasks that panic, get aborted or complete at
#    random beside the server), any of those tasks ended otherwise than it was told to.
#
#   SOAK_SECONDS=60 benches/soak.sh
#   SOAK_CHAOS_TASKS=1 benches/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SOAK_SECONDS:-600}
port=${SOAK_PORT:-6393}
if ! command -v redis-benchmark >/dev/null; then
  apt-get update
  apt-get install -y redis-tools
fi
cargo build --release --example kv
kv=target/release/examples/kv

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
kv_args=()
chaos_log=$(mktemp)
if [[ ${SOAK_CHAOS_TASKS:-0} == 1 ]]; then kv_args+=(--chaos-tasks); fi
"$kv" "${kv_args[@]}" 127.0.0.1:"$port" >/dev/null 2>"$chaos_log" & kv_pid=$!
pids+=($kv_pid)
for _ in $(seq 100); do
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$kv_pid/status"; }
fds() { ls "/proc/$kv_pid/fd" | wc -l; }
fds_before=$(fds)
echo "soak: kv pid $kv_pid, $secs s; before the load: RSS $(rss_kb) kB, $fds_before fds"

redis-benchmark -p "$port" -t set,get,incr,mset -n 200000 -c 50 -P 4 -r 10000 -l -q \
  >/dev/null 2>&1 & pids+=($!)
bench_pid=$!
python3 benches/soak/chaos.py 127.0.0.1 "$port" "$secs" & chaos_pid=$!
pids+=($chaos_pid)

samples=()
start=$SECONDS
while ((SECONDS - start < secs)); do
  sleep 10
  kill -0 "$kv_pid" 2>/dev/null || { echo "soak: FAIL: kv died"; exit 1; }
  rss=$(rss_kb) fd=$(fds) keys=$(redis-cli -p "$port" DBSIZE)
  samples+=("$rss")
  printf 'soak: t=%4ds  RSS %7d kB  fds %4d  keys %7d\n' $((SECONDS - start)) "$rss" "$fd" "$keys"
  if ((${#kv_args[@]})); then grep 'chaos tasks' "$chaos_log" | tail -1 | sed 's/^/soak:   /'; fi
done

status=0
wait "$chaos_pid" || { echo "soak: FAIL: the chaos client saw a wrong reply or a broken connection"; status=1; }
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
sleep 2
fds_after=$(fds)
echo "soak: after the load: RSS $(rss_kb) kB, $fds_after fds (before: $fds_before)"
if ((fds_after > fds_before)); then
  echo "soak: FAIL: fds grew from $fds_before to $fds_after"
  status=1
fi
n=${#samples[@]}
if ((n >= 3)); then
  # A leak grows in most intervals after the warm-up (the first third of the samples: the
  # keyspace filling, hash tables doubling in steps); a step followed by a plateau is not one.
  warm=$((n / 3)) rising=0
  for ((i = warm + 1; i < n; i++)); do
    ((samples[i] > samples[i - 1])) && rising=$((rising + 1))
  done
  intervals=$((n - 1 - warm)) first=${samples[warm]} last=${samples[n - 1]}
  if ((rising * 4 >= intervals * 3 && last * 10 > first * 11)); then
    echo "soak: FAIL: RSS keeps growing: $first kB -> $last kB, rising in $rising of the last $intervals intervals"
    status=1
  fi
fi
redis-cli -p "$port" PING | grep -q PONG || { echo "soak: FAIL: kv stopped answering"; status=1; }
if ((${#kv_args[@]})); then
  last=$(grep 'chaos tasks' "$chaos_log" | tail -1)
  echo "soak: $last"
  if [[ $last != *" wrong 0" ]]; then
    echo "soak: FAIL: a chaos task ended otherwise than it was told to (or none reported)"
    status=1
  fi
fi
((status == 0)) && echo "soak: PASS"
exit $status
