#!/usr/bin/env bash
# Debian packages the tests and benchmarks use. Idempotent; quiet when everything is present.
set -euo pipefail
pkgs=(fuse3 attr acl python3 util-linux coreutils findutils diffutils)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Ordinary users mount through fusermount3, which opens /dev/fuse as them: 0666 is fuse3's own
# default (its udev rule); some containers create the node 0600.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ]; then chmod 0666 /dev/fuse; fi
# fusectl lets tests abort a connection through /sys/fs/fuse/connections/N/abort.
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/fuse/connections ] && ! grep -q ' /sys/fs/fuse/connections ' /proc/mounts; then
  mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
fi
