#!/bin/sh
# Runs COMMAND as if on a blank hypervisor, on THIS machine but inside private
# namespaces: its own network (so its own iptables), its own mounts (a tmpfs
# /run; /etc, /var/lib, /var/log, /var/backups, /opt and /root as copy-on-write overlays whose
# changes live in a tmpfs) and a throw-away libvirtd. Nothing outside the
# namespaces changes; every process started here dies with the PID namespace.
#   unshare --mount --uts --net --pid --fork --propagation private sh sandbox.sh COMMAND...
set -e
W=$(mktemp -d /tmp/hvmctl-ops-sandbox.XXXXXX)
mount -t tmpfs tmpfs "$W"
overlay() { # overlay DIR NAME
  mkdir -p "$W/$2/up" "$W/$2/work"
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$W/$2/up,workdir=$W/$2/work" "$1"
}
overlay /etc etc
overlay /var/lib varlib
overlay /var/log varlog
overlay /opt opt
overlay /root root
# where file writes put their backups (tasks/ops/file.ts BACKUP_DIR)
mkdir -p /var/backups
overlay /var/backups backups
# A blank hypervisor has no cluster key pair: hide this machine's (only in the
# overlay's upper layer; refuse unless /root really is the overlay).
if [ "$(findmnt -n -o FSTYPE --mountpoint /root)" = overlay ]; then rm -f /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.pub; else echo 'sandbox: /root is not an overlay' >&2; exit 1; fi
mount -t tmpfs tmpfs /run
mkdir -p /run/libvirt /run/lock /var/log/libvirt
grep -q '^kvm:' /etc/group || echo 'kvm:x:990:' >> /etc/group
grep -q '^libvirt-qemu:' /etc/group || echo 'libvirt-qemu:x:991:' >> /etc/group
grep -q '^libvirt-qemu:' /etc/passwd || echo 'libvirt-qemu:x:991:991::/nonexistent:/usr/sbin/nologin' >> /etc/passwd
printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nsecurity_driver = "none"\n' >> /etc/libvirt/qemu.conf
ip link set lo up
virtlogd -d
libvirtd -d
i=0; until virsh -c qemu:///system version >/dev/null 2>&1 || [ $i -ge 40 ]; do sleep 0.25; i=$((i+1)); done
"$@"
