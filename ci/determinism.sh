#!/usr/bin/env bash
# Checks that `bedlam demo --seed S` is a pure function of S, without and with chaos (`--swarm`,
# a fault plan drawn from the seed): for seeds 1 2 3 the last line
# (`seed=<S> hash=<16 hex>`) must match across two runs of BEDLAM_BIN (default: the debug
# build) and one run of BEDLAM_CLANG_BIN (default: the clang build; skipped with a notice if
# it is missing or set empty), and seeds 1 and 2 must hash differently. The same for
# `bedlam run` over every shipped scenario (seeds 1 and 2, with and without --swarm). Exits 1
# on a mismatch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${BEDLAM_BIN:-build/debug/cli/bedlam}
clang_bin=${BEDLAM_CLANG_BIN-build/clang/cli/bedlam}
timeout_s=${BEDLAM_DEMO_TIMEOUT:-600}

if [[ ! -x "$bin" ]]; then
    echo "determinism: $bin not found; build it first (cmake --build --preset debug)" >&2
    exit 1
fi
if [[ -n "$clang_bin" && ! -x "$clang_bin" ]]; then
    echo "determinism: notice: $clang_bin not found; skipping the cross-compiler comparison"
    clang_bin=""
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run <binary> <seed> <output file> [flags...]: runs the demo and prints its last line, or fails.
run() {
    local rc=0
    timeout "$timeout_s" "$1" demo --seed "$2" "${@:4}" >"$3" || rc=$?
    if ((rc != 0)); then
        echo "determinism: '$1 demo --seed $2 ${*:4}' exited with $rc; last lines:" >&2
        tail -n 5 "$3" >&2
        return 1
    fi
    tail -n 1 "$3"
}

# Each seed runs on every binary in this list; run i writes its output to $work/<seed>.<i>.
runs=("$bin" "$bin")
[[ -z "$clang_bin" ]] || runs+=("$clang_bin")

failed=0
declare -A hash_of
for mode in plain swarm; do
flags=()
[[ $mode == plain ]] || flags=(--swarm)
for seed in 1 2 3; do
    lines=()
    for i in "${!runs[@]}"; do
        line=$(run "${runs[i]}" "$seed" "$work/$seed.$i" "${flags[@]}")
        lines+=("$line")
    done

    if [[ ! "${lines[0]}" =~ ^seed=$seed\ hash=([0-9a-fA-F]{16})$ ]]; then
        echo "seed=$seed FAIL: last line is '${lines[0]}', expected 'seed=$seed hash=<16 hex>'"
        failed=1
        continue
    fi
    hash_of[$mode.$seed]=${BASH_REMATCH[1]}

    ok=1
    for i in "${!lines[@]}"; do
        if [[ "${lines[i]}" != "${lines[0]}" ]]; then
            ok=0
            echo "seed=$seed MISMATCH: ${runs[0]} printed '${lines[0]}', ${runs[i]} printed '${lines[i]}'"
            echo "  first differences in the full output:"
            diff "$work/$seed.0" "$work/$seed.$i" | head -n 10 | sed 's/^/    /' || true
        fi
    done
    if ((ok)); then
        echo "${lines[0]} ok ($mode; ${#runs[@]} runs agree: ${runs[*]})"
    else
        failed=1
    fi
done
done

# The shipped scenarios: `bedlam run FILE --seed S` (and with --swarm) must print the same last
# line on every binary.
for file in scenarios/*.yaml; do
    for flags in "" "--swarm"; do
        for seed in 1 2; do
            lines=()
            for i in "${!runs[@]}"; do
                rc=0
                # shellcheck disable=SC2086
                timeout "$timeout_s" "${runs[i]}" run "$file" --seed "$seed" $flags >"$work/scenario.$i" || rc=$?
                if ((rc != 0 && rc != 1 && rc != 3)); then
                    echo "determinism: '${runs[i]} run $file --seed $seed $flags' exited with $rc"
                    tail -n 5 "$work/scenario.$i"
                    failed=1
                fi
                lines+=("$(tail -n 1 "$work/scenario.$i")")
            done
            for i in "${!lines[@]}"; do
                if [[ "${lines[i]}" != "${lines[0]}" ]]; then
                    echo "$file seed=$seed $flags MISMATCH: '${lines[0]}' vs '${lines[i]}' (${runs[i]})"
                    failed=1
                fi
            done
            echo "$file $flags ${lines[0]} ok (${#runs[@]} runs agree)"
        done
    done
done

for mode in plain swarm; do
    if [[ -n "${hash_of[$mode.1]:-}" && "${hash_of[$mode.1]}" == "${hash_of[$mode.2]:-}" ]]; then
        echo "FAIL ($mode): seeds 1 and 2 both hash to ${hash_of[$mode.1]}; the seed does not reach the run"
        failed=1
    fi
done
if [[ -n "${hash_of[plain.1]:-}" && "${hash_of[plain.1]}" == "${hash_of[swarm.1]:-}" ]]; then
    echo "FAIL: seed 1 hashes the same with and without --swarm; the fault plan does not reach the run"
    failed=1
fi

if ((failed)); then
    echo "determinism: FAILED"
    exit 1
fi
echo "determinism: ok"
