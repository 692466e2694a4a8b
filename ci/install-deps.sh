#!/usr/bin/env bash
# Installs the Debian 12 packages bedlam needs to build and test. Idempotent and
# non-interactive: it asks dpkg which packages are missing, and touches apt only if some are.
set -euo pipefail

# Besides the compilers, CMake, Ninja and the libraries bedlam links: clang-tidy and
# clang-format for the tidy preset and the house style, and libclang-rt-14-dev for the
# sanitizer and libFuzzer runtimes of clang 14 (apt installs it only as a recommendation).
packages=(
    g++ clang cmake ninja-build
    libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev libcli11-dev libyaml-cpp-dev
    clang-tidy clang-format libclang-rt-14-dev
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: dpkg-query/apt-get not found; install by hand: ${packages[*]}" >&2
    exit 1
fi

missing=()
for package in "${packages[@]}"; do
    # "ii" = wanted and installed; anything else (unknown, removed, half-configured) is missing.
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)
    if [[ "$status" != ii* ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}"
# env passes DEBIAN_FRONTEND through sudo, which would otherwise drop it.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)
"${apt[@]}" update
"${apt[@]}" install "${missing[@]}"
