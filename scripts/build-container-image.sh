#!/usr/bin/env bash
# Builds the local image the container example skill and tests run:
# localhost/skillrt-busybox:1, a root filesystem holding only Debian's statically linked
# busybox (package busybox-static) and its applet links. It is written as an image archive
# (the `docker save` layout: manifest.json, the image config, one layer) and loaded with
# `<engine> load`, so podman and docker get the same image, with the same ID, from the same
# bytes. No registry is involved. Idempotent: does nothing when the image already exists.
# Usage: scripts/build-container-image.sh [IMAGE]
#   engine: $SKILLRT_CONTAINER_ENGINE (podman or docker, a name or a path), default podman;
#   docker talks to the daemon of $DOCKER_HOST as usual.
set -euo pipefail
image=${1:-localhost/skillrt-busybox:1}
engine=${SKILLRT_CONTAINER_ENGINE:-podman}
busybox=/bin/busybox

if ! command -v "$engine" >/dev/null; then
  echo "build-container-image: '$engine' is not installed (apt-get install podman)" >&2
  exit 1
fi
if "$engine" image inspect "$image" >/dev/null 2>&1; then
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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
archive=$work/archive
mkdir -p "$rootfs"/{bin,etc,tmp,skill,proc,sys,dev} "$archive/layer"
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

# The layer: entries sorted, owners and times fixed, so the same busybox gives the same
# layer digest, and so the same image ID, on every machine and in every engine.
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$rootfs" \
  -cf "$archive/layer/layer.tar" .
layer_digest=$(sha256sum "$archive/layer/layer.tar" | cut -d' ' -f1)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z",' "$arch" \
  >"$archive/config.json"
printf '"config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},' >>"$archive/config.json"
printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer_digest" \
  >>"$archive/config.json"
config_digest=$(sha256sum "$archive/config.json" | cut -d' ' -f1)
mv "$archive/config.json" "$archive/$config_digest.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]\n' \
  "$config_digest" "$image" >"$archive/manifest.json"
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$archive" \
  -cf "$work/image.tar" manifest.json "$config_digest.json" layer

"$engine" load --input "$work/image.tar" >/dev/null
echo "build-container-image: built $image (ID ${config_digest:0:12}; $("$busybox" | head -n 1))"
