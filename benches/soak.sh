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
# With SOAK_KV_ARGS="--chaos" kv also runs, for the soak's length, client tasks that panic or
# are aborted at random (examples/kv/chaos.rs); at the end kv gets SIGTERM and must exit with
# status 0 (its chaos line then has `wrong 0`: every reply right, every task ended as it had to).
#
#   SOAK_SECONDS=60 benches/soak.sh
#   SOAK_KV_ARGS="--threads 2 --chaos" benches/soak.sh
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
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -f "${kv_log:-}"' EXIT
kv_log=$(mktemp)
# shellcheck disable=SC2206 # SOAK_KV_ARGS is a list of words
kv_args=(${SOAK_KV_ARGS:-})
# --chaos lasts as long as the load, so that the fds counted after it are the server's alone.
for i in "${!kv_args[@]}"; do
  if [[ ${kv_args[i]} == --chaos ]]; then kv_args[i]="--chaos $secs"; fi
done
# shellcheck disable=SC2068 # each "--chaos SECS" splits into two words on purpose
"$kv" ${kv_args[@]} 127.0.0.1:"$port" >"$kv_log" 2>&1 & kv_pid=$!
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
  printf 'soak: t=%4ds  RSS %7d kB  fds %4d  keys %7d  %s\n' $((SECONDS - start)) "$rss" "$fd" "$keys" \
    "$(grep '^kv chaos:' "$kv_log" | tail -n 1 | sed 's/^kv chaos: //')"
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
kill -TERM "$kv_pid"
kv_status=0
wait "$kv_pid" || kv_status=$?
grep -E '^kv (chaos|: shut down)' "$kv_log" | tail -n 2 | sed 's/^/soak: /'
if ((kv_status != 0)); then
  echo "soak: FAIL: kv exited with status $kv_status after SIGTERM (3: a chaos task saw a wrong reply)"
  status=1
fi
((status == 0)) && echo "soak: PASS"
exit $status
