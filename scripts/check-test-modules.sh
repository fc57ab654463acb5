#!/usr/bin/env bash
# Every file in tests/tests/ is a module of the one e2e test binary (tests/tests/main.rs), which
# has autotests off: a file not declared there would silently never run. Exits 1 naming it.
cd "$(dirname "$0")/.."
status=0
for f in tests/tests/*.rs; do
  name=$(basename "$f" .rs)
  [ "$name" = main ] && continue
  grep -q "^mod $name;" tests/tests/main.rs || { echo "tests/tests/$name.rs is not a module of tests/tests/main.rs"; status=1; }
done
exit $status
