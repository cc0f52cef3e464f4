#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target for FUZZ_SECONDS (default 600) each, JOBS (default 2)
# at a time, from the committed seed corpus (tests/fuzz/corpus/<target>; new inputs are kept in
# tests/fuzz/target/corpus/<target>, not committed). Prints runs and coverage per target; a crash
# stops with its input under tests/fuzz/artifacts/<target>.
set -euo pipefail
cd "$(dirname "$0")/../tests/fuzz"
seconds=${FUZZ_SECONDS:-600}
jobs=${JOBS:-2}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
cargo +nightly fuzz build --sanitizer none
targets=$(cargo +nightly fuzz list)
mkdir -p target/fuzz-logs
run() {
  local t=$1
  mkdir -p "target/corpus/$t"
  if ! cargo +nightly fuzz run --sanitizer none "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"target/fuzz-logs/$t.log" 2>&1; then
    echo "fuzz: $t: CRASH (input in tests/fuzz/artifacts/$t, log in tests/fuzz/target/fuzz-logs/$t.log)" >&2
    return 1
  fi
  local runs cov
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-logs/$t.log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "target/fuzz-logs/$t.log" | tail -1 | grep -o '[0-9]*' || echo '?')
  echo "fuzz: $t: ${seconds} s, ${runs} runs, coverage ${cov} edges, 0 crashes"
}
status=0
printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c "$(declare -f run); seconds=$seconds; run {}" || status=$?
[ "$status" = 0 ] || { echo "fuzz: a target crashed: see tests/fuzz/artifacts/ and tests/fuzz/target/fuzz-logs/" >&2; exit 1; }
