#!/usr/bin/env bash
# Builds latte's CPU tests and examples with AddressSanitizer (LeakSanitizer included) and
# UndefinedBehaviorSanitizer — the CMake preset asan-ubsan: -O1 with line tables, libstdc++
# assertions, no CUDA, no benchmarks — and runs the default test suite under them
# (ctest -LE '^long$', as scripts/test.sh does). Any sanitizer report fails the run:
#   - every report aborts its process (abort_on_error for ASan, LSan and UBSan alike), so its
#     test fails, child processes included (the CLI tests' latte-generate runs exit by SIGABRT,
#     never with the status 1 they may expect);
#   - ASan and LSan reports are also written to BUILD/sanitizer-reports/ and printed at the end;
#   - the test output is searched for report lines (UBSan writes to stderr only).
#
#   scripts/sanitize.sh [extra ctest arguments, e.g. -R model_]
#
# Environment: LATTE_SANITIZE_BUILD (build folder, default build-asan-ubsan, the preset's),
# JOBS (build and test jobs, default: nproc).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

build=${LATTE_SANITIZE_BUILD:-$latte_root/build-asan-ubsan}
jobs=${JOBS:-$(nproc)}
latte_install_packages cmake make g++ libeigen3-dev catch2 nlohmann-json3-dev libbenchmark-dev

reports=$build/sanitizer-reports
start=$SECONDS
(cd "$latte_root" && cmake --preset asan-ubsan -B "$build" > /dev/null)
cmake --build "$build" -j "$jobs"
built=$SECONDS

rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 1800 -LE '^long$' "$@" 2>&1 | tee "$build/sanitize-ctest.log" ||
  status=$?
if grep -qE 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' \
  "$build/sanitize-ctest.log"; then
  echo "sanitize: sanitizer reports in the test output (above)" >&2
  status=1
fi

shopt -s nullglob
found=("$reports"/*)
if [[ ${#found[@]} -gt 0 ]]; then
  for report in "${found[@]}"; do
    echo "==== $report" >&2
    cat "$report" >&2
  done
  echo "sanitize: ${#found[@]} sanitizer report(s), listed above" >&2
  status=1
fi
echo "sanitize: build $((built - start)) s, tests $((SECONDS - built)) s" >&2
exit "$status"
