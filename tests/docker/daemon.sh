#!/usr/bin/env bash
# A private docker daemon for the container tests: started before them and stopped after them
# (ctest fixture "dockerd", CMakeLists.txt), so that the docker instances of the container
# tests run against a real daemon without needing, or touching, a daemon of the host's.
#
#   tests/docker/daemon.sh start STATE_DIR   start dockerd, load the test image, write
#                                            STATE_DIR/host (the DOCKER_HOST to use)
#   tests/docker/daemon.sh stop STATE_DIR    stop it and remove everything it made
#
# Everything the daemon keeps lives in one temporary directory (its data root, exec root,
# pid file, unix socket, its own containerd and an empty configuration file instead of
# /etc/docker/daemon.json); STATE_DIR/run names it. The daemon creates no bridge and changes
# no iptables rules or sysctls: the tests' containers have no network (`--network=none`).
# Where dockerd is not installed or cannot be run (not root), `start` writes the reason to
# STATE_DIR/unavailable and exits 0, and the docker tests skip with that reason; a dockerd
# that is installed but does not come up is a failure, with its log.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
action=${1:-}
state=${2:-}
if [[ -z $state || ($action != start && $action != stop) ]]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi
mkdir -p "$state"
state=$(cd "$state" && pwd)
# The client: Debian's docker.io puts one in /usr/bin; another on $PATH works the same.
docker=$(command -v docker || true)

stop() {
  local run
  run=$(cat "$state/run" 2>/dev/null || true)
  rm -f "$state/host" "$state/run"
  [[ -n $run && -d $run ]] || return 0
  local pid
  pid=$(cat "$run/dockerd.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    # SIGTERM: dockerd stops its containers and its containerd, and unmounts its layers.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "dockerd $pid did not stop within 30 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  # Whatever is still mounted below the run directory (after a killed daemon), deepest first.
  local mounts
  mounts=$(awk -v dir="$run/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$run"
}

unavailable() {
  echo "$1" >"$state/unavailable"
  echo "docker daemon for the tests: unavailable: $1"
  exit 0
}

if [[ $action == stop ]]; then
  stop
  echo "docker daemon for the tests: stopped"
  exit 0
fi

stop  # A daemon left by an earlier run that was interrupted.
rm -f "$state/unavailable"
dockerd=$(command -v dockerd || { [[ -x /usr/sbin/dockerd ]] && echo /usr/sbin/dockerd; } || true)
[[ -n $dockerd ]] || unavailable "dockerd is not installed (Debian package docker.io)"
[[ -n $docker ]] || unavailable "the docker client is not installed (Debian package docker.io)"
[[ $(id -u) -eq 0 ]] || unavailable "dockerd needs root here (rootless docker is not set up)"

# Under /tmp, not the build directory: a unix socket's path is limited to 107 bytes.
run=$(mktemp -d /tmp/skillrt-dockerd.XXXXXX)
echo "$run" >"$state/run"
echo '{}' >"$run/daemon.json"
host="unix://$run/docker.sock"
# setsid: the daemon outlives this script (ctest runs the tests after it returns) and is not
# in its process group.
setsid "$dockerd" \
  --config-file="$run/daemon.json" \
  --data-root="$run/data" \
  --exec-root="$run/exec" \
  --pidfile="$run/dockerd.pid" \
  --host="$host" \
  --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  </dev/null >"$run/dockerd.log" 2>&1 &
daemon=$!

for _ in $(seq 1 600); do
  if ! kill -0 "$daemon" 2>/dev/null; then
    echo "dockerd exited while starting; its log:" >&2
    tail -n 30 "$run/dockerd.log" >&2
    stop
    exit 1
  fi
  DOCKER_HOST=$host "$docker" version >/dev/null 2>&1 && break
  sleep 0.1
done
if ! DOCKER_HOST=$host "$docker" version >/dev/null 2>&1; then
  echo "dockerd did not answer on $host within 60 s; its log:" >&2
  tail -n 30 "$run/dockerd.log" >&2
  stop
  exit 1
fi
if ! DOCKER_HOST=$host SKILLRT_CONTAINER_ENGINE=$docker \
     "$root/scripts/build-container-image.sh"; then
  stop
  exit 1
fi
echo "$host" >"$state/host"
echo "docker daemon for the tests: $host ($(DOCKER_HOST=$host "$docker" version \
  --format 'server {{.Server.Version}}, client {{.Client.Version}}'))"
