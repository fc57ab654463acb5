#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test of the repository.
#
#   scripts/test.sh            # everything
#   scripts/test.sh rust       # or: python, node (several may be named)
#
# 1. Tools, when missing (apt-get as root, else sudo; otherwise it stops and names them): Node.js
#    and npm, Chromium and ChromeDriver (the dashboard tests), python3-venv, curl. Rust (cargo)
#    must be there already (https://rustup.rs).
# 2. A virtual environment (target/test-tools) with the Python programs the Rust tests run: the
#    PyPI `smartlead-cli` and `openapi-spec-validator`; then cargo test --workspace
#    --no-fail-fast (every test binary runs, even after a failure).
# 3. python/: a virtual environment in $CARGO_TARGET_DIR (default target/) named test-venv, with
#    pytest and the package installed by pip from ./python (which builds vendor-mock and
#    vendor-conformance with cargo; a debug build unless SETUPTOOLS_RUST_CARGO_PROFILE says
#    otherwise), then pytest python/tests.
# 4. node/: npm ci, then node --test, with the programs pip installed first on the PATH.
#
# Every suite runs even when an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(rust python node)
wants() { [[ " ${suites[*]} " == *" $1 "* ]]; }

say() { printf '\n== %s\n' "$*"; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 2; }

# --- 1. tools -------------------------------------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have cargo || die "cargo is missing: install Rust (https://rustup.rs), then run this again"
if wants node || wants rust; then
  have node || missing+=(nodejs)
  if wants node && ! have npm; then missing+=(npm); fi
fi
if wants rust; then
  have chromium || have chromium-browser || missing+=(chromium)
  have chromedriver || missing+=(chromium-driver)
  have curl || missing+=(curl)
  have python3 || missing+=(python3)
fi
if wants python || wants rust; then
  have python3 || missing+=(python3)
  venv_probe=$(mktemp -d)
  python3 -m venv "$venv_probe/v" >/dev/null 2>&1 || missing+=(python3-venv)
  rm -rf "$venv_probe"
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); elif have sudo; then apt=(sudo apt-get); else apt=(); fi
  if [ ${#apt[@]} -eq 0 ] || ! have apt-get; then
    die "missing: ${missing[*]}; install them (Debian: apt-get install -y ${missing[*]}) and run this again"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq || die "apt-get update failed; install ${missing[*]} by hand"
  "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target="$root/$target" ;; esac
failed=()

# --- 1b. Python tools of the Rust tests ------------------------------------------------------------
# The e2e tests run real third-party clients and validators: the PyPI `smartlead-cli` (unchanged,
# against the mock) and `openapi-spec-validator`. They go into a virtual environment of their own,
# first on the PATH of the tests (no system pip: Debian's Python refuses it).
tools="$target/test-tools"
if wants rust; then
  say "Python tools of the Rust tests into $tools (smartlead-cli, openapi-spec-validator)"
  if { [ -x "$tools/bin/python" ] || python3 -m venv "$tools"; } \
    && "$tools/bin/python" -m pip install --quiet --disable-pip-version-check smartlead-cli openapi-spec-validator; then
    export PATH="$tools/bin:$PATH"
  else
    failed+=(rust-tools)
  fi
fi

# --- 2. Rust --------------------------------------------------------------------------------------
if wants rust; then
  say "cargo test --workspace --no-fail-fast"
  cargo test --workspace --no-fail-fast || failed+=(rust)
fi

# --- 3. Python ------------------------------------------------------------------------------------
venv="$target/test-venv"
if wants python || wants node; then
  say "python/: pip install ./python into $venv"
  pip_quiet=(--quiet --disable-pip-version-check --root-user-action=ignore)
  # A debug build: it shares target/debug with cargo test, so it compiles little.
  export SETUPTOOLS_RUST_CARGO_PROFILE=${SETUPTOOLS_RUST_CARGO_PROFILE:-dev}
  if { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } \
    && "$venv/bin/python" -m pip install "${pip_quiet[@]}" --upgrade pip pytest \
    && "$venv/bin/python" -m pip install "${pip_quiet[@]}" --force-reinstall --no-deps ./python; then
    installed=1
  else
    installed=0
    failed+=(python-install)
  fi
fi
if wants python && [ "$installed" = 1 ]; then
  say "pytest python/tests"
  (cd python && "$venv/bin/python" -m pytest -p no:cacheprovider tests) || failed+=(python)
fi

# --- 4. Node --------------------------------------------------------------------------------------
if wants node; then
  say "node --test node/test"
  if (cd node && npm ci --no-audit --no-fund --loglevel=error); then
    # The programs pip built come first on the PATH (startMock looks there after VENDOR_MOCK_BIN).
    (cd node && PATH="$venv/bin:$PATH" node --test test/*.test.js) || failed+=(node)
  else
    failed+=(node-install)
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nscripts/test.sh: failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nscripts/test.sh: every suite passed (%s)\n' "${suites[*]}"
