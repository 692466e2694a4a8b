#!/usr/bin/env bash
# Builds and runs every test: the determinism lint, then configure, build and ctest for each
# preset in BEDLAM_PRESETS (default "debug fuzz tsan"), then the cross-build determinism
# checks (the demo, and the property suites' seeded cases). The fuzz preset is the clang build:
# the second compiler's warnings, the normal suite under clang's ASan and UBSan, and each
# libFuzzer target fuzzed for BEDLAM_FUZZ_SECONDS (default 60) plus the canary (CTest label
# `fuzz`; docs/fuzzing.md).
# BEDLAM_JOBS sets the build parallelism (default: the number of cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The g++ asan preset is left out by default: the fuzz preset runs the same suite under clang's
# ASan and UBSan, and with both the run would pass CI's 30 minutes on 2 cores. Add it with
# BEDLAM_PRESETS="debug fuzz asan tsan".
presets=${BEDLAM_PRESETS:-debug fuzz tsan}
jobs=${BEDLAM_JOBS:-$(nproc)}

bash ci/install-deps.sh
bash ci/lint_determinism.sh

for preset in $presets; do
    echo "==> preset $preset"
    cmake --preset "$preset"
    cmake --build --preset "$preset" --parallel "$jobs"
    if [[ "$preset" == fuzz ]]; then
        # The normal suite first, then the fuzz runs on their own (two at a time): a fuzzer
        # keeps a core busy, which would starve the threaded scheduler's timed tests.
        ctest --preset fuzz --label-exclude '^fuzz$'
        ctest --preset fuzz --label-regex '^fuzz$'
    else
        ctest --preset "$preset"
    fi
done

# Compare the demo's hash across two runs of one build and across compilers. The reference
# build is debug when it was built, else the first preset; the clang comparison takes the fuzz
# build (clang), else the clang build, whichever this run built, so that a stale build from an
# earlier run is never compared.
reference=debug
[[ " $presets " == *" debug "* ]] || read -r reference _ <<<"$presets"
clang_build=""
for candidate in fuzz clang; do
    if [[ -z "$clang_build" && " $presets " == *" $candidate "* && "$reference" != "$candidate" ]]; then
        clang_build=build/$candidate
    fi
done
clang_bin=""
[[ -n "$clang_build" ]] && clang_bin=$clang_build/cli/bedlam
echo "==> determinism ($reference vs ${clang_bin:-no clang build})"
BEDLAM_BIN="build/$reference/cli/bedlam" BEDLAM_CLANG_BIN="$clang_bin" bash ci/determinism.sh

# The same for the property suites' seeded cases (trees against the model, trees under swarm
# plans): two runs of the reference build and one of clang must print the same hashes.
clang_seeds=""
[[ -n "$clang_build" ]] && clang_seeds=$clang_build/properties/property_seeds
echo "==> property determinism ($reference vs ${clang_seeds:-no clang build})"
BEDLAM_SEEDS_BIN="build/$reference/properties/property_seeds" BEDLAM_CLANG_SEEDS_BIN="$clang_seeds" \
    bash ci/property-determinism.sh
