// `virsh domstats --cpu-total --balloon --state`: one block per domain,
//   Domain: 'server1'
//     state.state=1
//     cpu.time=2165441000
//     balloon.current=32768
// A shut-off domain still reports stale cpu.time; callers look at `state`.
import { ParseError } from '../../src/errors.ts';

/** virDomainState: 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, 6 crashed, 7 pmsuspended. */
export type DomainStateCode = number;

export interface DomainStats {
  readonly name: string;
  readonly state: DomainStateCode | undefined;
  /** Why it is in that state (state.reason): for paused (3), 2 is "migration" (an incoming copy
   * that has not run yet, or a source stopped for its switch-over), 1 "user", 5 "I/O error". */
  readonly reason?: number | undefined;
  /** Total CPU time of the domain, ns. */
  readonly cpuTimeNs: number | undefined;
  readonly balloonCurrentKiB: number | undefined;
  readonly balloonMaximumKiB: number | undefined;
}

export const DOMAIN_RUNNING = 1;
export const DOMAIN_PAUSED = 3;
export const DOMAIN_SHUTOFF = 5;
/** virDomainPausedReason VIR_DOMAIN_PAUSED_MIGRATION. */
export const PAUSED_MIGRATION = 2;
/** VIR_DOMAIN_PAUSED_STARTING_UP: an incoming copy before its Prepare step has ended. */
export const PAUSED_STARTING_UP = 11;

/** Running or paused: a live copy that holds memory on that host. */
export function isActive(state: DomainStateCode | undefined): boolean {
  return state === 1 || state === 2 || state === 3 || state === 7;
}

export function parseDomstats(text: string): DomainStats[] {
  const out: DomainStats[] = [];
  let current: { name: string; fields: Map<string, string> } | undefined;
  const flush = (): void => {
    if (!current) return;
    const num = (key: string): number | undefined => {
      const v = current!.fields.get(key);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ParseError('virsh domstats', `${current!.name}: ${key}=${v} is not a number`);
      return n;
    };
    out.push({
      name: current.name,
      state: num('state.state'),
      reason: num('state.reason'),
      cpuTimeNs: num('cpu.time'),
      balloonCurrentKiB: num('balloon.current'),
      balloonMaximumKiB: num('balloon.maximum'),
    });
    current = undefined;
  };
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const header = /^Domain: '(.*)'\s*$/.exec(line);
    if (header) {
      flush();
      current = { name: header[1]!, fields: new Map() };
      return;
    }
    const field = /^\s+([\w.-]+)=(.*)$/.exec(line);
    if (!field || !current) {
      throw new ParseError('virsh domstats', `line ${i + 1}: unexpected "${line}"`, 'expected "Domain: \'NAME\'" blocks of key=value lines');
    }
    current.fields.set(field[1]!, field[2]!);
  });
  flush();
  return out;
}
