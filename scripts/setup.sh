#!/usr/bin/env bash
# Shared by run.sh and test.sh: installs the Debian packages latte builds with (when missing) and
# configures + builds into build/. Extra CMake arguments: LATTE_CMAKE_ARGS.
set -euo pipefail

latte_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
latte_build="${LATTE_BUILD_DIR:-$latte_root/build}"

latte_install_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "latte: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

latte_configure_and_build() {
  latte_install_packages cmake make g++ libeigen3-dev catch2 nlohmann-json3-dev libbenchmark-dev
  local cuda_args=()
  if [ -z "${LATTE_NO_CUDA:-}" ] && { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; }; then
    local nvcc_path
    nvcc_path="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
    cuda_args=(-DLATTE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc_path")
  fi
  # shellcheck disable=SC2086
  cmake -S "$latte_root" -B "$latte_build" -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" ${LATTE_CMAKE_ARGS:-} >/dev/null
  cmake --build "$latte_build" -j "$(nproc)" "$@"
}
