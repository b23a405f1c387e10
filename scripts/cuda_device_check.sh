#!/usr/bin/env bash
# Builds the CUDA backend on a GPU machine, runs its tests, its benchmarks and the PyTorch peers in
# one go, and leaves the logs, the JSON and a plot under $OUT (default: build-device/out).
#
#   scripts/cuda_device_check.sh [tests] [bench] [peers] [model] [671b] [sanitize]
#                                 (default: tests bench peers model)
#   671b:     the full 61-layer DeepSeek-V3 671B-config forward on the GPU (synthetic weights)
#   sanitize: the CUDA tests under compute-sanitizer memcheck and racecheck
#   scripts/cuda_device_check.sh make-deps    (on a Debian machine with the packages: fills .deps/)
#
# Dependencies: found by find_package as usual; a folder .deps/ at the repository root (headers
# and CMake package files of Eigen, nlohmann-json, Catch2 and Google Benchmark) is used instead
# when present, for machines that have none of them. `make-deps` builds it from the system
# packages (libeigen3-dev, nlohmann-json3-dev, catch2, libbenchmark-dev); keep it out of git
# (.git/info/exclude) and carry it to the GPU machine.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [[ "${1:-}" == make-deps ]]; then
  rm -rf .deps && mkdir -p .deps/include .deps/lib .deps/cmake || exit 1
  cp -r /usr/include/eigen3 /usr/include/nlohmann /usr/include/catch2 /usr/include/benchmark .deps/include/ || exit 1
  lib=$(ls /usr/lib/x86_64-linux-gnu/libbenchmark.so.1.* | head -1)
  cp "$lib" .deps/lib/libbenchmark.so && cp "$lib" .deps/lib/libbenchmark.so.1debian || exit 1
  package() {  # name version body
    mkdir -p .deps/cmake/$1
    printf 'get_filename_component(_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)\n%s\n' "$3" > .deps/cmake/$1/$1Config.cmake
    printf 'set(PACKAGE_VERSION "%s")\nif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)\n  set(PACKAGE_VERSION_COMPATIBLE FALSE)\nelse()\n  set(PACKAGE_VERSION_COMPATIBLE TRUE)\nendif()\n' "$2" > .deps/cmake/$1/$1ConfigVersion.cmake
  }
  package Eigen3 3.4.0 'if(NOT TARGET Eigen3::Eigen)
  add_library(Eigen3::Eigen INTERFACE IMPORTED)
  set_target_properties(Eigen3::Eigen PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_root}/include/eigen3")
endif()'
  package nlohmann_json 3.11.2 'if(NOT TARGET nlohmann_json::nlohmann_json)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_root}/include")
endif()'
  package Catch2 2.13.10 'if(NOT TARGET Catch2::Catch2)
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_root}/include")
endif()'
  package benchmark 1.7.1 'if(NOT TARGET benchmark::benchmark)
  find_package(Threads REQUIRED)
  add_library(benchmark::benchmark SHARED IMPORTED)
  set_target_properties(benchmark::benchmark PROPERTIES IMPORTED_LOCATION "${_root}/lib/libbenchmark.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_root}/include" INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()'
  echo ".deps ready ($(du -sh .deps | cut -f1))"
  exit 0
fi
OUT=${OUT:-$root/build-device/out}
mkdir -p "$OUT"
steps=${*:-tests bench peers model}
want() { [[ " $steps " == *" $1 "* ]]; }
log=$OUT/device.log
: > "$log"
say() { echo "== $*" | tee -a "$log"; }

say "$(date -u +%Y-%m-%dT%H:%M:%SZ) steps: $steps"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$log"
nvcc --version | tail -2 | tee -a "$log"

deps=()
if [[ -d .deps/cmake ]]; then
  deps=(-DEigen3_DIR=$root/.deps/cmake/Eigen3 -Dnlohmann_json_DIR=$root/.deps/cmake/nlohmann_json
        -DCatch2_DIR=$root/.deps/cmake/Catch2 -Dbenchmark_DIR=$root/.deps/cmake/benchmark)
  export LD_LIBRARY_PATH=$root/.deps/lib:${LD_LIBRARY_PATH:-}
fi
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
build=build-device
say "configure"
cmake -S . -B $build "${generator[@]}" -DLATTE_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DLATTE_BUILD_EXAMPLES=ON \
  -DLATTE_NATIVE=OFF -DLATTE_CUDA_PTXAS_VERBOSE=ON "${deps[@]}" >> "$log" 2>&1 || { say "configure failed"; tail -30 "$log"; exit 1; }
targets=(bench_cuda)
want 671b && targets+=(latte-deepseek-671b)
for t in $(ls tests/cuda/cuda_*.cpp 2>/dev/null | xargs -n1 basename | sed 's/\.cpp$//'); do
  [[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t")
done
say "build ${targets[*]}"
start=$(date +%s)
cmake --build $build -j "$(nproc)" --target "${targets[@]}" > "$OUT/build.log" 2>&1
status=$?
say "build status $status in $(( $(date +%s) - start )) s"
grep -E "error|spill|Used [0-9]+ registers" "$OUT/build.log" | grep -B1 -E "error|[1-9][0-9]* bytes spill" | head -40 | tee -a "$log"
[[ $status -eq 0 ]] || { tail -40 "$OUT/build.log"; exit 1; }

run_test() {  # name, timeout, extra arguments
  local t=$build/tests/$1
  [[ -x $t ]] || { say "$1 missing"; return; }
  say "test $1"
  timeout "$2" "$t" "${@:3}" --durations yes >> "$OUT/tests.log" 2>&1
  local rc=$?
  say "$1 rc=$rc"
  tail -3 "$OUT/tests.log" | tee -a "$log"
}

if want tests; then
  run_test cuda_parity 150
  run_test cuda_fused 150
fi

if want bench; then
  say "bench_cuda"
  timeout 200 $build/bench/bench_cuda --benchmark_format=json --benchmark_out="$OUT/bench_cuda.json" \
    --benchmark_out_format=json 2>&1 | tee -a "$log" | grep -E "^(mla|flash|moe)"
fi

if want model; then
  run_test cuda_model 200
fi
if want tests || want model; then
  grep -E "FAILED|failed|with expansion|CAPTURE|relative error|greedy tokens|error " "$OUT/tests.log" | head -60 >> "$log"
fi

if want 671b; then
  say "latte-deepseek-671b --backend cuda"
  timeout 420 $build/examples/latte-deepseek-671b --backend cuda --threads "$(nproc)" > "$OUT/671b.log" 2>&1
  say "671b rc=$?"
  tr '\r' '\n' < "$OUT/671b.log" | grep -v "^\s*$" | tail -25 | tee -a "$log"
fi

if want sanitize; then
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in memcheck racecheck; do
    for t in cuda_parity cuda_fused; do
      say "compute-sanitizer --tool $tool $t"
      timeout 240 "$sanitizer" --tool "$tool" --error-exitcode 99 "$build/tests/$t" >> "$OUT/sanitize.log" 2>&1
      say "$tool $t rc=$?"
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Hazard|Invalid" "$OUT/sanitize.log" | tail -2 | tee -a "$log"
    done
  done
fi

if want peers; then
  say "peers"
  PYTHONUNBUFFERED=1 timeout 300 python3 bench/peers/cuda_torch_gpu_peers.py --out "$OUT/peers.json" 2>&1 | tee -a "$log"
  if [[ -f "$OUT/bench_cuda.json" && -f "$OUT/peers.json" ]]; then
    python3 bench/peers/cuda_report.py "$OUT/bench_cuda.json" "$OUT/peers.json" --out "$OUT" \
      --command "scripts/cuda_device_check.sh $steps" 2>&1 | tee -a "$log"
  fi
fi
say "done $(date -u +%Y-%m-%dT%H:%M:%SZ)"
