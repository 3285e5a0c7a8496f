#!/usr/bin/env bash
# Debian packages the local lab needs (../shared/LAB-NOTES.md). Installs only
# what is missing, so a second run takes a second.
set -euo pipefail
packages=(
  qemu-system-x86 qemu-utils qemu-block-extra
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  openssh-server openssh-client
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
  sysstat iproute2 bridge-utils iptables nftables cron procps util-linux
  libxml2-utils
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "lab: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
