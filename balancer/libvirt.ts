// The one module behind which libvirt lives (here: the `virsh` client). The
// host the agent runs on is `qemu:///system`; every other hypervisor is
// `qemu+ssh://root@FQDN/system` over the SSH trust apply configures. Swapping
// virsh for another libvirt client touches this file only.
import { ConnectError, HvmError } from '../src/errors.ts';
import { parseDomstats, type DomainStats } from './collect/domstats.ts';
import { parseVirshList } from './collect/virsh-list.ts';
import { formatVmMetadata, parseVmMetadata, VM_METADATA_KEY, VM_METADATA_URI, type VmMetadata } from './collect/vm-metadata.ts';
import type { ProcessResult, RunProcess } from '../src/process.ts';
import { LOCAL_LIBVIRT_URI, PEER_LIBVIRT_URI } from '../src/libvirt-uri.ts';
import type { HostAddress } from './host-files.ts';

export interface MigrateOutcome {
  readonly ok: boolean;
  readonly timedOut: boolean;
  /** virsh's last error line when not ok. */
  readonly error: string | undefined;
}

export interface Libvirt {
  /** State, CPU time and balloon of every domain defined on the host. Throws ConnectError when unreachable. */
  domstats(host: string): Promise<DomainStats[]>;
  /** Names of the running domains. */
  listRunning(host: string): Promise<string[]>;
  /** The balancer's metadata of a domain, undefined when it has none. */
  getMetadata(host: string, vm: string): Promise<VmMetadata | undefined>;
  setMetadata(host: string, vm: string, meta: VmMetadata): Promise<void>;
  /** Live, persistent on `to`, undefined on `from`; killed after timeoutMs (then abort the job). */
  migrate(vm: string, from: string, to: string, timeoutMs: number): Promise<MigrateOutcome>;
  abortJob(host: string, vm: string): Promise<void>;
  resume(host: string, vm: string): Promise<void>;
  /** Stops a (stale, not running) copy; 'absent' when the host has no such domain (nothing to stop). */
  destroy(host: string, vm: string): Promise<'stopped' | 'absent'>;
  /** Whether a job (an outgoing or incoming migration) is still active on the domain there. */
  jobActive(host: string, vm: string): Promise<boolean>;
  /** Whether the domain there has a persistent definition (undefined: not defined there). */
  persistent(host: string, vm: string): Promise<boolean | undefined>;
  /** Removes an inactive definition (never its storage); 'absent' when the host has no such domain (a restarted libvirtd drops the definition an incoming migration left). */
  undefine(host: string, vm: string): Promise<'removed' | 'absent'>;
}

/** virsh failed because the host has no such domain (its words captured: test/fixtures/captured/migration/*-absent.stderr). */
const noDomain = (result: ProcessResult): boolean => result.code !== 0 && /failed to get domain|Domain not found/i.test(result.stderr);

export class LibvirtError extends HvmError {
  constructor(host: string, what: string, result: ProcessResult) {
    const detail = result.timedOut ? 'timed out' : (result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`);
    super('E_LIBVIRT', `${host}: virsh ${what} failed: ${detail}`, { hint: 'check libvirtd on that host (`virsh -c URI list --all`)' });
  }
}

export interface VirshOptions {
  readonly self: string;
  readonly hosts: readonly HostAddress[];
  readonly exec: RunProcess;
  /** Another hypervisor's URI, `{fqdn}`/`{name}`/`{port}` (its sshd port) replaced; default PEER_LIBVIRT_URI. */
  readonly uriTemplate?: string;
  /** For everything but migrate. */
  readonly timeoutMs?: number;
}

export function createVirshLibvirt(options: VirshOptions): Libvirt {
  const { self, hosts, exec } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const uri = (host: string): string => {
    if (host === self) return LOCAL_LIBVIRT_URI;
    const h = hosts.find((x) => x.name === host);
    if (!h) throw new ConnectError(host, 'not a hypervisor in the balancer configuration');
    return (options.uriTemplate ?? PEER_LIBVIRT_URI).replaceAll('{fqdn}', h.fqdn).replaceAll('{name}', h.name).replaceAll('{port}', String(h.sshPort ?? 22));
  };
  const virsh = (host: string, args: readonly string[], t = timeoutMs): Promise<ProcessResult> =>
    exec(['virsh', '-c', uri(host), ...args], { timeoutMs: t });
  const unreachable = (result: ProcessResult): boolean =>
    result.timedOut || /failed to connect|unable to connect|Cannot recv data|End of file while reading|Connection refused|no route to host|Could not resolve/i.test(result.stderr);
  const check = (host: string, what: string, result: ProcessResult): string => {
    if (result.code === 0) return result.stdout;
    if (unreachable(result)) {
      throw new ConnectError(host, `libvirt unreachable: ${result.timedOut ? 'timed out' : result.stderr.trim().split('\n').pop()}`, {
        hint: 'check libvirtd and the root SSH trust between hypervisors',
      });
    }
    throw new LibvirtError(host, what, result);
  };
  return {
    async domstats(host) {
      return parseDomstats(check(host, 'domstats', await virsh(host, ['domstats', '--cpu-total', '--balloon', '--state'])));
    },
    async listRunning(host) {
      return parseVirshList(check(host, 'list', await virsh(host, ['list', '--name'])));
    },
    async getMetadata(host, vm) {
      const result = await virsh(host, ['metadata', vm, VM_METADATA_URI]);
      if (result.code !== 0 && /metadata not found/i.test(result.stderr)) return undefined;
      return parseVmMetadata(check(host, `metadata ${vm}`, result));
    },
    async setMetadata(host, vm, meta) {
      check(host, `metadata ${vm} --set`, await virsh(host, ['metadata', vm, VM_METADATA_URI, '--key', VM_METADATA_KEY, '--set', formatVmMetadata(meta), '--live', '--config']));
    },
    async migrate(vm, from, to, migrateTimeoutMs) {
      // The virsh client drives a managed (non peer-to-peer) migration: it opens
      // both URIs itself, so the agent's own host is reached as qemu:///system.
      const result = await virsh(from, ['migrate', '--live', '--persistent', '--undefinesource', '--verbose', vm, uri(to)], migrateTimeoutMs);
      if (result.code === 0) return { ok: true, timedOut: false, error: undefined };
      return {
        ok: false,
        timedOut: result.timedOut,
        error: result.timedOut
          ? `timed out after ${Math.round(migrateTimeoutMs / 1000)} s`
          : result.stderr.trim().split('\n').pop() || `virsh migrate exited ${result.code} and said nothing (killed?)`,
      };
    },
    async abortJob(host, vm) {
      await virsh(host, ['domjobabort', vm]); // no job left to abort is fine
    },
    async resume(host, vm) {
      check(host, `resume ${vm}`, await virsh(host, ['resume', vm]));
    },
    async destroy(host, vm) {
      const result = await virsh(host, ['destroy', vm]);
      if (noDomain(result)) return 'absent';
      check(host, `destroy ${vm}`, result);
      return 'stopped';
    },
    async jobActive(host, vm) {
      const result = await virsh(host, ['domjobinfo', vm], Math.min(timeoutMs, 10_000));
      if (noDomain(result)) return false;
      // A migration's Perform phase can hold the domain's job lock for longer than a
      // query waits, and the destination of a migration refuses job statistics: both
      // mean a job is active (captured: test/fixtures/captured/migration/).
      if (result.code !== 0 && /cannot acquire state change lock|available only on the source host/i.test(result.stderr)) return true;
      if (result.timedOut) return true;
      return parseJobType(check(host, `domjobinfo ${vm}`, result)) !== 'None';
    },
    async persistent(host, vm) {
      const result = await virsh(host, ['dominfo', vm]);
      if (noDomain(result)) return undefined;
      return /^Persistent:\s+yes\s*$/m.test(check(host, `dominfo ${vm}`, result));
    },
    async undefine(host, vm) {
      const result = await virsh(host, ['undefine', vm]);
      if (noDomain(result)) return 'absent';
      check(host, `undefine ${vm}`, result);
      return 'removed';
    },
  };
}

/** `virsh domjobinfo`'s "Job type:" (None, Unbounded, Bounded, Completed, Failed, Cancelled). */
export function parseJobType(text: string): string {
  const m = /^Job type:\s+(\S+)/m.exec(text);
  if (!m) throw new LibvirtError('?', 'domjobinfo', { code: 0, stdout: text, stderr: `no "Job type:" line in ${JSON.stringify(text.slice(0, 200))}`, timedOut: false });
  return m[1]!;
}
