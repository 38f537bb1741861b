#!/usr/bin/env bash
# tokio 1.54.x's own test suite, unchanged, on the drop-in `tokio` (compat/tokio) beside the
# real tokio.
#
# Builds two scratch crates whose tests/ are a verbatim copy of tokio's top-level tests/*.rs
# (and tests/support/), with `tokio = { version = "1", features = ["full", "test-util"] }` and
# tokio's own dev-dependencies (tokio-test, tokio-stream, futures, ... from crates.io):
#   target/tokio-suite/compat/  with the `[patch.crates-io]` line (everything runs on compat)
#   target/tokio-suite/tokio/   without it (the real tokio 1.54.x: the baseline)
# each with its own target dir (target/suite-compat, target/suite-tokio), built once with
# --keep-going so a file that does not compile costs only its own errors. Every test file that
# compiles is run on its own (bounded by a timeout); per-test outcomes go to
# target/tokio-suite/out/SIDE/FILE.txt and the comparison (per file: passed/failed on tokio and
# on compat, and "compat passes / tokio passes" over the tests that pass on tokio) to
# target/tokio-suite/report.txt.
#
# Usage: compat/tokio-suite/run.sh [--compat-only] [FILE_STEM...]   (default: every file)
#   --compat-only  reuse the tokio side's last results (the baseline changes only with tokio)
# Env: SUITE_THREADS (--test-threads, default 2), SUITE_TIMEOUT (seconds per file, default 300).
# Needs tokio 1.54.x's sources in the cargo registry (`cargo fetch` of any crate using it).
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$repo/target/tokio-suite"
threads="${SUITE_THREADS:-2}"
bound="${SUITE_TIMEOUT:-300}"

sides=(tokio compat)
if [ "${1:-}" = "--compat-only" ]; then
    sides=(compat)
    shift
fi

src=$(ls -d "$HOME"/.cargo/registry/src/*/tokio-1.54.* 2>/dev/null | sort -V | tail -1)
if [ -z "$src" ]; then
    echo "tokio 1.54.x sources not found in ~/.cargo/registry/src: run cargo fetch in compat/" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    stems=("$@")
else
    stems=()
    for f in "$src"/tests/*.rs; do stems+=("$(basename "$f" .rs)"); done
fi
targets=()
for s in "${stems[@]}"; do targets+=(--test "$s"); done

# The scratch crate of side $1 in $work/$1.
setup() {
    local side=$1 dir="$work/$1"
    mkdir -p "$dir/src"
    rm -rf "$dir/tests"
    cp -r "$src/tests" "$dir/tests"
    echo "//! Scratch crate: tokio's own tests, on $side." > "$dir/src/lib.rs"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "tokio-suite"
version = "0.0.0"
edition = "2021"
publish = false

[dev-dependencies]
tokio = { version = "1.54", features = ["full", "test-util"] }
tokio-test = "0.4"
tokio-stream = "0.1"
futures = { version = "0.3", features = ["async-await"] }
futures-test = "0.3.31"
futures-concurrency = "7.6.3"
async-stream = "0.3"
mockall = "0.13"
nix = { version = "0.31", default-features = false, features = ["aio", "fs", "socket"] }
tempfile = "3.1"
rand = "0.9"
proptest = "1"
socket2 = "0.6"
libc = "0.2.168"
# tokio's own dependencies, which its tests use too.
bytes = "1"
pin-project-lite = "0.2"

# tokio's tests gate themselves on tokio's feature names (\`#![cfg(feature = "full")]\`), which in
# tokio's own repository are the crate's features: the scratch crate declares them, all on.
[features]
default = ["full", "test-util"]
full = ["fs", "io-util", "io-std", "macros", "net", "parking_lot", "process", "rt", "rt-multi-thread", "signal", "sync", "time"]
fs = []
io-util = []
io-std = []
macros = []
net = []
parking_lot = []
process = []
rt = []
rt-multi-thread = []
signal = []
sync = []
time = []
test-util = []

[workspace]
TOML
    if [ "$side" = compat ]; then
        printf '\n[patch.crates-io]\ntokio = { path = "%s/compat/tokio" }\n' "$repo" >> "$dir/Cargo.toml"
    fi
}

# One build of every test file of side $1 that compiles.
build() {
    local side=$1
    # No incremental cache: each file is built once, and the cache would double the disk used.
    (cd "$work/$side" && CARGO_TARGET_DIR="$repo/target/suite-$side" CARGO_INCREMENTAL=0 \
        cargo build --tests --keep-going --message-format=json "${targets[@]}" \
        > "$work/$side/build.json" 2> "$work/$side/build.log")
}

# Runs every compiled test file of side $1; a file that did not compile gets a COMPILE-ERROR
# marker (with rustc's first distinct errors) instead of test output.
run_side() {
    local side=$1 s exe
    mkdir -p "$work/out/$side"
    for s in "${stems[@]}"; do
        exe=$(grep '"reason":"compiler-artifact"' "$work/$side/build.json" \
            | grep "\"name\":\"$s\",\"src_path\"" | grep -o '"executable":"[^"]*"' \
            | sed 's/"executable":"//; s/"$//' | tail -1)
        if [ -z "$exe" ]; then
            python3 - "$work/$side/build.json" "$s" > "$work/out/$side/$s.txt" <<'PY'
import json, sys
seen = []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-message" or m["target"]["name"] != sys.argv[2]:
        continue
    d = m["message"]
    if d["level"] == "error" and d["message"] not in seen and not d["message"].startswith("aborting"):
        seen.append(d["message"])
print("COMPILE-ERROR " + " | ".join(seen[:3]) + (" | ... (%d distinct)" % len(seen) if len(seen) > 3 else ""))
PY
            continue
        fi
        # Output to a file, not a pipe: a test's orphaned child (process_issue_7144's strace,
        # say) would hold a pipe open and stall the script.
        timeout -k 10 "$bound" "$exe" --test-threads="$threads" > "$work/out/$side/$s.txt" 2>&1 < /dev/null
        echo "EXIT $?" >> "$work/out/$side/$s.txt"
    done
}

mkdir -p "$work"
for side in "${sides[@]}"; do
    setup "$side"
    start=$(date +%s)
    build "$side"
    echo "$side: built in $(( $(date +%s) - start )) s" >&2
    start=$(date +%s)
    run_side "$side"
    echo "$side: ran in $(( $(date +%s) - start )) s" >&2
done

python3 "$repo/compat/tokio-suite/compare.py" "$work/out" "${stems[@]}" | tee "$work/report.txt"
