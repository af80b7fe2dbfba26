#!/usr/bin/env bash
# Makes WebGPU (dawn-node, npm package `webgpu`) usable on a GPU-less Debian bookworm machine by
# installing Mesa's lavapipe, a Vulkan driver that runs on the CPU. Bookworm's own Mesa 22 is too
# old for dawn, so the driver comes from bookworm-backports. Idempotent; sets no global variables.
#
# Usage: sudo scripts/setup-webgpu-cpu.sh       (root is needed for apt)
# Afterwards: XDG_RUNTIME_DIR should be set when running dawn-node, or it prints warnings; the
# backend's tests set it to a private temporary folder themselves.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-webgpu-cpu: must run as root (apt-get); try: sudo $0" >&2
  exit 1
fi

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
if [ "$codename" != "bookworm" ]; then
  echo "setup-webgpu-cpu: expected Debian bookworm, found '${codename:-unknown}'; install a Mesa >= 23 Vulkan driver (lavapipe) yourself" >&2
  exit 1
fi

lavapipe_icd() {
  ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n 1 || true
}

# Already done on an earlier run: nothing to fetch.
installed="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
if [[ "$installed" == *bpo12* ]] && [ -n "$(lavapipe_icd)" ]; then
  echo "setup-webgpu-cpu: lavapipe already installed (mesa-vulkan-drivers $installed)"
  exit 0
fi

# Is bookworm-backports (main) already among the apt sources, in either format?
has_backports() {
  grep -RqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

# The mirror this machine already uses for bookworm itself (deb822 .sources or one-line .list).
bookworm_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ { print u; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  printf '%s' "$uri"
}

if ! has_backports; then
  mirror="$(bookworm_mirror)"
  if [ -z "$mirror" ]; then
    echo "setup-webgpu-cpu: no apt source for bookworm found; add bookworm-backports (main) yourself" >&2
    exit 1
  fi
  echo "setup-webgpu-cpu: adding bookworm-backports from $mirror to /etc/apt/sources.list.d/bookworm-backports.sources"
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers

# Report what dawn will find.
icd="$(lavapipe_icd)"
if [ -z "$icd" ]; then
  echo "setup-webgpu-cpu: mesa-vulkan-drivers installed but no lavapipe ICD found in /usr/share/vulkan/icd.d" >&2
  exit 1
fi
version="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
echo "setup-webgpu-cpu: lavapipe ready (mesa-vulkan-drivers $version, $icd)"
