#!/usr/bin/env bash
# Fuzzes latte's input readers: builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer
# and UndefinedBehaviorSanitizer), writes the seed corpora from tests/data, and runs each target
# for SECONDS seconds, one after another (one core). Prints the executions and coverage of each.
# Exits non-zero when any target finds a crash, a leak, a timeout or runs out of memory; the
# input that did it is left in BUILD/artifacts/TARGET/.
#
#   scripts/fuzz.sh SECONDS [TARGET...]        TARGET: safetensors index config (default: all)
#
# Environment: CXX_FUZZ (default clang++-14, else clang++), LATTE_FUZZ_BUILD (default build-fuzz),
# FUZZ_FLAGS (extra libFuzzer flags, e.g. -max_len=8192).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [safetensors|index|config ...]" >&2
  exit 2
fi
seconds=$1
shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(safetensors index config)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LATTE_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CXX_FUZZ:-}
if [[ -z $cxx ]]; then
  if command -v clang++-14 > /dev/null; then cxx=clang++-14; else cxx=clang++; fi
fi

cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j "${JOBS:-2}" > "$build/build.log" 2>&1 || { tail -50 "$build/build.log" >&2; exit 1; }
rm -rf "$build/seeds"
"$build/make_corpus" "$root/tests/data" "$build/seeds"

status=0
total=0
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  artifacts=$build/artifacts/$target
  log=$build/logs/$target.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  rc=0
  # shellcheck disable=SC2086
  "$build/fuzz_$target" "$corpus" "$build/seeds/$target" -dict="$root/fuzz/$target.dict" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${FUZZ_FLAGS:-} > "$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 || true)
  total=$((total + ${execs:-0}))
  if [[ $rc -ne 0 ]] || grep -qE '^==[0-9]+==ERROR|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer|runtime error:' "$log"; then
    echo "fuzz_$target: FAILED (exit $rc) after $execs executions; $coverage; log $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|artifact' "$log" | head -20 >&2 || true
    status=1
  else
    echo "fuzz_$target: $execs executions, $coverage, $rate"
  fi
done
echo "total: $total executions"
exit $status
