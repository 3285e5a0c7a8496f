#!/bin/bash
# First stage of one lab host. Started by `hvmctl lab up` as
#   ip netns exec hvmlab-HOST unshare --mount --uts --pid --fork --propagation private host-init.sh
# so it runs as PID 1 of a fresh PID namespace, in the host's own network,
# mount and UTS namespaces. It builds the host's file system view (an overlay
# of / with a private upper directory, fresh /proc, /sys, /run, /tmp, the
# real /dev) and chroots into it to run host-boot.sh, which stays PID 1.
# Inputs (environment): LAB_DIR (this host's directory on the lab tmpfs),
# LAB_HOST, LAB_BOOT (path of host-boot.sh, the same inside the overlay).
set -euo pipefail
: "${LAB_DIR:?}" "${LAB_HOST:?}" "${LAB_BOOT:?}"

# Our PID as the root namespace sees it (/proc is still the root's here).
read -r outer _ </proc/self/stat
echo "$outer" >"$LAB_DIR/init.pid"

root=$LAB_DIR/root
mkdir -p "$LAB_DIR/upper" "$LAB_DIR/work" "$root"
# The boot script travels in the upper dir, so the host needs nothing of the
# repository to be visible under its overlay.
boot=/usr/local/lib/hvmctl-lab/host-boot.sh
install -D -m 0755 "$LAB_BOOT" "$LAB_DIR/upper$boot"
mount -t overlay hvmlab-overlay -o "lowerdir=/,upperdir=$LAB_DIR/upper,workdir=$LAB_DIR/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
# The fresh sysfs has an empty /sys/fs/cgroup: mount the cgroup v1 CPU
# controllers again inside it, so the balancer can read its host's own
# cgroup (cpuacct.usage) as on a real server it would read /proc/stat.
mount -t tmpfs -o mode=0755 cgroup_root "$root/sys/fs/cgroup"
for c in cpu cpuacct; do
  mkdir -p "$root/sys/fs/cgroup/$c"
  mount -t cgroup -o "$c" cgroup "$root/sys/fs/cgroup/$c"
done
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
hostname "$LAB_HOST"
exec chroot "$root" /bin/bash "$boot"
