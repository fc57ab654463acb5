#!/usr/bin/env bash
# Fuzzes the whole request path (fuzz_targets/whole_request.rs) for a bounded time.
#
#   fuzz/run.sh [SECONDS]        default 60 (or $FUZZ_SECONDS)
#
# Installs cargo-fuzz if missing. cargo-fuzz needs nightly flags; on the stable toolchain
# RUSTC_BOOTSTRAP=1 lets them through. Seeds: seeds/whole_request (the vendors' captured example
# requests and variants, committed); the growing corpus is corpus/whole_request and crashes go
# to artifacts/whole_request (both ignored by git). Exits non-zero when the fuzzer finds a crash,
# a panic or a hang; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a whole_request artifacts/whole_request/crash-…
# FUZZ_SANITIZER (default `none`: the project forbids unsafe code) may be set to `address`.
set -euo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS=${1:-${FUZZ_SECONDS:-60}}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-none}
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

export RUSTC_BOOTSTRAP=1
mkdir -p corpus/whole_request
echo "== building the fuzz target"
cargo fuzz build -s "$FUZZ_SANITIZER" -a whole_request
echo "== fuzzing for ${FUZZ_SECONDS}s"
# -timeout: one input taking longer than 10 s is a hang (the target itself fails after 5 s).
# -rss_limit_mb: the mock is reset before every input, so memory must stay flat.
cargo fuzz run -s "$FUZZ_SANITIZER" -a whole_request corpus/whole_request seeds/whole_request -- \
  -max_total_time="$FUZZ_SECONDS" -dict=http.dict -timeout=10 -rss_limit_mb=1024 -print_final_stats=1
