#!/usr/bin/env bash
# Builds and runs every test: the determinism lint, then configure, build and ctest for each
# preset in BEDLAM_PRESETS (default "debug clang asan tsan"), then the cross-build determinism
# checks (the demo, and the property suites' seeded cases).
# BEDLAM_JOBS sets the build parallelism (default: the number of cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

presets=${BEDLAM_PRESETS:-debug clang asan tsan}
jobs=${BEDLAM_JOBS:-$(nproc)}

bash ci/install-deps.sh
bash ci/lint_determinism.sh

for preset in $presets; do
    echo "==> preset $preset"
    cmake --preset "$preset"
    cmake --build --preset "$preset" --parallel "$jobs"
    ctest --preset "$preset"
done

# Compare the demo's hash across two runs of one build and across compilers. The reference
# build is debug when it was built, else the first preset; the clang comparison needs the clang
# preset in this run, so a stale build/clang from an earlier run is never compared.
reference=debug
[[ " $presets " == *" debug "* ]] || read -r reference _ <<<"$presets"
clang_bin=""
[[ " $presets " == *" clang "* && "$reference" != clang ]] && clang_bin=build/clang/cli/bedlam
echo "==> determinism ($reference vs ${clang_bin:-no clang build})"
BEDLAM_BIN="build/$reference/cli/bedlam" BEDLAM_CLANG_BIN="$clang_bin" bash ci/determinism.sh

# The same for the property suites' seeded cases (trees against the model, trees under swarm
# plans): two runs of the reference build and one of clang must print the same hashes.
clang_seeds=""
[[ -n "$clang_bin" ]] && clang_seeds=build/clang/properties/property_seeds
echo "==> property determinism ($reference vs ${clang_seeds:-no clang build})"
BEDLAM_SEEDS_BIN="build/$reference/properties/property_seeds" BEDLAM_CLANG_SEEDS_BIN="$clang_seeds" \
    bash ci/property-determinism.sh
