#!/usr/bin/env bash
# Debian packages this machine needs for the lab and the unit tests
# (../shared/LAB-NOTES.md). The lab's hosts are systemd-nspawn containers
# (systemd-container) booting a Debian tree made by mmdebstrap, with a local
# apt repository indexed by dpkg-scanpackages (dpkg-dev), each seeing its own
# CPU and memory through lxcfs. libvirt, QEMU, ganesha and iptables are also
# needed here: unit tests run some tasks for real in a private namespace of
# this machine (test/ops/sandbox); netplan.io checks the netplan backend's files
# (test/render/network-files.test.ts). With --tests (.ci/run), also what only
# tests need and `lab up` does not: chromium-headless-shell (with a font), which
# renders the replay's HTML reports (test/balancer/sim/report-browser.test.ts;
# 220 MB that a lab has no use for), and python3-minimal, whose raw sockets
# forge and read packets on the lab's bridge (test/lab/neighbour.test.ts).
# Installs only what is missing, so a
# second run takes a second.
set -euo pipefail
packages=(
  systemd-container mmdebstrap lxcfs dpkg-dev
  qemu-system-x86 qemu-utils qemu-block-extra
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  openssh-server openssh-client
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
  sysstat iproute2 bridge-utils iptables nftables cron procps util-linux
  libxml2-utils
  netplan.io
)
case "${1-}" in
  --tests) packages+=(chromium-headless-shell fonts-dejavu-core python3-minimal) ;;
  '') ;;
  *) echo "usage: bash lab/install-packages.sh [--tests]" >&2; exit 2 ;;
esac
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
