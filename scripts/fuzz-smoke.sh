#!/usr/bin/env bash
# A short fuzz run of every target (seconds each; FUZZ_SECONDS, default 10), part of the test
# command. It builds the targets as `cargo fuzz build -s none --dev` would (libFuzzer with
# coverage instrumentation, debug assertions, no sanitizer, so the stable toolchain suffices)
# but with plain cargo: installing cargo-fuzz takes ~10 minutes. Each target starts from a copy
# of its committed corpus (fuzz/corpus/<target>), so nothing is written into the repository; a
# crash fails the run and leaves the input in target/fuzz-smoke/work/<target>/crash-*.
# Long runs: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-10}
out=../target/fuzz-smoke
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (as cargo fuzz does).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --locked --bins --target "$host" --target-dir "$out"
status=0
for src in fuzz_targets/*.rs; do
  t=$(basename "$src" .rs)
  work="$out/work/$t"
  rm -rf "$work" && mkdir -p "$work/corpus"
  cp corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  if "$out/$host/debug/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -artifact_prefix="$work/" \
      "$work/corpus" >"$work/log" 2>&1; then
    echo "fuzz $t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$work/log" | tail -1), no crash"
  else
    echo "fuzz $t: CRASH (input and log in $work)" >&2
    tail -30 "$work/log" >&2
    status=1
  fi
done
exit $status
