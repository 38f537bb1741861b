#!/usr/bin/env bash
# Regenerates tests/generated/greeter.rs from proto/greeter.proto with tonic-prost-build, in a
# scratch crate: the checked-in Rust is what the tests build, so neither CI nor a contributor
# needs protoc or a build script to run them. Needs protoc (apt-get install -y
# protobuf-compiler) and network access to crates.io; rerun it after editing the .proto or
# moving to another tonic minor version (keep the version below equal to Cargo.toml's tonic).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$scratch/src"
cat >"$scratch/Cargo.toml" <<TOML
[package]
name = "greeter-codegen"
version = "0.0.0"
edition = "2021"
publish = false

[build-dependencies]
tonic-prost-build = "0.14"

[workspace]
TOML
echo 'fn main() {}' >"$scratch/src/main.rs"
cat >"$scratch/build.rs" <<RS
fn main() -> Result<(), Box<dyn std::error::Error>> {
    tonic_prost_build::configure()
        .out_dir("$here/tests/generated")
        .compile_protos(&["$here/proto/greeter.proto"], &["$here/proto"])?;
    Ok(())
}
RS
CARGO_TARGET_DIR="$scratch/target" cargo build --manifest-path "$scratch/Cargo.toml" --quiet
# In the repository's style (rustfmt.toml), which `cargo fmt --check` in .ci/run holds it to.
rustfmt --edition 2021 "$here/tests/generated/greeter.rs"
echo "wrote $here/tests/generated/greeter.rs"
