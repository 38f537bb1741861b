#!/usr/bin/env bash
# Memory per idle task, idle connection and pending timer (examples/mem_idle.rs), minirt beside
# tokio, both flavors: each measurement in a fresh process, minirt and tokio taking turns.
#
#   benches/memory.sh [TASKS] [CONNECTIONS] [TIMERS]   # default 100000 10000 1000000
#
# Prints one line per run (see examples/mem_idle.rs for what each figure is). The connection
# runs need TCP sockets for 2 x CONNECTIONS over 127.0.0.1 and an fd limit above CONNECTIONS:
# the soft limit is raised to the hard one here.
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-100000}
conns=${2:-10000}
timers=${3:-1000000}
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -le $((conns + 100)) ]; then
  echo "memory.sh: the fd limit $(ulimit -n) is too low for $conns connections" >&2
  exit 1
fi
cargo build --release --example mem_idle
bin=target/release/examples/mem_idle
for what in "tasks $tasks" "conns $conns" "timers $timers"; do
  set -- $what
  for flavor in ct mt; do
    for runtime in minirt tokio; do
      timeout 300 "$bin" "$1" "$runtime" "$flavor" "$2"
    done
  done
done
