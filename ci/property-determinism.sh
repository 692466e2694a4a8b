#!/usr/bin/env bash
# Checks that the property suites' seeded cases are a pure function of the seed: property_seeds
# (properties/tools) runs a fixed seed set — a random tree against the model and a random tree
# under a swarm fault plan per seed — and every line it prints (each case's trace hashes and
# verdict, and a hash over all) must be the same across two runs of BEDLAM_SEEDS_BIN (default:
# the debug build) and one run of BEDLAM_CLANG_SEEDS_BIN (default: the clang build; skipped
# with a notice if missing or set empty). Every case must also pass. Exits 1 otherwise.
# BEDLAM_SEED_COUNT sets how many seeds (default 200, from seed 1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${BEDLAM_SEEDS_BIN:-build/debug/properties/property_seeds}
clang_bin=${BEDLAM_CLANG_SEEDS_BIN-build/clang/properties/property_seeds}
count=${BEDLAM_SEED_COUNT:-200}

if [[ ! -x "$bin" ]]; then
    echo "property-determinism: $bin not found; build it first (cmake --build --preset debug)" >&2
    exit 1
fi
if [[ -n "$clang_bin" && ! -x "$clang_bin" ]]; then
    echo "property-determinism: notice: $clang_bin not found; skipping the cross-compiler comparison"
    clang_bin=""
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

runs=("$bin" "$bin")
[[ -z "$clang_bin" ]] || runs+=("$clang_bin")

failed=0
for i in "${!runs[@]}"; do
    rc=0
    "${runs[i]}" --from 1 --count "$count" >"$work/$i" || rc=$?
    if ((rc != 0)); then
        echo "property-determinism: '${runs[i]} --count $count' exited with $rc; failing cases:"
        grep 'verdict=fail' "$work/$i" | head -n 10 | sed 's/^/    /' || true
        failed=1
    fi
done
for i in "${!runs[@]}"; do
    if ! cmp -s "$work/0" "$work/$i"; then
        echo "property-determinism: MISMATCH between ${runs[0]} and ${runs[i]}; first differences:"
        diff "$work/0" "$work/$i" | head -n 10 | sed 's/^/    /' || true
        failed=1
    fi
done
if ((failed)); then
    echo "property-determinism: FAILED"
    exit 1
fi
echo "property-determinism: $(tail -n 1 "$work/0") ok (${#runs[@]} runs agree: ${runs[*]})"
