#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, then runs them.
# Used by CI (.ci/run) and by developers alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real (curl; php for PHP upstream tests and the assertion
# verifier; nginx with auth_request for the forward-auth tests; haproxy for the rolling-restart
# and fleet tests; chromium for the dashboard; systemd for `systemd-analyze verify` of the unit;
# postgresql and redis-server for the fleet tests, which start their own servers).
need=()
command -v curl >/dev/null || need+=(curl)
command -v php >/dev/null || need+=(php-cli)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
# systemd-analyze verifies the shipped systemd unit.
command -v systemd-analyze >/dev/null || need+=(systemd)
# jemalloc (the binary's allocator) is C, built by its crate with cc and make.
command -v make >/dev/null || need+=(make)
command -v cc >/dev/null || need+=(gcc)
# libFuzzer (built by libfuzzer-sys for the fuzz smoke run) is C++.
command -v c++ >/dev/null || need+=(g++)
# Debian's chromium renders the admin dashboard in tests/it/dashboard.rs (headless).
command -v chromium >/dev/null || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them, or run as root)" >&2
  fi
fi

# Lint and dependency tools, when missing (a fresh machine may have a minimal toolchain).
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# The allocation counter is its own workspace (benches/alloc): lint it too, so the README's
# command for it keeps building as the library's API moves.
cargo clippy --locked --manifest-path benches/alloc/Cargo.toml --target-dir target -- -D warnings
# Advisories are not checked by default: `cargo deny check advisories` clones the RustSec database
# from GitHub, which the CI machine cannot reach (it reaches crates.io, PyPI, Debian and npm only).
# Where GitHub is reachable, run with DENY_CHECKS="advisories bans licenses sources".
# shellcheck disable=SC2086 # DENY_CHECKS is a list of words
cargo deny check ${DENY_CHECKS:-bans licenses sources}

cargo test --locked

# Fuzz corpora (fuzz/corpus: seeds and every kept crash) replayed through the fuzz targets' own
# functions with plain `cargo test` (shares the main target directory); longer fuzzing is run by
# hand (fuzz/README.md).
cargo test --locked --manifest-path fuzz/Cargo.toml --target-dir target
# And a short fuzz run of every target (10 s each, from its corpus), built without cargo-fuzz.
scripts/fuzz-smoke.sh

# Python suite (tests/python): SeaTable's official client and schema checks against the debug
# binary, in a virtualenv of its own.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r tests/python/requirements.txt
# `cargo test` above built target/debug/portcullis for the integration tests; a `cargo build`
# here would rebuild about 30 crates (dev-dependencies change the feature set), so use that one.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[ -x "$TARGET_DIR/debug/portcullis" ] || { echo "cargo test did not build $TARGET_DIR/debug/portcullis" >&2; exit 1; }
PORTCULLIS_BIN="$PWD/$TARGET_DIR/debug/portcullis"
case "$TARGET_DIR" in /*) PORTCULLIS_BIN="$TARGET_DIR/debug/portcullis" ;; esac
PORTCULLIS_BIN="$PORTCULLIS_BIN" .venv/bin/python -m pytest -q tests/python
