#!/bin/bash
# Second stage of one lab host, PID 1 inside its chroot (see host-init.sh).
# Makes the host look like a freshly installed server (only root SSH for the
# operator's key; nothing of the machine's own cluster state), starts its
# services, says it is ready, then reaps orphans for ever. `hvmctl lab down`
# ends it with SIGKILL, which takes the whole PID namespace with it.
# Inputs (environment): LAB_HOST, LAB_FQDN, LAB_ROLE (storage|hypervisor),
# LAB_PUBKEY (the operator's public key), LAB_UUID (this host's libvirt UUID),
# LAB_EXPORT (storage: the NFS export directory of the inventory),
# LAB_SSHD_ONLY=1 (only sshd and cron, one host key: for many-host benchmarks).
set -euo pipefail
: "${LAB_HOST:?}" "${LAB_FQDN:?}" "${LAB_ROLE:?}" "${LAB_PUBKEY:?}" "${LAB_UUID:?}"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
log() { echo "$LAB_HOST: $*"; }

# --- a fresh server: forget what the machine under the overlay has --------
echo "$LAB_HOST" >/etc/hostname
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >/etc/hosts
echo "$LAB_UUID" | tr -d - >/etc/machine-id
# No DNS in the lab (names come from /etc/hosts, as apply writes it): with no
# nameserver glibc asks 127.0.0.1, which refuses at once, instead of waiting
# for the machine's own resolver, which the lab network cannot reach.
rm -f /etc/resolv.conf
printf '# hvmctl lab: no DNS server; names resolve through /etc/hosts\n' >/etc/resolv.conf
rm -rf /etc/hvmctl /opt/hvmctl /var/lib/hvmctl /var/log/hvmctl /root/.ssh /etc/ganesha /etc/iptables /etc/cron.d/hvmctl* \
  /var/spool/cron/crontabs /etc/libvirt/storage /etc/libvirt/qemu /var/lib/libvirt \
  /etc/exports /etc/exports.d /var/lib/nfs/ganesha /srv
mkdir -p /srv /etc/ganesha /var/spool/cron/crontabs /var/lib/libvirt/images /etc/libvirt
chmod 1730 /var/spool/cron/crontabs
chgrp crontab /var/spool/cron/crontabs 2>/dev/null || true
# root's shell files as Debian installs them (base-files), not this machine's:
# sshd runs every command through `bash -c`, which reads ~/.bashrc, and a
# developer's one (pyenv init, …) costs ~300 ms per command.
install -m 0644 /usr/share/base-files/dot.bashrc /root/.bashrc
install -m 0644 /usr/share/base-files/dot.profile /root/.profile
install -d -m 0700 /root/.ssh
printf '%s\n' "$LAB_PUBKEY" >/root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys

# --- sshd with host keys of its own ---------------------------------------
rm -f /etc/ssh/ssh_host_*
if [[ ${LAB_SSHD_ONLY:-} == 1 ]]; then
  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key # many hosts: the fast key only
else
  ssh-keygen -A >/dev/null
fi
mkdir -p /run/sshd
/usr/sbin/sshd -o PidFile=/run/sshd.pid

# --- cron -------------------------------------------------------------------
cron

# --- role services ----------------------------------------------------------
if [[ $LAB_ROLE == hypervisor && ${LAB_SSHD_ONLY:-} != 1 ]]; then
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  cat >/etc/libvirt/qemu.conf <<'CONF'
# hvmctl lab: qemu runs as root in the lab host, no relabelling, no private
# /dev or cgroups of its own (the lab host's cgroup accounts for its guests).
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
CONF
  printf 'host_uuid = "%s"\n' "$LAB_UUID" >/etc/libvirt/libvirtd.conf
  mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt
  virtlogd -d
  libvirtd -d
fi
if [[ $LAB_ROLE == storage && ${LAB_SSHD_ONLY:-} != 1 ]]; then
  # The export's directory gets a file system of its own, as a storage
  # node's data disk would be: nfs-ganesha's VFS backend needs file handles
  # (name_to_handle_at), which the overlay root does not give.
  if [[ -n ${LAB_EXPORT:-} ]]; then
    mkdir -p "$LAB_EXPORT"
    mount -t tmpfs -o mode=0755 hvmlab-export "$LAB_EXPORT"
  fi
  mkdir -p /run/rpcbind
  rpcbind -w
fi

touch /run/hvmctl-lab.ready
log "ready"

# PID 1: reap orphans until killed.
trap '' TERM INT HUP
while :; do
  sleep 3600 &
  wait $! || true
done
