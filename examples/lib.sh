# Shared by the examples' run.sh scripts (sourced, never run). Each script gets:
#   ROOT, BIN (the gateway: $PORTCULLIS_BIN, default target/debug/portcullis under ROOT),
#   PYTHON ($PYTHON, else the repository's .venv, else python3), WORK (a temporary directory),
#   free_port, start_gateway, wait_ready, check (one request with curl and its expected outcome),
#   and a trap that stops every process started with `bg` and removes WORK.
# shellcheck shell=bash

EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$EXAMPLES")
BIN=${PORTCULLIS_BIN:-target/debug/portcullis}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
[ -x "$BIN" ] || { echo "no portcullis binary at $BIN (cargo build, or set PORTCULLIS_BIN)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-example.XXXXXX")
PIDS=()
FAILURES=0

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $(basename "$log")" >&2
      tail -n 20 "$log" >&2
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port that was free a moment ago (bound to port 0, then released).
free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bg LOG COMMAND...: run COMMAND in the background, output to WORK/LOG; its pid in LAST_PID.
bg() {
  local log=$1
  shift
  "$@" >"$WORK/$log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# wait_http URL [SECONDS]: until URL answers 2xx, or fail.
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-20}))
  until curl -sf -o /dev/null --max-time 1 "$url"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "nothing answered at $url" >&2
      return 1
    fi
    sleep 0.05
  done
}

# settings FILE PORT ADMIN_PORT [POLICY]: boot settings for one gateway on free ports.
settings() {
  cat >"$1" <<JSON
{
  "listeners": [{ "address": "127.0.0.1:$2" }],
  "admin": { "address": "127.0.0.1:$3" },
  "workers": 2,
  "policy": "${4:-policy}",
  "reload": { "debounce_ms": 50, "check_interval_ms": 1000 },
  "log": { "format": "text", "level": "info" }
}
JSON
}

# start_gateway NAME SETTINGS ADMIN_PORT: `portcullis serve`, logging to WORK/NAME.log, until /readyz.
start_gateway() {
  bg "$1.log" "$BIN" serve --config "$2"
  wait_http "http://127.0.0.1:$3/readyz" 30
}

# status_field ADMIN_PORT FIELD: one top-level field of the admin /status.
status_field() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/status" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# wait_generation ADMIN_PORT N: until the gateway runs policy generation N or later.
wait_generation() {
  local deadline=$((SECONDS + 15)) g
  while :; do
    g=$(status_field "$1" generation)
    [ "$g" -ge "$2" ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "the gateway on admin port $1 is still at generation $g, not $2" >&2
      return 1
    fi
    sleep 0.05
  done
}

# check LABEL STATUS TEXT CURL_ARGS...: send one request with curl; it must answer STATUS with
# TEXT in its body (TEXT may be empty). Prints one line; a mismatch prints the answer and counts
# as a failure (see `finish`). The body is left in BODY.
check() {
  local label=$1 want=$2 text=$3 out status
  shift 3
  out=$(curl -sS --max-time 10 --globoff -w '\n%{http_code}' "$@") || out=$'\n000'
  status=${out##*$'\n'}
  BODY=${out%$'\n'*}
  BODY=${BODY%$'\n'}
  if [ "$status" = "$want" ] && { [ -z "$text" ] || [[ "$BODY" == *"$text"* ]]; }; then
    printf 'ok    %s %s\n' "$status" "$label"
  else
    printf 'FAIL  %s: expected %s%s, got %s: %s\n' "$label" "$want" "${text:+ with $text}" "$status" "$BODY"
    FAILURES=$((FAILURES + 1))
  fi
}

# finish: exit 1 if any check failed.
finish() {
  if [ "$FAILURES" -ne 0 ]; then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# show: print the last answer's body, indented, with signed tokens shortened.
show() {
  printf '      %s\n' "$BODY" | sed -E 's/(eyJ[A-Za-z0-9_-]{16})[A-Za-z0-9_.-]*/\1.../g'
}
