#!/usr/bin/env bash
# tokio 1.54.x's own test suite, unchanged, on the drop-in `tokio` (compat/tokio).
#
# Builds a scratch crate in target/tokio-suite/ whose tests/ are a verbatim copy of tokio's
# top-level tests/*.rs (and tests/support/), with `tokio = { version = "1", features =
# ["full", "test-util"] }` and the `[patch.crates-io]` line, and tokio's own dev-dependencies
# (tokio-test, tokio-stream, futures, ... from crates.io, patched onto compat like everything
# else). Then: every test file that compiles is run on its own (bounded by a timeout), and a
# table of compile errors, passes and failures per file is written to target/tokio-suite/report.txt.
#
# Usage: compat/tokio-suite/run.sh [FILE_STEM...]   (default: every file)
# Needs tokio 1.54.x's sources in the cargo registry (`cargo fetch` of any crate using it).
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$repo/target/tokio-suite"
export CARGO_TARGET_DIR="$repo/target/ecosystem"

src=$(ls -d "$HOME"/.cargo/registry/src/*/tokio-1.54.* 2>/dev/null | sort -V | tail -1)
if [ -z "$src" ]; then
    echo "tokio 1.54.x sources not found in ~/.cargo/registry/src: run cargo fetch in compat/" >&2
    exit 2
fi

mkdir -p "$work"
rm -rf "$work/tests"
cp -r "$src/tests" "$work/tests"
mkdir -p "$work/src"
echo '//! Scratch crate: tokio'"'"'s own tests, on compat/tokio.' > "$work/src/lib.rs"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "tokio-suite"
version = "0.0.0"
edition = "2021"
publish = false

[dev-dependencies]
tokio = { version = "1", features = ["full", "test-util"] }
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

# tokio's tests gate themselves on tokio's feature names (`#![cfg(feature = "full")]`), which in
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

[patch.crates-io]
tokio = { path = "$repo/compat/tokio" }
TOML

cd "$work" || exit 2
if [ $# -gt 0 ]; then
    stems=("$@")
else
    stems=()
    for f in tests/*.rs; do stems+=("$(basename "$f" .rs)"); done
fi

report="$work/report.txt"
mkdir -p "$work/out"
: > "$report"
targets=()
for s in "${stems[@]}"; do targets+=(--test "$s"); done

# One build of everything that compiles (--keep-going), so a file that does not compile costs
# only its own errors.
cargo build --tests --keep-going --message-format=json "${targets[@]}" \
    > "$work/build.json" 2> "$work/build.log"

# The first distinct error messages rustc gave for test target $1 (from the JSON messages).
first_errors() {
    python3 - "$work/build.json" "$1" <<'PY'
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
print(" | ".join(seen[:3]) + (" | ... (%d distinct)" % len(seen) if len(seen) > 3 else ""))
PY
}

compiled=0 broken=0 whole=0 pass=0 fail=0
for s in "${stems[@]}"; do
    exe=$(grep '"reason":"compiler-artifact"' "$work/build.json" \
        | grep "\"name\":\"$s\",\"src_path\"" | grep -o '"executable":"[^"]*"' \
        | sed 's/"executable":"//; s/"$//' | tail -1)
    if [ -z "$exe" ]; then
        broken=$((broken + 1))
        printf '%-40s COMPILE-ERROR %s\n' "$s" "$(first_errors "$s")" >> "$report"
        continue
    fi
    compiled=$((compiled + 1))
    # Output to a file, not a pipe: a test's orphaned child (process_issue_7144's strace, say)
    # would hold a pipe open and stall the script.
    timeout -k 10 300 "$exe" --test-threads=2 > "$work/out/$s.txt" 2>&1 < /dev/null
    rc=$?
    out=$(cat "$work/out/$s.txt")
    p=$(printf '%s\n' "$out" | grep -c ' \.\.\. ok$')
    f=$(printf '%s\n' "$out" | grep -c ' \.\.\. FAILED$')
    pass=$((pass + p))
    fail=$((fail + f))
    if [ $rc -eq 0 ]; then
        whole=$((whole + 1))
        printf '%-40s ok      %4d passed\n' "$s" "$p" >> "$report"
    else
        [ $rc -eq 124 ] && f="$f+TIMEOUT"
        printf '%-40s FAILED  %4d passed %s failed: %s\n' "$s" "$p" "$f" \
            "$(printf '%s\n' "$out" | grep ' \.\.\. FAILED$' | sed 's/^test //; s/ \.\.\. FAILED$//' | tr '\n' ' ')" >> "$report"
    fi
done

{
    echo
    echo "files: ${#stems[@]}, compile: $compiled, do not compile: $broken, pass whole: $whole"
    echo "tests: $pass passed, $fail failed"
} >> "$report"
cat "$report"
