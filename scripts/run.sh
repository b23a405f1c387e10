#!/usr/bin/env bash
# Sets everything up and runs latte-generate. Without arguments it runs the tiny DeepSeek-V3
# model kept in the repository on its reference prompt; arguments go to latte-generate.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
latte_configure_and_build --target latte-generate
if [ $# -eq 0 ]; then
  set -- --model "$latte_root/tests/data/dsv3-tiny" --prompt 203,802,2,239,451,327,163,54,121,360,272,784,562,834,975,276 \
    --max-new-tokens 24
fi
exec "$latte_build/examples/latte-generate" "$@"
