#!/usr/bin/env bash
# Mutation testing of the reference clients, with the conformance suite as the test that must
# fail (issue 12): how much of what a client can get wrong does the suite catch?
#
#   conformance/mutation/run.sh [python|node|all]      (default: all)
#
# - python: mutmut (2.x, whose --runner takes any command) mutates a copy of
#   tests/clients/python/harness.py;
# - node: StrykerJS with its command test runner mutates a copy of tests/clients/node/harness.js.
# Each mutant is run through `vendor-conformance run` over all four vendors: a mutant is killed
# when the run exits non-zero. The tools are installed under target/mutation/ (a virtualenv, an
# npm folder), from PyPI and npm (StrykerJS 9: StrykerJS 10 needs Node 22). Results:
# target/mutation/<tool>/summary.md (generated, killed, survived, timed out, unviable, and the
# survivors sorted by classify.py); conformance/mutation/README.md has the last ones explained.
#
# Slow (seconds per mutant, hundreds of mutants): not part of CI. Settings (environment):
#   MUTATION_CASES   cases per scenario of each run (default 2: every variant of every
#                    scenario runs once)
#   MUTATION_SEED    seed of each run (default 1)
# `run.sh python` and `run.sh node` can run side by side (each has its own folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$ROOT/target/mutation"
CASES="${MUTATION_CASES:-2}"
SEED="${MUTATION_SEED:-1}"
WHICH="${1:-all}"

command -v python3 >/dev/null || { echo "run.sh: python3 is missing (apt-get install python3 python3-venv)" >&2; exit 2; }
cargo build -q -p conformance --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$WORK"

# A copy of the suite per tool: a build during the (long) run must not change it under the
# mutants, and two tools can run side by side.
copy_suite() { # $1: the tool's folder
    BIN="$1/vendor-conformance"
    rm -f "$BIN"
    cp "$ROOT/target/debug/vendor-conformance" "$BIN"
}

# Writes suite.sh: the suite against the harness in the current folder; exit 0 when the
# mutant survived, 1 when the suite caught it (any non-zero exit of the suite: mutmut counts
# only 1 as a failure). $1: interpreter and file.
suite() {
    printf '#!/bin/sh\n%q run --client %q --cases %s --seed %s --no-progress --timeout 5 --require-vendors --replay-dir %q >/dev/null 2>&1 || exit 1\n' \
        "$BIN" "exec:$1" "$CASES" "$SEED" "$WORK/failures" > suite.sh
}

python_mutants() {
    local dir="$WORK/python"
    mkdir -p "$dir"
    copy_suite "$dir"
    [ -x "$dir/venv/bin/mutmut" ] || {
        python3 -m venv "$dir/venv"
        "$dir/venv/bin/pip" install -q "mutmut>=2.5,<3"
    }
    cp "$ROOT/tests/clients/python/harness.py" "$dir/harness.py"
    cd "$dir"
    rm -f .mutmut-cache
    suite "python3 harness.py"
    local runner="sh suite.sh"
    # A mutant is timed out past twice the unmutated run plus 20 s (a busy machine varies).
    "$dir/venv/bin/mutmut" run --paths-to-mutate harness.py --runner "$runner" --no-progress \
        --simple-output --test-time-base 20 --tests-dir . || true
    python3 "$ROOT/conformance/mutation/summarize.py" mutmut "$dir/.mutmut-cache" tests/clients/python/harness.py \
        "$dir/venv/bin/mutmut" "$dir/harness.py" > "$dir/summary.md"
    cat "$dir/summary.md"
}

node_mutants() {
    local dir="$WORK/node"
    command -v node >/dev/null || { echo "run.sh: node is missing (apt-get install nodejs npm)" >&2; exit 2; }
    mkdir -p "$dir"
    copy_suite "$dir"
    cp "$ROOT/tests/clients/node/harness.js" "$dir/harness.js"
    cd "$dir"
    [ -d node_modules/@stryker-mutator/core ] || {
        printf '{"name":"vendor-conformance-mutation","private":true}\n' > package.json
        npm install --silent --no-audit --no-fund @stryker-mutator/core@9 >/dev/null
    }
    suite "node harness.js"
    cat > stryker.config.json <<EOF
{
  "testRunner": "command",
  "commandRunner": { "command": "sh suite.sh" },
  "mutate": ["harness.js"],
  "coverageAnalysis": "off",
  "concurrency": 2,
  "timeoutMS": 30000,
  "reporters": ["json", "clear-text", "progress-append-only"],
  "jsonReporter": { "fileName": "mutation.json" },
  "tempDirName": ".stryker-tmp",
  "cleanTempDir": true
}
EOF
    npx --no-install stryker run stryker.config.json || true
    python3 "$ROOT/conformance/mutation/summarize.py" stryker "$dir/mutation.json" tests/clients/node/harness.js \
        > "$dir/summary.md"
    cat "$dir/summary.md"
}

case "$WHICH" in
    python) python_mutants ;;
    node) node_mutants ;;
    all) (python_mutants); (node_mutants) ;;
    *) echo "usage: $0 [python|node|all]" >&2; exit 2 ;;
esac
