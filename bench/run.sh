#!/usr/bin/env bash
# The vendor-mock benchmark (not a test): builds the release binary and measures, on loopback,
# what bench/README.md describes. Progress goes to stderr; the markdown table goes to stdout and
# to bench/results.md. Knobs (environment):
#   BENCH_SECONDS=5            seconds of each wrk run
#   BENCH_CONNECTIONS=32       wrk connections
#   BENCH_THREADS=2            wrk threads
#   BENCH_START_RUNS=20        runs of the start-to-first-answer timer (the median is reported)
#   BENCH_MEMORY_REQUESTS=1000000  requests before the second VmHWM reading
#   BENCH_CONFORMANCE_CASES=100    cases per vendor for the conformance-suite step
#   BENCH_LOG=…                passed to the server as VENDOR_MOCK_LOG (default: its own default)
#   BENCH_WORKERS=…            passed to the server as --workers (default: its own default)
#   BENCH_OUT=bench/results.md where the table is written too
#   BENCH_STRICT=1             exit 1 when a target is missed
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_START_RUNS=${BENCH_START_RUNS:-20}
BENCH_MEMORY_REQUESTS=${BENCH_MEMORY_REQUESTS:-1000000}
BENCH_CONFORMANCE_CASES=${BENCH_CONFORMANCE_CASES:-100}
BENCH_OUT=${BENCH_OUT:-bench/results.md}
BENCH_STRICT=${BENCH_STRICT:-0}
VENDORS=(smartlead cellcast voiceaiwrapper agencyhandy)
KEY=bench-key

# Targets (issue 5).
TARGET_RATIO=70     # creates at >= 70 % of the health route's throughput
TARGET_START_MS=20  # first answer within 20 ms of start
TARGET_MEM_MIB=30   # VmHWM under 30 MiB after a million requests

say() { echo "== $*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------- tools
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
  say "installing wrk"
  as_root apt-get update && as_root apt-get install -y wrk
fi
for tool in curl python3 cargo; do command -v "$tool" >/dev/null || die "$tool is needed"; done

# ---------------------------------------------------------------------------------------- build
say "building vendor-mock (release)"
cargo build --release -p mock-server --bin vendor-mock >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/release/vendor-mock"
[ -x "$BIN" ] || die "$BIN was not built"

WORK=$(mktemp -d)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts a fresh server on a free port (PORT, SERVER_PID); its log goes to a file as in CI.
start_server() {
  PORT=$(free_port)
  local extra=()
  [ -z "${BENCH_WORKERS:-}" ] || extra=(--workers "$BENCH_WORKERS")
  if [ -n "${BENCH_LOG:-}" ]; then
    VENDOR_MOCK_LOG="$BENCH_LOG" "$BIN" serve --port "$PORT" "${extra[@]}" >"$WORK/server.log" 2>&1 &
  else
    "$BIN" serve --port "$PORT" "${extra[@]}" >"$WORK/server.log" 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 1 500); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited: $(cat "$WORK/server.log")"
    sleep 0.01
  done
  die "the server did not answer within 5 s"
}

# The server's CPU time so far (user and system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
# Microseconds of server CPU per request: TICKS_BEFORE TICKS_AFTER REQUESTS.
cpu_us() { awk -v a="$1" -v b="$2" -v n="$3" -v t="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / t / n * 1e6}'; }

kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$SERVER_PID/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
# 1234567 -> 1,234,567 (printf's %'d depends on the locale).
group() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\b/,&/' -e 'ta'; }

# Runs wrk with the report script's one-line summary; prints "requests rps p50 p99 status_err sock_err".
run_wrk() {
  local seconds=$1; shift
  local out
  out=$(wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${seconds}s" --timeout 5s "$@") || die "wrk failed: $out"
  echo "$out" | sed -n 's/^BENCH requests=\([0-9]*\) seconds=[0-9.]* rps=\([0-9.]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\) status_errors=\([0-9]*\) socket_errors=\([0-9]*\)$/\1 \2 \3 \4 \5 \6/p'
}

company_of() {
  curl -s "http://127.0.0.1:$PORT/accounts/companies" -H "x-api-key: $1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["companies"][0]["_id"])'
}

ROWS=()
MISSED=0
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }
# Sets VERDICT from 1 (target met) or 0, and remembers a miss (no subshell: MISSED must stick).
verdict() { if [ "$1" = 1 ]; then VERDICT=pass; else MISSED=1; VERDICT="**FAIL**"; fi; }

# --------------------------------------------------------------------------- throughput, latency
say "throughput: $BENCH_THREADS wrk threads, $BENCH_CONNECTIONS connections, ${BENCH_SECONDS}s per run"
start_server
BASE_PATH=/__admin/health
BASE_HEADERS=()
BASE_NAME='`GET /__admin/health`'
if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$BASE_PATH")" != 200 ]; then
  # The admin API is not there (an older build): fall back to the cheapest vendor route.
  BASE_PATH=/accounts/companies
  BASE_HEADERS=(-H "x-api-key: $KEY")
  BASE_NAME='`GET /accounts/companies` (no `/__admin/health` in this build)'
  say "GET /__admin/health is not 200 here: using GET /accounts/companies as the baseline"
fi
COMPANY=$(company_of "$KEY")

run_wrk 1 -s bench/wrk/report.lua "${BASE_HEADERS[@]}" "http://127.0.0.1:$PORT$BASE_PATH" >/dev/null # warm-up
T0=$(cpu_ticks)
read -r BASE_N BASE_RPS BASE_P50 BASE_P99 BASE_SE BASE_XE < <(run_wrk "$BENCH_SECONDS" -s bench/wrk/report.lua "${BASE_HEADERS[@]}" "http://127.0.0.1:$PORT$BASE_PATH")
[ -n "${BASE_RPS:-}" ] || die "no wrk summary for the baseline"
BASE_CPU=$(cpu_us "$T0" "$(cpu_ticks)" "$BASE_N")
say "baseline: $BASE_RPS req/s, server CPU $BASE_CPU us per request"
result=$(printf '%s req/s · p50 %s ms · p99 %s ms · server CPU %s µs/request' "$(group "${BASE_RPS%.*}")" "$BASE_P50" "$BASE_P99" "$BASE_CPU")
if [ "$BASE_SE$BASE_XE" = 00 ]; then VERDICT=—; else verdict 0; result="$result · errors: $BASE_SE status, $BASE_XE socket"; fi
row "$BASE_NAME" "$result" "baseline" "$VERDICT"

run=1
for vendor in "${VENDORS[@]}"; do
  run=$((run + 1))
  T0=$(cpu_ticks)
  read -r N RPS P50 P99 SE XE < <(run_wrk "$BENCH_SECONDS" -s bench/wrk/create.lua "http://127.0.0.1:$PORT" -- "$vendor" "$run" "$COMPANY")
  [ -n "${RPS:-}" ] || die "no wrk summary for $vendor"
  CPU=$(cpu_us "$T0" "$(cpu_ticks)" "$N")
  RATIO=$(awk -v a="$RPS" -v b="$BASE_RPS" 'BEGIN {printf "%.0f", 100 * a / b}')
  say "$vendor create: $RPS req/s ($RATIO %), $N requests, $SE status errors, $XE socket errors"
  ok=$([ "$RATIO" -ge "$TARGET_RATIO" ] && [ "$SE" = 0 ] && [ "$XE" = 0 ] && echo 1 || echo 0)
  result=$(printf '%s req/s · p50 %s ms · p99 %s ms · server CPU %s µs/request · **%s %%** of the baseline' "$(group "${RPS%.*}")" "$P50" "$P99" "$CPU" "$RATIO")
  [ "$SE$XE" = 00 ] || result="$result · errors: $SE status, $XE socket"
  verdict "$ok"
  row "$vendor create (unique e-mails)" "$result" "≥ $TARGET_RATIO %" "$VERDICT"
done
HWM_AFTER_CREATES=$(kib VmHWM)
stop_server

# ------------------------------------------------------------------------ start to first answer
say "start to first answer: $BENCH_START_RUNS runs"
START=$(python3 bench/first_answer.py "$BIN" "$BENCH_START_RUNS" "$BASE_PATH" ${BASE_HEADERS[1]:+"${BASE_HEADERS[1]}"} | tail -1)
read -r MEDIAN MIN MAX < <(echo "$START" | sed -n 's/^FIRST_ANSWER median_ms=\([0-9.]*\) min_ms=\([0-9.]*\) max_ms=\([0-9.]*\).*/\1 \2 \3/p')
ok=$(awk -v m="$MEDIAN" -v t="$TARGET_START_MS" 'BEGIN {print (m <= t) ? 1 : 0}')
verdict "$ok"
row "Start to first 200 (\`serve\`, fresh process)" "median **$MEDIAN ms** (min $MIN, max $MAX; $BENCH_START_RUNS runs)" "≤ $TARGET_START_MS ms" "$VERDICT"

# ----------------------------------------------------------------------------------- memory
say "memory: VmHWM idle, then after $BENCH_MEMORY_REQUESTS requests"
start_server
sleep 0.2
IDLE_HWM=$(kib VmHWM)
COMPANY=$(company_of "$KEY")
done_requests=0
seconds=$BENCH_SECONDS
deadline=$((SECONDS + 900))
while [ "$done_requests" -lt "$BENCH_MEMORY_REQUESTS" ] && [ "$SECONDS" -lt "$deadline" ]; do
  read -r N RPS _ _ _ XE < <(run_wrk "$seconds" -s bench/wrk/replay.lua "http://127.0.0.1:$PORT" -- "$COMPANY")
  [ "$XE" = 0 ] || die "socket errors during the memory run"
  done_requests=$((done_requests + N))
  left=$((BENCH_MEMORY_REQUESTS - done_requests))
  seconds=$(awk -v l="$left" -v r="$RPS" 'BEGIN {s = int(l / r * 1.02) + 1; print (s < 1) ? 1 : s}')
  say "  $done_requests requests so far ($RPS req/s)"
done
LOADED_HWM=$(kib VmHWM)
LOADED_RSS=$(kib VmRSS)
stop_server
row "Peak memory idle (VmHWM)" "$(mib "$IDLE_HWM") MiB" "—" "—"
ok=$(awk -v k="$LOADED_HWM" -v t="$TARGET_MEM_MIB" 'BEGIN {print (k / 1024 < t) ? 1 : 0}')
[ "$done_requests" -ge "$BENCH_MEMORY_REQUESTS" ] || ok=0
verdict "$ok"
row "Peak memory after $(group "$done_requests") requests (VmHWM; journal bound 10,000)" \
  "**$(mib "$LOADED_HWM") MiB** (VmRSS $(mib "$LOADED_RSS") MiB)" "< $TARGET_MEM_MIB MiB" "$VERDICT"
row "Peak memory after the throughput runs (VmHWM; every create stored)" "$(mib "$HWM_AFTER_CREATES") MiB" "—" "—"

# ------------------------------------------------------------------------ conformance suite speed
say "conformance suite speed"
CONF_RESULT=""
# The in-process Rust reference client through the library (tests/examples/conformance_speed.rs).
if out=$(cargo run --quiet --release -p e2e --example conformance_speed -- "$BENCH_CONFORMANCE_CASES" 2>"$WORK/conformance.log"); then
  CONF_RESULT=$(echo "$out" | sed -n 's/^CONFORMANCE cases=\([0-9]*\) seconds=\([0-9.]*\) cases_per_second=\([0-9]*\).*/**\3 cases\/s** (\1 cases in \2 s, every vendor and scenario)/p')
else
  tail -20 "$WORK/conformance.log" >&2
  CONF_RESULT="**failed**: the reference client did not pass (see above)"
  MISSED=1
fi
say "conformance: $CONF_RESULT"
row "Conformance suite, in-process Rust client" "$CONF_RESULT" "—" "—"

# ------------------------------------------------------------------------------------- table
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes)"
{
  echo "# vendor-mock benchmark"
  echo
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "- When: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT"
  echo "- Load: wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}') on loopback, $BENCH_THREADS threads, $BENCH_CONNECTIONS connections, ${BENCH_SECONDS} s per run, on the same machine as the server"
  echo "- Server: \`vendor-mock serve\` (release, ${BENCH_WORKERS:+--workers $BENCH_WORKERS, }default flags, log ${BENCH_LOG:+filter \`$BENCH_LOG\` }to a file)"
  echo
  echo "| Measurement | Result | Target | Verdict |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
} | tee "$BENCH_OUT"
say "written to $BENCH_OUT"
if [ "$BENCH_STRICT" = 1 ] && [ "$MISSED" = 1 ]; then exit 1; fi
