#!/usr/bin/env bash
# Build the Docker images for real on a machine without an image registry (as root, Debian or Ubuntu):
# Debian's debootstrap makes the base image's root filesystem (minbase bookworm, from Debian's packages),
# podman import tags it as debian:bookworm-slim, and podman build --isolation chroot builds docker/Dockerfile on
# it. The Dockerfile's last stage super-resolves the bundled example inside the image, so the build fails if
# sr4rs cannot run there. Prints the build time and the image size.
# Usage: bash scripts/test_docker.sh [--no-cache]
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=debian:bookworm-slim
TAG=${SR4RS_IMAGE:-sr4rs:cpu}
# The Debian archive debootstrap fetches from: DEBIAN_MIRROR, else the one this machine's apt uses (its sources).
apt_archive() {
  grep -hsE '^[[:space:]]*(deb[[:space:]]|URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      /etc/apt/sources.list.d/*.sources | grep -v -- '-security' | grep -oE '(https?|file)://[^[:space:]]+' | head -n 1
}
MIRROR=${DEBIAN_MIRROR:-$(apt_archive)}
[ -n "$MIRROR" ] || { echo "test_docker: no Debian archive in this machine's apt sources: set DEBIAN_MIRROR" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "test_docker: run as root (podman build with chroot isolation)" >&2; exit 1; }

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

start=$SECONDS
if ! podman image exists "$BASE"; then
  rootfs=$(mktemp -d /var/tmp/sr4rs-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "test_docker: debootstrap --variant=minbase bookworm (stand-in for $BASE)"
  nice -n 10 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >/dev/null
  # The official image's sources: the release, its updates and its security updates.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
    "$MIRROR" "$MIRROR" "$MIRROR" > "$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi
base_seconds=$((SECONDS - start))

# pip inside the build verifies TLS with this machine's CA bundle (behind a TLS-inspecting proxy, pip's own
# bundle would not do).
ca=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  ca=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/host-ca.crt:ro --build-arg PIP_CERT=/etc/ssl/host-ca.crt)
fi
start=$SECONDS
nice -n 10 podman build --isolation chroot "$@" "${ca[@]}" -f docker/Dockerfile -t "$TAG" .
build_seconds=$((SECONDS - start))
size=$(podman image inspect "$TAG" --format '{{.Size}}')
echo "test_docker: $TAG built in ${build_seconds} s (base image ${base_seconds} s); image size $((size / 1000000)) MB;" \
     "smoke test: $(podman image inspect "$TAG" --format '{{.Id}}' | cut -c1-12) passed"
