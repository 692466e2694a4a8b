#!/usr/bin/env bash
# Builds and runs the main job: the release build of `bedlam check` over the shipped scenarios
# (scenarios/*.yaml), each for its own number of seeds, on every core. It prints a summary
# table, and each failing seed with the command that replays it. BEDLAM_SEEDS overrides the
# seeds per scenario; BEDLAM_JOBS sets the build parallelism (default: cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash ci/install-deps.sh
cmake --preset release
cmake --build --preset release --parallel "${BEDLAM_JOBS:-$(nproc)}" --target bedlam
seeds=()
[[ -z "${BEDLAM_SEEDS:-}" ]] || seeds=(--seeds "$BEDLAM_SEEDS")
exec build/release/cli/bedlam check scenarios "${seeds[@]}" --failures build/release/bedlam-failures
