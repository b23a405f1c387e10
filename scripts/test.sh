#!/usr/bin/env bash
# Sets everything up, builds latte with its tests and runs the whole default test suite
# (soak tests under the label "long" are left out: run them with `ctest --test-dir build -L long`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
latte_configure_and_build
ctest --test-dir "$latte_build" --output-on-failure -j "$(nproc)" -LE '^long$' "$@"
