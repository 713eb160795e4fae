#!/usr/bin/env bash
# Builds the local image the container example skill and tests run:
# localhost/skillrt-busybox:1, a root filesystem holding only Debian's statically linked
# busybox (package busybox-static) and its applet links, imported with `<engine> import`.
# No registry is involved. Idempotent: does nothing when the image already exists.
# Usage: scripts/build-container-image.sh [IMAGE]   (engine: $SKILLRT_CONTAINER_ENGINE or podman)
set -euo pipefail
image=${1:-localhost/skillrt-busybox:1}
engine=${SKILLRT_CONTAINER_ENGINE:-podman}
busybox=/bin/busybox

if ! command -v "$engine" >/dev/null; then
  echo "build-container-image: '$engine' is not installed (apt-get install podman)" >&2
  exit 1
fi
if "$engine" image exists "$image" 2>/dev/null ||
   "$engine" image inspect "$image" >/dev/null 2>&1; then
  echo "build-container-image: $image exists"
  exit 0
fi
if ! file_type=$(LC_ALL=C od -An -c -N4 "$busybox" 2>/dev/null) || [[ $file_type != *E*L*F* ]]; then
  echo "build-container-image: $busybox is missing (apt-get install busybox-static)" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-container-image: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,skill,proc,sys,dev}
cp "$busybox" "$rootfs/bin/busybox"
# One link per applet, relative so that they resolve inside the image.
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] && continue
  ln -s busybox "$rootfs/bin/$applet"
done
# /tmp is a tmpfs at run time; its mode comes from this directory (runc copies it).
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs/skill"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
  "$engine" import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "build-container-image: built $image ($("$busybox" | head -n 1))"
