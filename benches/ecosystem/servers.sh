# Sourced by benches/ecosystem.sh and benches/ecosystem_paired.sh (from the repository's root,
# with `target` set): builds the axum app on both runtimes and starts its four servers, each
# pinned to core 0: `addr[SIDE-FLAVOR]` is "HOST:PORT PID" for SIDE minirt|tokio and FLAVOR
# current|multi (the multi-thread runtime with one worker). They are killed on exit.
# usage: start_servers FIRST_PORT
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
for side in minirt tokio; do
  CARGO_TARGET_DIR="$target" cargo build --release --quiet \
    --manifest-path "benches/ecosystem/$side/Cargo.toml"
done
bin() { echo "$target/release/eco-bench-$1"; }
# The server's CPU time so far (utime + stime of all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

pids=()
declare -A addr
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT
start_servers() {
  local port=$1 side flavor
  for side in minirt tokio; do
    for flavor in current multi; do
      taskset -c 0 "$(bin $side)" serve "127.0.0.1:$port" "$flavor" 1 2>/dev/null &
      pids+=($!)
      addr[$side-$flavor]="127.0.0.1:$port $!"
      port=$((port + 1))
    done
  done
  sleep 1
}
