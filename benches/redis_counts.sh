#!/usr/bin/env bash
# What one unpipelined request costs kv and redis-server in the kernel: counts per request,
# which a loaded machine disturbs far less than requests/s.
#
#   benches/redis_counts.sh        # REQUESTS=100000 CLIENTS=50 TESTS=set,get,incr RT=1
#
# Needs perf (tracepoints), python3 and root. Starts, pinned to core 0 as benches/redis.sh
# does, redis-server (port 6390), kv --current-thread (6391) and kv --threads 2 (6392); for
# each test, the servers in turn under `redis-benchmark -t TEST -n REQUESTS -c CLIENTS` on
# core 1 (RT=1: both at SCHED_FIFO priority 1, so that other work on the machine waits).
# Prints per request, for each run:
#   server: CPU µs (/proc/PID/stat), voluntary and involuntary context switches
#           (/proc/PID/task/*/status: a voluntary one is a sleep in epoll_wait), syscalls by
#           kind and in all, reads that said EAGAIN, epoll waits and the events each
#           returned (perf record of their exits);
#   client: redis-benchmark's CPU µs, epoll_wait calls, context switches, and how busy it kept
#           its core (near 100 %: the client sets the rate).
# Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${REQUESTS:-100000}
clients=${CLIENTS:-50}
tests=${TESTS:-set,get,incr}
rt=${RT:-1}

cargo build --release --example kv
kv=target/release/examples/kv
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
declare -A pid_of name_of=([6390]=redis-server [6391]="kv current-thread" [6392]="kv multi-thread")
taskset -c 0 redis-server --save "" --appendonly no --port 6390 --bind 127.0.0.1 \
  --daemonize no --logfile "" >/dev/null & pids+=($!)
pid_of[6390]=$!
taskset -c 0 "$kv" --current-thread 127.0.0.1:6391 >/dev/null & pids+=($!)
pid_of[6391]=$!
taskset -c 0 "$kv" --threads 2 127.0.0.1:6392 >/dev/null & pids+=($!)
pid_of[6392]=$!
for port in 6390 6391 6392; do
  for _ in $(seq 100); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" PING >/dev/null || { echo "server on port $port did not start" >&2; exit 1; }
  if ((rt)); then chrt -a -f -p 1 "${pid_of[$port]}" >/dev/null; fi
done
client=(taskset -c 1)
if ((rt)); then client=(chrt -f 1 taskset -c 1); fi

events=raw_syscalls:sys_enter
for call in epoll_wait epoll_pwait2 epoll_ctl read recvfrom write sendto futex; do
  events+=,syscalls:sys_enter_$call
done
switches() {
  awk '/ctxt_switches/ { s[$1] += $2 } END { print s["voluntary_ctxt_switches:"] + 0, s["nonvoluntary_ctxt_switches:"] + 0 }' \
    /proc/"$1"/task/*/status
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
per_request() { awk -v a="$1" -v n="$requests" -v f="${2:-%.3f}" 'BEGIN { printf f, a / n }'; }

echo "load average at start: $(cat /proc/loadavg)"
for test in ${tests//,/ }; do
  for port in 6390 6391 6392; do
    pid=${pid_of[$port]}
    redis-cli -p "$port" FLUSHALL >/dev/null
    read -r vol0 invol0 <<<"$(switches "$pid")"
    ticks0=$(cpu_ticks "$pid")
    # Counting (in the kernel, cheap) and recording the epoll waits' exits (one sample a wait).
    perf stat -x, -e "$events" -e syscalls:sys_exit_recvfrom --filter 'ret == -11' \
      -e syscalls:sys_exit_read --filter 'ret == -11' -p "$pid" -o "$work/server" &
    counting=$!
    perf record -q -m 1024 -e syscalls:sys_exit_epoll_pwait2,syscalls:sys_exit_epoll_wait \
      -p "$pid" -o "$work/waits" 2>/dev/null &
    recording=$!
    sleep 2 # perf attaching, slow on a loaded machine
    wall=$({ TIMEFORMAT=%R; time "${client[@]}" perf stat -x, -e task-clock,syscalls:sys_enter_epoll_wait,context-switches \
      -o "$work/client" redis-benchmark -p "$port" -t "$test" -n "$requests" -c "$clients" -q \
      | tr '\r' '\n' | grep 'requests per second' >"$work/rate"; } 2>&1)
    kill -INT "$counting" "$recording"
    wait "$counting" "$recording" || true
    read -r vol1 invol1 <<<"$(switches "$pid")"
    ticks1=$(cpu_ticks "$pid")
    rate=$(sed -E 's/^[A-Z]+[^:]*: ([0-9.]+) requests per second.*/\1/' "$work/rate")
    echo "== ${name_of[$port]}, ${test^^}: $rate requests/s, load $(cut -d' ' -f1 /proc/loadavg)"
    echo "  server CPU µs $(per_request $(((ticks1 - ticks0) * 10000)) '%.2f')," \
      "voluntary switches $(per_request $((vol1 - vol0))), involuntary $(per_request $((invol1 - invol0)))"
    awk -F, -v n="$requests" '$1 ~ /^[0-9]+$/ && $1 > 0 {
      name = $3; sub(/^(raw_)?syscalls:sys_/, "", name)
      if (name == "enter") name = "all syscalls"; else if (name ~ /^exit_/) name = substr(name, 6) " = EAGAIN"; else sub(/^enter_/, "", name)
      printf "  server %-22s %.4f\n", name, $1 / n }' "$work/server"
    perf script -i "$work/waits" -F trace 2>/dev/null | python3 -c '
import sys
returned = [int(line.split()[-1], 16) for line in sys.stdin if line.strip()]
n, waits = int(sys.argv[1]), max(len(returned), 1)
print(f"  server epoll waits recorded {len(returned) / n:.4f}/request, {sum(returned) / waits:.2f} events each, {returned.count(0)} returned none")
' "$requests"
    awk -F, -v n="$requests" -v wall="$wall" '$1 ~ /^[0-9.]+$/ {
      if ($3 == "task-clock") printf "  client CPU µs %.2f (busy %.0f %%)\n", $1 * 1000 / n, $1 / 10 / wall
      else { name = $3; sub(/^syscalls:sys_enter_/, "", name); printf "  client %-22s %.4f\n", name, $1 / n } }' "$work/client"
  done
done
echo "load average at end: $(cat /proc/loadavg)"
