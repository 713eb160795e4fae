#!/usr/bin/env bash
# Estimates what scripts/setup.sh's Debian packages cost on a fresh Debian 12 machine, from a
# machine that has them installed already: apt resolves the package lists against an empty
# dpkg status (as if nothing were installed), the packages of a minimal Debian 12 system (those
# of priority `required` and their dependencies) are left out, and the rest are downloaded into
# a scratch directory (timed) and unpacked with dpkg-deb (timed: a lower bound of dpkg's
# unpacking, without its maintainer scripts and triggers). Prints one Markdown row per set.
# Usage: bench/fresh/apt-estimate.sh [--no-download]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
download=1
[[ ${1:-} == --no-download ]] && download=0

# The two lists of scripts/setup.sh: common and tests.
source "$root/bench/fresh/setup-lists.sh"

work=$(mktemp -d /tmp/skillrt-apt.XXXXXX)
trap 'rm -rf "$work"' EXIT
: >"$work/status"

# Prints "package=version size" for what apt would install on an empty system.
closure() {
  local pvs
  # shellcheck disable=SC2086  # word lists by design
  pvs=$(apt-get install -s --no-install-recommends -o Dir::State::status="$work/status" $* \
    2>/dev/null | sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p')
  # One apt-cache call for all of them, one record per package.
  # shellcheck disable=SC2086
  apt-cache show --no-all-versions $pvs 2>/dev/null | awk '
    /^Package:/ { pkg = $2 } /^Version:/ { ver = $2 } /^Size:/ { size = $2 }
    /^$/ { if (pkg != "") print pkg "=" ver, size; pkg = "" }' | sort
}

# A minimal Debian 12 system: the packages of priority `required` and what they depend on.
required=$(apt-cache dumpavail | awk '/^Package:/ { p = $2 } /^Priority: required/ { print p }' |
  sort -u | tr '\n' ' ')

row() {  # NAME LIST-FILE
  local name=$1 list=$2 count bytes dl=- unpack=-
  count=$(wc -l <"$list")
  bytes=$(awk '{ s += $2 } END { print s + 0 }' "$list")
  if ((download)); then
    local dir=$work/$name start
    mkdir -p "$dir/debs" "$dir/root"
    start=$EPOCHREALTIME
    # shellcheck disable=SC2046
    (cd "$dir/debs" && apt-get download -q $(cut -d' ' -f1 "$list") >/dev/null 2>&1)
    dl=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')
    start=$EPOCHREALTIME
    for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
    unpack=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')
    rm -rf "$dir"
  fi
  printf '| %s | %d | %.0f MB | %s s | %s s | %s |\n' "$name" "$count" "$(echo "$bytes" |
    awk '{ print $1 / 1e6 }')" "$dl" "$unpack" "$(cut -d' ' -f1 /proc/loadavg)"
}

closure "$required" >"$work/base.txt"
closure "$common" | comm -13 "$work/base.txt" - >"$work/main.txt"
closure "$common $tests" | comm -13 "$work/base.txt" - >"$work/all.txt"
comm -13 "$work/main.txt" "$work/all.txt" >"$work/tests-only.txt"
echo "| packages | count | download | download time | unpack time (dpkg-deb -x) | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row main-job "$work/main.txt"
row tests-only "$work/tests-only.txt"
