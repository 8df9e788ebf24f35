#!/usr/bin/env bash
# Makes the local `debian:bookworm-slim` image the Dockerfiles build FROM, when the
# engine at $DOCKER_HOST lacks it: debootstrap (minbase) + `docker import`. For machines
# that reach Debian's mirror but no image registry. The mirror is the one this machine's
# apt sources name, read now; the image's apt sources point at the same mirror.
# Usage: scripts/docker_base_image.sh [IMAGE]   (as root; needs debootstrap, docker)
set -euo pipefail
image=${1:-debian:bookworm-slim}
docker=${DOCKER:-docker}

if "$docker" image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

# Every URI of the machine's apt sources, one-line (sources.list) and deb822 (.sources).
apt_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
}
uris=$(apt_uris)
mirror=$(grep -E '/debian/?$' <<<"$uris" | head -n1 || true)
security=$(grep -E '/debian-security/?$' <<<"$uris" | head -n1 || true)
if [[ -z $mirror ]]; then
  echo "docker_base_image: no Debian mirror found in this machine's apt sources" >&2
  exit 1
fi
suite=${image#*:}
suite=${suite%%-*}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "docker_base_image: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$root/fs" "$mirror" >"$root/debootstrap.log" 2>&1 || {
  tail -n 30 "$root/debootstrap.log" >&2
  exit 1
}
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [[ -n $security ]] && echo "deb $security $suite-security main"
} >"$root/fs/etc/apt/sources.list"
# The machine's own apt settings for reaching the mirror (a proxy, or leniency about
# the dates of a snapshot mirror's Release files) apply inside the image too.
apt-config dump 2>/dev/null |
  grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|Retries) ' \
    >"$root/fs/etc/apt/apt.conf.d/90from-host" || true
# Slim: no package cache, no indexes (every Dockerfile runs apt-get update first).
rm -rf "$root"/fs/var/cache/apt/archives/*.deb "$root"/fs/var/lib/apt/lists/*
tar -C "$root/fs" -c . | "$docker" import - "$image" >/dev/null
echo "docker_base_image: imported $image" >&2
