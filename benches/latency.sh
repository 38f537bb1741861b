#!/usr/bin/env bash
# Latency under load (examples/loadgen_open.rs): every server's saturation rate from a
# closed-loop run, then open-loop runs at 25, 50 and 90 % of it, minirt beside tokio (and nginx
# for http, redis-server for kv), both flavors, all on 127.0.0.1.
#
#   cargo build --release --examples
#   benches/latency.sh [ROUNDS] [SECONDS] [GROUPS]   # default: 2 rounds of 10-second runs, all groups
#
# The groups (GROUPS is a list of their names), each a set of servers measured at the same
# offered rates:
#   echo-ct  echo, tokio_echo (current-thread), pinned to core 0; the generator on core 1
#   echo-mt  echo --threads 2, tokio_echo --threads 2; nothing pinned
#   http-ct  http, tokio_http, nginx (1 worker; benches/nginx.conf), pinned to core 0; generator core 1
#   http-mt  http --threads 2, tokio_http --threads 2, nginx (2 workers); nothing pinned
#   kv-ct    kv --current-thread, redis-server, pinned to core 0; generator core 1
#   kv-mt    kv --threads 2, redis-server; nothing pinned
# (nginx and redis-server are installed with apt-get when missing; a group runs without them if
# that fails.) A group's saturation rate is the lowest closed-loop rate among its servers (50
# connections, 5 s after 1 s of warm-up), so that every server is asked for the same rates and
# all can keep up. Then, round after round, at each of the three rates, the servers take turns
# (so the slow phases of a shared machine hit each of them): open loop, 50 connections, SECONDS
# seconds recorded after 1 s of warm-up, latency from each request's scheduled send time.
#
# Prints one line per run (with the generator's own send lateness: when its p99 is not small
# next to the server's latency, the machine was the limit), then a table of p99 ratios to the
# group's reference (tokio for echo and http, redis-server for kv). `uptime` is printed at the
# start and the end: the figures mean something only on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
secs=${2:-10}
groups=${3:-echo-ct echo-mt http-ct http-mt kv-ct kv-mt}
conns=50
bin=target/release/examples
for example in echo tokio_echo http tokio_http kv loadgen_open; do
  [ -x "$bin/$example" ] || { echo "latency.sh: build first: cargo build --release --examples" >&2; exit 1; }
done
if ! command -v nginx >/dev/null || ! command -v redis-server >/dev/null; then
  { apt-get update && apt-get install -y nginx redis-server; } >/dev/null 2>&1 ||
    echo "latency.sh: could not install nginx and redis-server; going on without" >&2
fi
have() { command -v "$1" >/dev/null; }

pids=()
tmp=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

# The servers: name, protocol, port and how it is pinned, by group.
declare -A members proto_of
# start GROUP NAME PROTO PORT PIN COMMAND...: starts a server in the background.
start() {
  local group=$1 name=$2 proto=$3 port=$4 pin=$5
  shift 5
  if [ "$pin" = core0 ]; then
    taskset -c 0 "$@" >/dev/null 2>"$tmp/$name.err" &
  else
    "$@" >/dev/null 2>"$tmp/$name.err" &
  fi
  pids+=($!)
  members[$group]="${members[$group]:-} $name:$port"
  proto_of[$group]=$proto
}
nginx_on() { # PORT WORKERS: an nginx prefix directory serving benches/nginx.conf's reply
  local dir="$tmp/nginx-$1"
  mkdir -p "$dir"
  sed -e "s/^worker_processes 1;/worker_processes $2;/" -e "s/127.0.0.1:18482/127.0.0.1:$1/" \
    benches/nginx.conf >"$dir/nginx.conf"
  echo "$dir"
}
redis_args=(--save "" --appendonly no --bind 127.0.0.1 --daemonize no --logfile "")

for group in $groups; do
  case $group in
    echo-ct)
      start "$group" minirt echo 17610 core0 "$bin/echo" 127.0.0.1:17610
      start "$group" tokio echo 17611 core0 "$bin/tokio_echo" 127.0.0.1:17611 ;;
    echo-mt)
      start "$group" minirt echo 17612 any "$bin/echo" 127.0.0.1:17612 --threads 2
      start "$group" tokio echo 17613 any "$bin/tokio_echo" 127.0.0.1:17613 --threads 2 ;;
    http-ct)
      start "$group" minirt http 18610 core0 "$bin/http" 127.0.0.1:18610
      start "$group" tokio http 18611 core0 "$bin/tokio_http" 127.0.0.1:18611
      if have nginx; then
        d=$(nginx_on 18612 1)
        start "$group" nginx http 18612 core0 nginx -p "$d" -c "$d/nginx.conf" -e stderr
      fi ;;
    http-mt)
      start "$group" minirt http 18613 any "$bin/http" 127.0.0.1:18613 --threads 2
      start "$group" tokio http 18614 any "$bin/tokio_http" 127.0.0.1:18614 --threads 2
      if have nginx; then
        d=$(nginx_on 18615 2)
        start "$group" nginx http 18615 any nginx -p "$d" -c "$d/nginx.conf" -e stderr
      fi ;;
    kv-ct)
      start "$group" minirt resp 6610 core0 "$bin/kv" --current-thread 127.0.0.1:6610
      if have redis-server; then
        start "$group" redis resp 6611 core0 redis-server --port 6611 "${redis_args[@]}"
      fi ;;
    kv-mt)
      start "$group" minirt resp 6612 any "$bin/kv" --threads 2 127.0.0.1:6612
      if have redis-server; then
        start "$group" redis resp 6613 any redis-server --port 6613 "${redis_args[@]}"
      fi ;;
    *) echo "latency.sh: no group $group" >&2; exit 2 ;;
  esac
done
for group in $groups; do
  for member in ${members[$group]}; do
    port=${member#*:}
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
      { echo "latency.sh: ${member%:*} of $group is not listening on $port" >&2; cat "$tmp"/*.err >&2; exit 1; }
  done
done

# load GROUP PROTO PORT ARGS...: runs the generator (pinned to core 1 for a pinned group) and
# prints its RESULT line.
load() {
  local group=$1 proto=$2 port=$3
  shift 3
  local pin=()
  [ "${group#*-}" = ct ] && pin=(taskset -c 1)
  "${pin[@]}" "$bin/loadgen_open" "$proto" "127.0.0.1:$port" --connections "$conns" "$@" |
    grep '^RESULT' || echo "RESULT failed=1"
}
field() { echo "$1" | grep -oE "(^| )$2=[0-9.]+" | cut -d= -f2 || true; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; uptime:$(uptime | sed 's/.*load average/ load average/')"
declare -A saturation
for group in $groups; do
  sat=
  for member in ${members[$group]}; do
    result=$(load "$group" "${proto_of[$group]}" "${member#*:}" --closed --seconds 5)
    rate=$(field "$result" achieved)
    printf '%-8s %-7s saturation (closed loop, %d connections): %8s /s  p50 %s us  p99 %s us\n' \
      "$group" "${member%:*}" "$conns" "${rate:-?}" "$(field "$result" p50_us)" "$(field "$result" p99_us)"
    if [ -n "$rate" ] && { [ -z "$sat" ] || [ "${rate%.*}" -lt "$sat" ]; }; then sat=${rate%.*}; fi
  done
  saturation[$group]=${sat:-0}
done

results="$tmp/results"
printf '%-8s %5s %4s %8s %-7s %9s %9s %9s %9s %9s %6s %11s\n' group round load rate server achieved \
  p50_us p99_us p99.9_us max_us lost late_p99_us
for round in $(seq "$rounds"); do
  for pct in 25 50 90; do
    for group in $groups; do
      rate=$((saturation[$group] * pct / 100))
      [ "$rate" -gt 0 ] || continue
      for member in ${members[$group]}; do
        result=$(load "$group" "${proto_of[$group]}" "${member#*:}" --rate "$rate" --seconds "$secs")
        line=$(printf '%-8s %5s %3s%% %8s %-7s %9s %9s %9s %9s %9s %6s %11s' "$group" "$round" "$pct" "$rate" \
          "${member%:*}" "$(field "$result" achieved)" "$(field "$result" p50_us)" "$(field "$result" p99_us)" \
          "$(field "$result" p999_us)" "$(field "$result" max_us)" "$(field "$result" lost)" \
          "$(field "$result" late_p99_us)")
        echo "$line"
        echo "$line" >>"$results"
      done
    done
  done
done

echo
echo "p99 of minirt / p99 of the reference (tokio; redis for kv), per round; target <= 0.8:"
awk '{ key = $1 " " $3; p99[key " " $2 " " $5] = $8; if (!(key in seen)) { seen[key] = 1; order[n++] = key }; if ($2 > rounds) rounds = $2 }
  END {
    for (i = 0; i < n; i++) {
      split(order[i], k, " "); ref = (k[1] ~ /^kv/) ? "redis" : "tokio"; line = sprintf("%-8s %4s", k[1], k[2])
      for (r = 1; r <= rounds; r++) {
        m = p99[order[i] " " r " minirt"]; t = p99[order[i] " " r " " ref]
        line = line sprintf("   round %s: %s / %s us = %s", r, m, t, (t > 0 ? sprintf("%.2f", m / t) : "-"))
      }
      print line
    }
  }' "$results"
echo "# end $(date -u '+%H:%M UTC'); uptime:$(uptime | sed 's/.*load average/ load average/')"
