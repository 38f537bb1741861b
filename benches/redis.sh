#!/usr/bin/env bash
# kv (examples/kv) against redis-server under redis-benchmark, on this machine.
#
#   benches/redis.sh        # REQUESTS=200000 CLIENTS=50 ROUNDS=1 RT=0 by default
#
# Installs redis-server and redis-tools with apt-get when missing, builds kv in release, and
# starts on 127.0.0.1, each pinned to core 0 (as benches/load.sh pins its servers):
#   redis-server --save "" --appendonly no --port 6390      (single-threaded)
#   the same again on port 6393                             (the control: redis against itself)
#   kv --current-thread 127.0.0.1:6391                      (equal cores: the comparison)
#   kv --threads 2 127.0.0.1:6392                           (multi-thread flavor, same core 0)
# redis-benchmark runs on core 1: `-t set,get,incr,mset -n REQUESTS -c CLIENTS -q`, without
# and with `-P 16`, one test at a time, the servers taking turns (in an order that rotates
# every round). RT=1 runs the servers and redis-benchmark at SCHED_FIFO priority 1 (root), so
# that other work on a shared machine waits while they run instead of taking turns with them.
#
# Prints one table: requests/s (best of ROUNDS); kv current-thread / redis and redis again /
# redis (the median over rounds of each round's ratio: the control's spread is this machine's
# noise); the server's CPU time per request (from /proc/PID/stat, in the best run); and
# redis-benchmark's own CPU time per request and how busy it kept its core (bash's `time`),
# for redis and kv current-thread. Without pipelining the client costs about as much per
# request as either server, so near 100 % busy it, not the server, sets the rate.
# Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${REQUESTS:-200000}
clients=${CLIENTS:-50}
rounds=${ROUNDS:-1}
rt=${RT:-0}
tests=set,get,incr,mset

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  apt-get update
  apt-get install -y redis-server redis-tools
fi
cargo build --release --example kv
kv=target/release/examples/kv

# (ports: 6390 redis-server, 6391 kv --current-thread, 6392 kv --threads 2, 6393 redis again)
ports=(6390 6391 6393 6392)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
declare -A pid_of
for port in 6390 6393; do
  taskset -c 0 redis-server --save "" --appendonly no --port "$port" --bind 127.0.0.1 \
    --daemonize no --logfile "" >/dev/null & pids+=($!)
  pid_of[$port]=$!
done
taskset -c 0 "$kv" --current-thread 127.0.0.1:6391 >/dev/null & pids+=($!)
pid_of[6391]=$!
taskset -c 0 "$kv" --threads 2 127.0.0.1:6392 >/dev/null & pids+=($!)
pid_of[6392]=$!
for port in "${ports[@]}"; do
  for _ in $(seq 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" PING >/dev/null || { echo "server on port $port did not start" >&2; exit 1; }
  if ((rt)); then chrt -a -f -p 1 "${pid_of[$port]}" >/dev/null; fi
done
client=(taskset -c 1)
if ((rt)); then client=(chrt -f 1 taskset -c 1); fi

# bench PORT TEST PIPELINE: one redis-benchmark run; prints "RATE WALL_S USER_S SYS_S".
bench() {
  redis-cli -p "$1" FLUSHALL >/dev/null
  local out times rate
  out=$(mktemp)
  times=$({ TIMEFORMAT='%R %U %S'; time "${client[@]}" redis-benchmark -p "$1" -t "$2" \
    -n "$requests" -c "$clients" -P "$3" -q >"$out"; } 2>&1)
  rate=$(tr '\r' '\n' <"$out" | grep 'requests per second' \
    | sed -E 's/^[A-Z]+[^:]*: ([0-9.]+) requests per second.*/\1/')
  rm -f "$out"
  echo "$rate $times"
}

# CPU time of a process so far (all its threads), in clock ticks (1/100 s).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# The servers take turns on every line (and every round, starting one further along each
# round), so the slow phases of a shared machine hit all of them; rates are the best of ROUNDS
# runs, ratios the median of the rounds' ratios.
declare -A rate cpu client_cpu client_busy round_rate
for ((round = 1; round <= rounds; round++)); do
  for pipeline in 1 16; do
    for test in ${tests//,/ }; do
      for ((i = 0; i < ${#ports[@]}; i++)); do
        port=${ports[$(((i + round - 1) % ${#ports[@]}))]}
        before=$(cpu_ticks "${pid_of[$port]}")
        read -r value wall user sys <<<"$(bench "$port" "$test" "$pipeline")"
        after=$(cpu_ticks "${pid_of[$port]}")
        key=$test,$pipeline,$port
        round_rate[$key,$round]=$value
        if awk -v a="$value" -v b="${rate[$key]:-0}" 'BEGIN { exit !(a > b) }'; then
          rate[$key]=$value
          # CPU per request in µs (mset: per MSET of 10 keys), for the best run: the server's
          # from its ticks, redis-benchmark's from bash's `time`, with how busy it was.
          cpu[$key]=$(awk -v t=$((after - before)) -v n="$requests" 'BEGIN { printf "%.1f", t * 10000 / n }')
          client_cpu[$key]=$(awk -v u="$user" -v s="$sys" -v n="$requests" 'BEGIN { printf "%.1f", (u + s) * 1e6 / n }')
          client_busy[$key]=$(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.0f", (u + s) * 100 / w }')
        fi
      done
    done
  done
done

# ratio_median TEST PIPELINE PORT: median over rounds of rate(PORT) / rate(redis-server).
ratio_median() {
  for ((round = 1; round <= rounds; round++)); do
    awk -v a="${round_rate[$1,$2,$3,$round]:-0}" -v b="${round_rate[$1,$2,6390,$round]:-0}" \
      'BEGIN { if (b > 0) printf "%.4f\n", a / b }'
  done | median
}

printf '| %-6s | %-8s | %12s | %11s | %17s | %15s | %11s | %17s | %s | %s |\n' test pipeline \
  redis-server "redis again" "kv current-thread" "kv multi-thread" "kv-ct/redis" "redis again/redis" \
  "server CPU µs/request: redis, kv-ct, kv-mt" "client CPU µs/request (busy): redis, kv-ct"
printf '|--------|----------|-------------:|------------:|------------------:|----------------:|------------:|------------------:|---|---|\n'
for pipeline in 1 16; do
  for test in set get incr mset; do
    k=$test,$pipeline
    awk -v t="${test^^}" -v p="$pipeline" -v r="${rate[$k,6390]:-0}" -v r2="${rate[$k,6393]:-0}" \
      -v c="${rate[$k,6391]:-0}" -v m="${rate[$k,6392]:-0}" \
      -v kr="$(ratio_median "$test" "$pipeline" 6391)" -v rr="$(ratio_median "$test" "$pipeline" 6393)" \
      -v cr="${cpu[$k,6390]:-?}" -v cc="${cpu[$k,6391]:-?}" -v cm="${cpu[$k,6392]:-?}" \
      -v lr="${client_cpu[$k,6390]:-?} (${client_busy[$k,6390]:-?} %)" \
      -v lc="${client_cpu[$k,6391]:-?} (${client_busy[$k,6391]:-?} %)" 'BEGIN {
      printf "| %-6s | %-8s | %12.0f | %11.0f | %17.0f | %15.0f | %10.2fx | %16.2fx | %s, %s, %s | %s, %s |\n",
        t, (p == 1 ? "none" : "-P " p), r, r2, c, m, kr, rr, cr, cc, cm, lr, lc }'
  done
done
