#!/bin/bash
# Builds the lab's host image once (lab/image.ts decides when, and caches it):
#   OUT/rootfs  a Debian 12 tree as an installer leaves a server: the
#               "important" priority set (systemd, ifupdown, cron, nftables,
#               ...), openssh-server, dbus, python3 (Debian's "standard
#               system utilities" bring it; Ansible needs it on every host)
#               and sudo (an installer that gets no root password sets it up:
#               apply can log in as a user with password-less sudo); NOT the
#               packages apply manages;
#   OUT/repo    a local apt repository holding exactly what apply may install
#               (and what those depend on), so apply's package stage really
#               installs packages, and nothing leaves the machine but what
#               mmdebstrap and apt fetch from the machine's own apt sources.
# The hosts see the repository read-only at /var/local/hvmlab-apt (bound by
# lab/supervise.sh) and their /etc/apt/sources.list points there only.
# Inputs (environment): OUT (a new, empty directory), PACKAGES (the repo's
# packages, space separated). The hypervisors' /dev/kvm is the lab's own node,
# made by lab up for the image's kvm group (lab/up.ts, kvmNode).
set -euo pipefail
: "${OUT:?}" "${PACKAGES:?}"
export LC_ALL=C.UTF-8
REPO_IN_HOST=/var/local/hvmlab-apt
rootfs=$OUT/rootfs
repo=$OUT/repo
mkdir -p "$rootfs" "$repo"
say() { echo "image: $*"; }

say "mmdebstrap bookworm (important + openssh-server + python3 + sudo), downloading the repository's packages"
# The customize hooks run inside the finished tree, while apt still has its
# package lists: the repository is what apt would download to install
# PACKAGES on exactly this tree.
# shellcheck disable=SC2016 # $1 is mmdebstrap's, expanded by its hook shell
mmdebstrap --quiet --variant=important \
  --include=systemd-sysv,openssh-server,dbus,ifupdown,iproute2,iputils-ping,procps,python3,sudo \
  --customize-hook='mkdir -p "$1/var/cache/hvmlab-repo/partial"' \
  --customize-hook="chroot \"\$1\" apt-get install --download-only -y -q --no-install-recommends -o Dir::Cache::Archives=/var/cache/hvmlab-repo $PACKAGES" \
  --customize-hook="sync-out /var/cache/hvmlab-repo $repo" \
  --customize-hook='rm -rf "$1/var/cache/hvmlab-repo"' \
  bookworm "$rootfs"
rm -rf "$repo/partial" "$repo/lock"

say "indexing $(find "$repo" -name '*.deb' | wc -l) packages (dpkg-scanpackages)"
(cd "$repo" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages && gzip -9kf Packages)

say "configuring the tree as a fresh server of the lab"
# apt: only the lab's repository. It is a read-only bind of the operator's
# cache, built from packages apt verified while downloading them; guests and
# hosts cannot write it, hence [trusted=yes] (no signing key to manage).
rm -f "$rootfs/etc/apt/sources.list.d/"*
echo "deb [trusted=yes] file:$REPO_IN_HOST ./" >"$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs$REPO_IN_HOST"
mount --bind "$repo" "$rootfs$REPO_IN_HOST"
trap 'umount "$rootfs$REPO_IN_HOST" 2>/dev/null || true' EXIT
chroot "$rootfs" apt-get update -q >/dev/null
umount "$rootfs$REPO_IN_HOST"
trap - EXIT

# Per-host identity is written by lab up into each host's own layer.
rm -f "$rootfs"/etc/ssh/ssh_host_*
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/etc/hostname"
# No DNS in the lab: names come from /etc/hosts (as apply writes it). With no
# nameserver glibc asks 127.0.0.1, which refuses at once.
rm -f "$rootfs/etc/resolv.conf"
printf '# hvmctl lab: no DNS server; names resolve through /etc/hosts\n' >"$rootfs/etc/resolv.conf"
# The console of a container is a pseudo-terminal nobody types on.
chroot "$rootfs" systemctl mask -q console-getty.service getty@tty1.service
# This machine's kernel has no sunrpc (no NFS in the kernel at all, see
# ../shared/LAB-NOTES.md): nfs-common's rpc_pipefs mount, pulled in by the NFS
# packages apply installs, could only fail at every boot.
chroot "$rootfs" systemctl mask -q run-rpc_pipefs.mount

# The lab's "hardware", not the server's software: each host's own view of
# its CPU and memory (lxcfs, mounted by lab up and bound at /var/lib/lxcfs),
# and cgroup controllers it may write (libvirt gives each guest its cgroup,
# as on a real server). Runs before anything else at every boot.
cat >"$rootfs/etc/systemd/system/hvmlab-host.service" <<'UNIT'
[Unit]
Description=hvmctl lab: this host's own /proc/stat, /proc/meminfo and CPU count (lxcfs), writable cgroups
DefaultDependencies=no
Before=sysinit.target systemd-journald.service
ConditionPathExists=/var/lib/lxcfs/proc/stat

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/hvmlab/host-setup

[Install]
WantedBy=sysinit.target
UNIT
install -d "$rootfs/usr/local/lib/hvmlab"
cat >"$rootfs/usr/local/lib/hvmlab/host-setup" <<'SCRIPT'
#!/bin/sh
# hvmctl lab (lab/build-image.sh): see hvmlab-host.service.
set -e
for f in cpuinfo diskstats loadavg meminfo stat swaps uptime slabinfo; do
  mount --bind "/var/lib/lxcfs/proc/$f" "/proc/$f"
done
mount --bind /var/lib/lxcfs/sys/devices/system/cpu /sys/devices/system/cpu
for c in /sys/fs/cgroup/*/; do
  case $c in */systemd/|*/unified/) ;; *) mount -o remount,bind,rw "$c" ;; esac
done
SCRIPT
chmod 0755 "$rootfs/usr/local/lib/hvmlab/host-setup"
chroot "$rootfs" systemctl enable -q hvmlab-host.service
say "done: $(du -sh "$rootfs" | cut -f1) tree, $(du -sh "$repo" | cut -f1) repository"
