#!/usr/bin/env bash
# Greps simulator code for the patterns in ci/banned.txt: anything that lets a run depend on
# more than its seed (wall clocks, OS randomness, std distributions, threads, iteration over
# unordered containers). Prints every hit as file:line and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Folders that hold simulated code; the ones not written yet are skipped.
candidates=(runtime/src runtime/include chaos scenario properties fuzz)
dirs=()
for dir in "${candidates[@]}"; do
    [[ -d "$dir" ]] && dirs+=("$dir")
done
if ((${#dirs[@]} == 0)); then
    echo "lint_determinism: no source folders yet (${candidates[*]})"
    exit 0
fi
sources=(--include='*.cpp' --include='*.hpp' --include='*.h' --include='*.cc' --include='*.ipp')

# exempt <kind> <file> <line text>: succeeds when banned.txt's exemptions allow this hit.
exempt() {
    case "$1" in
        clock)
            [[ "$2" == */bench/* || "$(basename "$2")" == threads*.[ch]pp ]]
            ;;
        thread)
            [[ "$2" == */bench/* || "$(basename "$2")" == threads*.[ch]pp ||
                "$3" == *"// per-thread, not a decision"* ]]
            ;;
        unordered) [[ "$3" == *"// lookup-only"* ]] ;;
        *) return 1 ;;
    esac
}

hits=()
while read -r kind rest; do
    [[ -z "$kind" || "$kind" == \#* ]] && continue
    pattern=${rest%% -> *}
    pattern=${pattern%"${pattern##*[![:space:]]}"}  # Trim trailing blanks.
    hint=${rest#* -> }
    status=0
    grep -qE -- "$pattern" </dev/null 2>/dev/null || status=$?
    if ((status != 1)); then
        echo "lint_determinism: ci/banned.txt: bad pattern '$pattern'" >&2
        exit 2
    fi
    while IFS= read -r hit; do
        file=${hit%%:*}
        rest_of_hit=${hit#*:}
        line=${rest_of_hit%%:*}
        text=${rest_of_hit#*:}
        code=${text%%//*}  # Only code counts, not comments.
        [[ "$code" =~ ^[[:space:]]*(/\*|\*([[:space:]]|/|$)) ]] && continue
        grep -qE -- "$pattern" <<<"$code" || continue
        exempt "$kind" "$file" "$text" && continue
        trimmed=${text#"${text%%[![:space:]]*}"}
        hits+=("$file:$line: $trimmed    [$kind -> $hint]")
    done < <(grep -rnE "${sources[@]}" -- "$pattern" "${dirs[@]}" || true)
done <ci/banned.txt

if ((${#hits[@]} > 0)); then
    printf '%s\n' "${hits[@]}" | sort -t: -k1,1 -k2,2n
    echo "lint_determinism: ${#hits[@]} banned use(s); see ci/banned.txt for why and what to use" >&2
    exit 1
fi
echo "lint_determinism: clean (${dirs[*]})"
