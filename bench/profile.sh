#!/usr/bin/env bash
# Profiles vendor-mock with callgrind: instructions per request for the health route and each
# vendor's create, and the start-up (spec loading). Instruction counts do not depend on what else
# the machine is doing, so before/after comparisons are exact. Knobs (environment):
#   PROFILE_REQUESTS=2000   requests per scenario, after 200 for warm-up
#   PROFILE_TOP=25          functions listed per scenario
#   PROFILE_OUT=target/profile/callgrind  where the callgrind files go (open them in kcachegrind)
#   PROFILE_SCENARIOS="health smartlead cellcast voiceaiwrapper agencyhandy"  which to run
#   PROFILE_SERVE_ARGS="--journal-size 0"  extra `serve` flags (VENDOR_MOCK_* variables pass too,
#                          e.g. VENDOR_MOCK_LOG=off), to measure what a feature costs
# Needs valgrind (installed with apt-get if missing). Builds into target/profile (release with
# line tables), so it does not disturb target/release.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${PROFILE_REQUESTS:-2000}
TOP=${PROFILE_TOP:-25}
OUT=${PROFILE_OUT:-target/profile/callgrind}
WARM=200
SCENARIOS=${PROFILE_SCENARIOS:-health smartlead cellcast voiceaiwrapper agencyhandy}
read -r -a SERVE_ARGS <<<"${PROFILE_SERVE_ARGS:-}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v valgrind >/dev/null; then
  as_root apt-get update && as_root apt-get install -y valgrind
fi

echo "== building vendor-mock (release with line tables) into target/profile" >&2
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release -p mock-server --bin vendor-mock \
  --target-dir target/profile >&2
BIN=target/profile/release/vendor-mock
mkdir -p "$OUT"
rm -f "$OUT"/*.out*

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PID=""
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || true' EXIT

# Start-up: `check` loads and compiles every spec, as `serve` does before it binds.
valgrind --tool=callgrind --callgrind-out-file="$OUT/startup.out" "$BIN" check >/dev/null 2>"$OUT/startup.log"
# Totals and listings go through files, and never `| head`: a closed pipe would trip pipefail.
annotate() {
  callgrind_annotate --auto=no --threshold=100 "$1" >"$1.self.txt" 2>/dev/null || true
  callgrind_annotate --auto=yes --inclusive=yes --threshold=100 --context=0 --include="$PWD" "$1" \
    >"$1.lines.txt" 2>/dev/null || true
}
total_of() { awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' "$1.self.txt"; }
# The project's costliest lines (inclusive: with what they call), then the top functions by
# their own cost (the thread entry points, at ~100 %, left out), both per request.
listing() {
  echo "### mock-server lines, inclusive instructions per request"
  python3 bench/hot_lines.py "$1.lines.txt" "$2" "$TOP"
  echo "### functions by self cost"
  grep -E '^ *[0-9,]+ \( ?[0-9]' "$1.self.txt" | grep -v '(100.0%)\|(99\.' | awk -v n="$TOP" 'NR <= n' |
    sed 's#/root/.cargo/registry/src/[^/]*/##; s#/rustc/[0-9a-f]*/library/##; s# \[[^]]*\]$##' | cut -c1-160
}

annotate "$OUT/startup.out"
echo "## startup (vendor-mock check): $(total_of "$OUT/startup.out") instructions"
listing "$OUT/startup.out" 1

health=/__admin/health
for scenario in $SCENARIOS; do
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$scenario.out" "$BIN" serve --port "$port" "${SERVE_ARGS[@]}" \
    >"$OUT/$scenario.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
  curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "$scenario: the server did not start" >&2; exit 1; }
  kind=$scenario
  if [ "$scenario" = health ]; then
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$health")" != 200 ]; then
      health=/accounts/companies # no admin API in this build: the cheapest vendor route instead
      echo "health: no /__admin/health in this build; profiling GET $health instead" >&2
    fi
    kind=$health
  fi
  python3 bench/send.py "$port" "$kind" "$WARM" 1
  callgrind_control --zero "$PID" >/dev/null
  python3 bench/send.py "$port" "$kind" "$N" 2
  callgrind_control --dump="$scenario" "$PID" >/dev/null
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  dump="$OUT/$scenario.out.1"
  annotate "$dump"
  total=$(total_of "$dump")
  echo
  echo "## $scenario: $((total / N)) instructions per request ($N requests)"
  listing "$dump" "$N"
done
