#!/usr/bin/env bash
# Builds and runs the main job: the release build of `bedlam demo` with seed 42
# (BEDLAM_SEED overrides it). BEDLAM_JOBS sets the build parallelism (default: cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ci/install-deps.sh
cmake --preset release
cmake --build --preset release --parallel "${BEDLAM_JOBS:-$(nproc)}" --target bedlam
exec build/release/cli/bedlam demo --seed "${BEDLAM_SEED:-42}"
