// End-to-end: no disk is ever opened read-write by two QEMUs (issue 11), on
// the bootstrapped lab with its guests. The test tries: while a guest runs on
// kvmnode1, a second domain with the same disk is defined on kvmnode2 and
// started, and the start must be refused.
//   - QEMU's own NFS client (the lab's nfs.client: qemu): the guests' disks are
//     network disks, leased through the <lease> named after the image; the
//     qemu hook apply installs refuses a domain without it.
//   - The kernel client: the disk is a file on the shared mount, leased by its
//     path. This kernel has no NFS client, so the directory every hypervisor
//     shares (the lab's stand-in for the NFS mount, nfs.locks.dir) holds it.
// A live migration hands the lease over: afterwards the source is the one refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, labExec, labUnavailableReason, mustLabExec, ok, runHvmctl, type Ran } from './support.ts';

const LOCKS = '/var/lib/hvmctl/lockd'; // nfs.locks.dir of the lab's inventory.yaml
const twins = ['twin-a', 'twin-b', 'twin-c', 'filedisk-1', 'filedisk-2', 'twin-after-move'];

/** server1's definition as another domain: a new name, no uuid, and `edit` applied. */
function twinXml(name: string, edit: (xml: string) => string = (x) => x, from = 'kvmnode1'): string {
  const xml = mustLabExec(from, 'virsh -c qemu:///system dumpxml --inactive server1');
  return edit(xml.replace(/<name>server1<\/name>/, `<name>${name}</name>`).replace(/\s*<uuid>[^<]*<\/uuid>/, '').replace(/\s*<metadata>[\s\S]*?<\/metadata>/, '').replaceAll('server1-serial.log', `${name}-serial.log`));
}

/** Defines `xml` on `host` and starts it; the start's result. */
function defineAndStart(host: string, name: string, xml: string): Ran {
  const put = runHvmctl(['lab', 'exec', host, '--', 'sh', '-c', `cat > /tmp/${name}.xml && virsh -c qemu:///system define /tmp/${name}.xml`], { input: xml });
  expect(put.code, put.stderr).toBe(0);
  return labExec(host, `virsh -c qemu:///system start ${name}`);
}

function removeTwins(): void {
  for (const host of ['kvmnode1', 'kvmnode2', 'kvmnode3']) {
    labExec(host, twins.map((t) => `virsh -c qemu:///system destroy ${t} >/dev/null 2>&1; virsh -c qemu:///system undefine ${t} >/dev/null 2>&1`).join('; ') + '; true');
  }
}

function runningCopies(vm: string): string[] {
  return ['kvmnode1', 'kvmnode2', 'kvmnode3'].filter((h) => labExec(h, 'virsh -c qemu:///system list --name').stdout.split('\n').some((l) => l.trim() === vm));
}

describe.skipIf(!labAvailable())(`a disk is never opened by two QEMUs${labAvailable() ? '' : ` (skipped: ${labUnavailableReason()})`}`, () => {
  beforeAll(() => {
    ok(runHvmctl(['apply'], { timeoutMs: 900_000 }));
    ok(runHvmctl(['lab', 'vms'], { timeoutMs: 600_000 }));
    mustLabExec('kvmnode1', 'systemctl stop hvmctl-balancer.timer; flock /run/hvmctl-balancer.lock true');
    removeTwins();
    // server1 runs on kvmnode1 alone.
    const where = runningCopies('server1');
    if (where.join() !== 'kvmnode1') ok(runHvmctl(['balance', 'move', 'server1', 'kvmnode1'], { timeoutMs: 300_000 }));
    expect(runningCopies('server1')).toEqual(['kvmnode1']);
  }, 1_200_000);

  afterAll(() => {
    removeTwins();
    labExec('kvmnode1', `rm -rf ${LOCKS}/images; true`);
    if (runningCopies('server1').join() !== 'kvmnode1') runHvmctl(['balance', 'move', 'server1', 'kvmnode1'], { timeoutMs: 300_000 });
    labExec('kvmnode1', 'systemctl start hvmctl-balancer.timer');
  }, 600_000);

  it('apply configured the lock manager on every hypervisor, and the guests carry their leases', () => {
    for (const host of ['kvmnode1', 'kvmnode2', 'kvmnode3']) {
      expect(mustLabExec(host, "grep -E '^lock_manager' /etc/libvirt/qemu.conf").trim()).toBe('lock_manager = "lockd"');
      expect(mustLabExec(host, "grep -E '^file_lockspace_dir' /etc/libvirt/qemu-lockd.conf").trim()).toBe(`file_lockspace_dir = "${LOCKS}/files"`);
    }
    expect(mustLabExec('kvmnode1', 'virsh -c qemu:///system dumpxml server1')).toContain('<key>srv%2Fkvmshared%2Fserver1.img</key>');
  });

  it("the same disk and lease on another hypervisor: the start is refused, the lease is busy", () => {
    const r = defineAndStart('kvmnode2', 'twin-a', twinXml('twin-a'));
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(/resource busy: Lockspace resource 'srv%2Fkvmshared%2Fserver1\.img' is locked/);
    expect(runningCopies('twin-a')).toEqual([]);
    expect(runningCopies('server1')).toEqual(['kvmnode1']);
  });

  it('the same disk without its lease: the hook refuses it and names the lease to add', () => {
    const r = defineAndStart('kvmnode2', 'twin-b', twinXml('twin-b', (x) => x.replace(/\s*<lease>[\s\S]*?<\/lease>/, '')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/twin-b opens disks over NFS without their lease/);
    expect(r.stderr).toContain(`<lease><lockspace>files</lockspace><key>srv%2Fkvmshared%2Fserver1.img</key><target path='${LOCKS}'/></lease>`);
    expect(runningCopies('twin-b')).toEqual([]);
  });

  it('the same disk under a lease of another name: refused as well', () => {
    const r = defineAndStart('kvmnode3', 'twin-c', twinXml('twin-c', (x) => x.replace('<key>srv%2Fkvmshared%2Fserver1.img</key>', '<key>something-else</key>')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/twin-c opens disks over NFS without their lease/);
    expect(runningCopies('twin-c')).toEqual([]);
  });

  it('a file disk on the shared directory (the kernel client): the second start is refused', () => {
    // An idle boot sector (sti; hlt; jmp) as a 1 MiB raw image, on the directory every hypervisor shares.
    mustLabExec('kvmnode1', `mkdir -p -m 0755 ${LOCKS}/images && head -c 1048576 /dev/zero > ${LOCKS}/images/file.img && printf '\\373\\364\\353\\375' | dd of=${LOCKS}/images/file.img conv=notrunc status=none && printf '\\125\\252' | dd of=${LOCKS}/images/file.img bs=1 seek=510 conv=notrunc status=none`);
    const fileDisk = (name: string) =>
      twinXml(name, (x) =>
        x
          .replace(/\s*<lease>[\s\S]*?<\/lease>/, '')
          .replace(/<disk type='network'[\s\S]*?<\/disk>/, `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='${LOCKS}/images/file.img'/><target dev='hda' bus='ide'/></disk>`),
      );
    const first = defineAndStart('kvmnode1', 'filedisk-1', fileDisk('filedisk-1'));
    expect(first.code, first.stderr).toBe(0);
    // lockd leased the file by the SHA-256 of its path, in the shared lockspace; from another
    // hypervisor that lease cannot be taken (an fcntl lock, as virtlockd takes it).
    const lease = mustLabExec('kvmnode1', `printf %s ${LOCKS}/images/file.img | sha256sum | cut -c1-64`).trim();
    const probe = labExec('kvmnode2', `python3 -c "import fcntl; f=open('${LOCKS}/files/${lease}','r+'); fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)"`);
    expect(probe.code, 'the lease is held across hypervisors').not.toBe(0);
    expect(probe.stderr).toMatch(/Resource temporarily unavailable/);
    // libvirt starts a QEMU paused and takes the leases before its first instruction; with a
    // file, QEMU's own image lock (on the same file system) may refuse it even before that.
    const second = defineAndStart('kvmnode2', 'filedisk-2', fileDisk('filedisk-2'));
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`resource busy: Lockspace resource '${lease}' is locked|Failed to get "write" lock`));
    expect(runningCopies('filedisk-2')).toEqual([]);
    expect(runningCopies('filedisk-1')).toEqual(['kvmnode1']);
  });

  it('a live migration hands the lease over: then the source is the one refused', () => {
    ok(runHvmctl(['balance', 'move', 'server1', 'kvmnode2'], { timeoutMs: 300_000 }));
    expect(runningCopies('server1')).toEqual(['kvmnode2']);
    const r = defineAndStart('kvmnode1', 'twin-after-move', twinXml('twin-after-move', (x) => x, 'kvmnode2'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/resource busy: Lockspace resource 'srv%2Fkvmshared%2Fserver1\.img' is locked/);
    ok(runHvmctl(['balance', 'move', 'server1', 'kvmnode1'], { timeoutMs: 300_000 }));
    expect(runningCopies('server1')).toEqual(['kvmnode1']);
  });
});
