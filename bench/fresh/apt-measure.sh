#!/usr/bin/env bash
# Measures what scripts/setup.sh's Debian packages cost on a fresh Debian 12 system, on this
# machine: a minimal Debian 12 (mmdebstrap --variant=minbase: the packages of priority
# `required`, from the same mirror apt uses here) is imported into podman, and in a container
# made from it setup's steps run as setup runs them: `apt-get update`, then `apt-get install
# --no-install-recommends` of the main job's list, then of the tests' list on top (what
# `scripts/setup.sh --tests` adds). Each step is timed, wall and CPU, with the machine's load.
# The minimal system lacks what a machine of this kind has already (a standard or cloud image
# brings more), so the count is an upper bound of what a fresh machine installs.
# Needs mmdebstrap and podman (apt-get install mmdebstrap podman). Prints one Markdown row per
# step. Usage: bench/fresh/apt-measure.sh [--keep-image]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
keep=0
[[ ${1:-} == --keep-image ]] && keep=1

# The two lists of scripts/setup.sh: common and tests.
source "$root/bench/fresh/setup-lists.sh"

image=localhost/skillrt-debian12-minbase:apt-measure
work=$(mktemp -d /var/tmp/skillrt-apt-measure.XXXXXX)
cleanup() {
  rm -rf "$work"
  ((keep)) || podman rmi -f "$image" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "apt-measure: making a minimal Debian 12 (mmdebstrap --variant=minbase)" >&2
start=$EPOCHREALTIME
mmdebstrap --quiet --variant=minbase bookworm "$work/rootfs.tar" >&2
echo "apt-measure: minimal system made in $(awk -v s="$start" -v e="$EPOCHREALTIME" \
  'BEGIN { printf "%.0f", e - s }') s" >&2
podman import -q "$work/rootfs.tar" "$image" >/dev/null

# In the container: each step timed (wall from $EPOCHREALTIME, CPU from the `times` builtin,
# which must run in the container's shell itself, not in a command substitution), the number
# of packages installed counted from dpkg's status before and after; apt's own lines go to
# stderr as its progress.
# shellcheck disable=SC2016  # expanded in the container
step='
  set -euo pipefail
  export DEBIAN_FRONTEND=noninteractive
  count() { dpkg-query -W -f="\${Status}\n" | grep -c "install ok installed"; }
  # Sets cpu to the CPU seconds (user + sys) of the finished children, from `times`, run in
  # this shell.
  cpu_now() {
    times >/tmp/times
    cpu=$(sed -n 2p /tmp/times | awk "{ gsub(/[ms]/, \" \"); print \$1 * 60 + \$2 + \$3 * 60 + \$4 }")
  }
  run() {  # NAME COMMAND...
    local name=$1 before start cpu0 wall
    shift
    before=$(count)
    cpu_now; cpu0=$cpu
    start=$EPOCHREALTIME
    "$@" >&2
    wall=$(awk -v s="$start" -v e="$EPOCHREALTIME" "BEGIN { print e - s }")
    cpu_now
    printf "| %s | %d | %.0f s | %.0f s | %s |\n" "$name" $(($(count) - before)) "$wall" \
      "$(awk -v a="$cpu0" -v b="$cpu" "BEGIN { print b - a }")" "$(cut -d" " -f1 /proc/loadavg)"
  }
  echo "| step | packages added | wall | CPU | load at the end |"
  echo "|---|---:|---:|---:|---:|"
  echo "installed in the minimal system: $(count)" >&2
  run "apt-get update" apt-get update -q
  run "the main job'"'"'s packages (scripts/setup.sh)" \
    apt-get install -y -q --no-install-recommends '"$common"'
  run "added by --tests" apt-get install -y -q --no-install-recommends '"$tests"'
'
echo "apt-measure: installing setup's packages in a container of it (apt's lines below)" >&2
# Limits given outright: podman's default list (1048576 open files) is refused where the hard
# limit is lower, and its runtime cannot take the shell's own process limit (RLIMIT_NPROC
# above 32768); skillrt's container runtime gives the same (docs/container.md).
podman run --rm --network=host --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" \
  --ulimit nproc=32768:32768 "$image" bash -c "$step"
