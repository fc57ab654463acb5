#!/usr/bin/env bash
# Self-test of the reference client harnesses (Python, Node) and their mutants against a live
# vendor-mock: see tests/clients/MUTANTS.md and tests/clients/python/selftest.py.
#
#   tests/clients/selftest.sh                          # build the mock, start it on a free port
#   tests/clients/selftest.sh --mock-url URL           # use a running mock
#   tests/clients/selftest.sh --only python|node       # one harness
#   SELFTEST_HARNESS_STDERR=1 tests/clients/selftest.sh  # show the harnesses' stderr logs
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ " $* " == *" --mock-url "* ]]; then
  exec python3 tests/clients/python/selftest.py "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! cargo build -q -p mock-server 2>"$tmp/build.log"; then
  [[ -x target/debug/vendor-mock ]] || { cat "$tmp/build.log" >&2; echo "selftest: cannot build the mock" >&2; exit 2; }
  echo "selftest: warning: the mock does not build right now ($(grep -m1 '^error' "$tmp/build.log")); using the existing target/debug/vendor-mock" >&2
fi
# Run a private copy, so that a concurrent build cannot swap the binary under the test.
cp target/debug/vendor-mock "$tmp/vendor-mock"
python3 tests/clients/python/selftest.py --mock-bin "$tmp/vendor-mock" "$@"
