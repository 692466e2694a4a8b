#!/usr/bin/env bash
# bedlam side by side with Erlang/OTP and CAF: the one command (docs/benchmarks.md, "Side by side
# with Erlang/OTP and CAF").
#
#   bash bench/peers/run.sh [--rounds N] [--only REGEX] [--quick] [--workers N] [--jobs N]
#                            [--timeout S]
#
# It installs what is missing (bedlam's build dependencies through ci/install-deps.sh, then
# erlang-nox, libcaf-dev and python3), builds bedlam_peers with the release preset, the CAF peers
# into build/peers-caf and the Erlang module into build/peers-erlang, then runs every benchmark
# N rounds (default 5). Within a round each benchmark runs once in each runtime, one after the
# other, and the order of the runtimes rotates from round to round, so that a slow spell on the
# machine does not always fall on the same one. Last it prints a markdown table of medians with
# min–max and the ratios bedlam/peer; the raw lines and the table stay in build/peers-results/.
#
#   --rounds N    rounds (default 5)
#   --only REGEX  benchmarks whose name matches (grep -E), e.g. 'ring|fan_in'
#   --quick       a tenth of the repeated work in each program (sizes in the table's footer)
#   --workers N   scheduler threads in all three runtimes (default: nproc)
#   --jobs N      parallel build jobs (default: nproc)
#   --timeout S   seconds before one run counts as hung (default 300)
set -euo pipefail

rounds=5
only='.*'
quick=()
workers=$(nproc)
jobs=$(nproc)
run_timeout=300

usage() {
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while (($#)); do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --quick) quick=(--quick); shift ;;
        --workers) workers=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --timeout) run_timeout=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

say() { echo "peers: $*" >&2; }

# -- 1. What is missing gets installed -----------------------------------------------------------

bash ci/install-deps.sh >&2

missing=()
command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1 || missing+=(erlang-nox)
status=$(dpkg-query -W -f='${db:Status-Abbrev}' libcaf-dev 2>/dev/null || true)
[[ "$status" == ii* ]] || missing+=(libcaf-dev)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ((${#missing[@]})); then
    sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            say "not root and no sudo; as root run: apt-get install ${missing[*]}"
            exit 1
        fi
    fi
    say "installing ${missing[*]}"
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)
    "${apt[@]}" update >&2
    "${apt[@]}" install "${missing[@]}" >&2
fi

# -- 2. Builds -----------------------------------------------------------------------------------

mkdir -p build/peers-results build/peers-erlang
stamp=$(date +%Y%m%d-%H%M%S)
log=build/peers-results/build-$stamp.log

build() {
    if ! "$@" >>"$log" 2>&1; then
        say "build step failed: $*"
        tail -40 "$log" >&2
        exit 1
    fi
}

say "building bedlam_peers (release preset), log in $log"
build cmake --preset release
build cmake --build --preset release --target bedlam_peers -j "$jobs"
say "building caf_peers into build/peers-caf"
build cmake -S bench/peers/caf -B build/peers-caf -G Ninja
build cmake --build build/peers-caf -j "$jobs"
say "compiling peers.erl into build/peers-erlang"
build erlc -o build/peers-erlang bench/peers/erlang/peers.erl

# -- 3. Runs -------------------------------------------------------------------------------------

benchmarks=(spawn idle_memory ping_pong ring fan_in restart_one_for_one restart_one_for_all
            sup_tree server_call)
selected=()
for b in "${benchmarks[@]}"; do
    if grep -Eq -- "$only" <<<"$b"; then
        selected+=("$b")
    fi
done
if ((${#selected[@]} == 0)); then
    say "no benchmark matches '$only' (names: ${benchmarks[*]})"
    exit 2
fi

# CAF 0.17 has no supervisors: its column shows a dash for these.
has_peer() {
    [[ "$1" != caf ]] || [[ "$2" != restart_one_for_one && "$2" != restart_one_for_all &&
                            "$2" != sup_tree ]]
}

command_for() {
    local runtime=$1 bench=$2
    case "$runtime" in
        bedlam) echo build/release/bench/bedlam_peers "$bench" --workers "$workers" "${quick[@]}" ;;
        # +P: 1,000,000 processes may be alive at once in the spawn program (default 262,144).
        otp) echo erl +S "$workers:$workers" +P 2000000 -noshell -pa build/peers-erlang \
                 -run peers main -extra "$bench" "${quick[@]}" ;;
        caf) echo build/peers-caf/caf_peers "$bench" --threads "$workers" "${quick[@]}" ;;
    esac
}

results=build/peers-results/results-$stamp.txt
: >"$results"
{
    echo "META date $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "META machine $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- |
        sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
        "kernel $(uname -r), load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "META bedlam $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(
        git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'), $(
        g++ --version | head -1), release preset (-O2 -g -DNDEBUG)"
    echo "META Erlang/OTP $(erl -noshell -eval 'io:format("~s, erts ~s, ~s emulator",
        [erlang:system_info(otp_release), erlang:system_info(version),
         erlang:system_info(emu_flavor)]), halt().')"
    echo "META CAF $(dpkg-query -W -f='${Version}' libcaf-dev) (Debian libcaf-dev), built" \
        "with the same g++ at -O2"
    echo "META runs $rounds rounds, ${#selected[@]} benchmarks, $workers scheduler threads" \
        "per runtime${quick:+, --quick sizes}"
} >>"$results"

runtimes=(bedlam otp caf)
for ((round = 1; round <= rounds; round++)); do
    for bench in "${selected[@]}"; do
        for ((k = 0; k < 3; k++)); do
            runtime=${runtimes[$(((round - 1 + k) % 3))]}
            has_peer "$runtime" "$bench" || continue
            read -r -a cmd <<<"$(command_for "$runtime" "$bench")"
            say "round $round/$rounds: $bench on $runtime"
            set +e
            output=$(timeout "$run_timeout" "${cmd[@]}" 2>"build/peers-results/stderr-$stamp.txt")
            code=$?
            set -e
            grep -E '^(RESULT|SIZE|INFO) ' <<<"$output" | sed "s/^/$runtime $round /" \
                >>"$results" || true
            if ((code == 124)); then
                echo "$runtime $round FAIL $bench hung (no result within ${run_timeout} s)" \
                    >>"$results"
                say "$bench on $runtime timed out"
            elif ((code != 0)); then
                why="exit code $code"
                ((code > 128)) && why="killed by signal $((code - 128))"
                echo "$runtime $round FAIL $bench crashed ($why)" >>"$results"
                say "$bench on $runtime failed ($why):"
                tail -5 "build/peers-results/stderr-$stamp.txt" >&2 || true
            fi
        done
    done
done

# -- 4. The table --------------------------------------------------------------------------------

table=build/peers-results/table-$stamp.md
python3 bench/peers/report.py "$results" | tee "$table"
say "raw lines: $results; table: $table"
