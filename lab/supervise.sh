#!/bin/bash
# The power supply of one lab host, started detached by `hvmctl lab up` in the
# root namespace. At every power-on it plugs a fresh network namespace in (a
# veth named like the server's NIC, with its MAC, on the lab bridge: no
# address, no bridge, no firewall left from the last boot, as after a real
# power cycle) and boots the host with systemd-nspawn. When the host reboots
# (its init asks to; nspawn exits with 133) it powers it on again; any other
# exit is a power-off, and the supervisor ends. The host's files persist (the
# overlay under LAB_HOST_DIR is mounted by lab up, not here).
# Inputs (environment): LAB_HOST_DIR, LAB_NETNS, LAB_VETH, LAB_IFACE, LAB_MAC,
# LAB_BRIDGE, LAB_CGROUPS (the host's cgroup directories, space separated);
# arguments: the systemd-nspawn command line.
set -uo pipefail
: "${LAB_HOST_DIR:?}" "${LAB_NETNS:?}" "${LAB_VETH:?}" "${LAB_IFACE:?}" "${LAB_MAC:?}" "${LAB_BRIDGE:?}" "${LAB_CGROUPS:?}"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# The host's machine: everything from here on (nspawn, the host's processes)
# lives in the host's cgroups.
for g in $LAB_CGROUPS; do echo $$ >"$g/cgroup.procs" || exit 125; done
echo $$ >"$LAB_HOST_DIR/supervisor.pid"

plug() {
  # The old boot's namespace goes away with its last process, its veth with
  # it, but the kernel does that a moment later: remove the veth ourselves and
  # wait (bounded) until its name is free.
  ip link delete "$LAB_VETH" 2>/dev/null || true
  ip netns delete "$LAB_NETNS" 2>/dev/null || true
  local i
  for i in $(seq 100); do ip link show "$LAB_VETH" >/dev/null 2>&1 || break; sleep 0.1; done
  ip netns add "$LAB_NETNS" &&
    ip link add "$LAB_VETH" type veth peer name "$LAB_IFACE" netns "$LAB_NETNS" &&
    ip -n "$LAB_NETNS" link set "$LAB_IFACE" address "$LAB_MAC" &&
    ip link set "$LAB_VETH" master "$LAB_BRIDGE" up
}

nspawn=
# `lab down` SIGKILLs everything; a SIGTERM here is a clean power-off request.
trap '[[ -n $nspawn ]] && kill -TERM "$nspawn" 2>/dev/null; stopping=1' TERM
stopping=0
boot=0
while :; do
  boot=$((boot + 1))
  plug || { echo "supervise: cannot plug the network of boot $boot" >&2; exit 1; }
  echo "=== hvmctl lab: power on (boot $boot, $(date -u +%FT%TZ))"
  "$@" &
  nspawn=$!
  echo "$nspawn" >"$LAB_HOST_DIR/nspawn.pid"
  rc=0
  # wait returns early when the TERM trap runs: wait again for nspawn itself.
  while kill -0 "$nspawn" 2>/dev/null; do wait "$nspawn"; rc=$?; done
  rm -f "$LAB_HOST_DIR/nspawn.pid"
  nspawn=
  echo "=== hvmctl lab: nspawn exited $rc"
  [[ $rc == 133 && $stopping == 0 ]] || break
done
ip netns delete "$LAB_NETNS" 2>/dev/null || true
rm -f "$LAB_HOST_DIR/supervisor.pid"
