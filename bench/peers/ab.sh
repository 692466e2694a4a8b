#!/usr/bin/env bash
# Compares two builds of bedlam_peers (say, main and a scheduler change) run interleaved, so that
# both see the same machine load: for each round and benchmark, the old binary, then the new one.
# Prints each benchmark's first RESULT line as medians with min-max and the ratio new/old.
#
#   bash bench/peers/ab.sh OLD_BIN NEW_BIN [--rounds N] [--workers N] BENCH...
#
# Example, a worktree of main built in /tmp/main against this tree's release build:
#   git worktree add /tmp/main main && cmake --preset release -S /tmp/main -B /tmp/main/build/release
#   cmake --build /tmp/main/build/release --target bedlam_peers
#   bash bench/peers/ab.sh /tmp/main/build/release/bench/bedlam_peers \
#       build/release/bench/bedlam_peers --rounds 5 restart_one_for_one fan_in
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 3 ]] || usage
old=$1 new=$2
shift 2
rounds=3 workers=2 benches=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
        --workers) workers=${2:?--workers needs a number}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "ab.sh: unknown option $1" >&2; usage ;;
        *) benches+=("$1"); shift ;;
    esac
done
[[ ${#benches[@]} -gt 0 ]] || { echo "ab.sh: name at least one benchmark" >&2; usage; }
for bin in "$old" "$new"; do
    [[ -x $bin ]] || { echo "ab.sh: $bin is not an executable" >&2; exit 2; }
done

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for ((r = 1; r <= rounds; ++r)); do
    for bench in "${benches[@]}"; do
        for side in old new; do
            bin=$old
            [[ $side == new ]] && bin=$new
            echo "ab: round $r/$rounds: $bench ($side)" >&2
            line=$("$bin" "$bench" --workers "$workers" 2>/dev/null | grep -m1 '^RESULT' || true)
            [[ -n $line ]] || { echo "ab.sh: $bin $bench printed no RESULT" >&2; exit 1; }
            echo "$side $line" >>"$raw"
        done
    done
done

python3 - "$raw" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, _, bench, metric, value = line.split()
    runs[(bench, metric, side)].append(float(value))
print("| benchmark | metric | old median (min-max) | new median (min-max) | new/old |")
print("|---|---|---|---|---|")
for bench, metric in sorted({(b, m) for b, m, _ in runs}):
    old, new = runs[(bench, metric, "old")], runs[(bench, metric, "new")]
    mo, mn = statistics.median(old), statistics.median(new)
    print(f"| {bench} | {metric} | {mo:,.0f} ({min(old):,.0f}-{max(old):,.0f}) "
          f"| {mn:,.0f} ({min(new):,.0f}-{max(new):,.0f}) | {mn / mo:.2f} |")
PY
