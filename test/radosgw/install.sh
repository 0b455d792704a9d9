#!/usr/bin/env bash
# Installs Ceph radosgw (with one monitor and one memory-backed OSD) and openssl from the Debian
# packages, for the end-to-end tests in test/encryption-check. Idempotent: when everything is
# already installed it returns without touching apt.
set -euo pipefail

packages=(radosgw ceph-mon ceph-osd ceph-common openssl)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "radosgw: already installed (${packages[*]})"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "radosgw: installed ${missing[*]}"
