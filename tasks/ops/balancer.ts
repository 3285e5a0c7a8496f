// The balancer on its home hypervisor(s), last stage of apply:
//   - a Node runtime (>= 18) from the OS packages where missing;
//   - the directories it writes (state, logs) and its code directory;
//   - the files: the bundled agent /opt/hvmctl/balancer.mjs (bytes from
//     balancer/bundle.ts's buildAgentBundle(), deterministic: the one file
//     here render does not show, since src/ cannot build the agent) and
//     /etc/hvmctl/balancer.json (rendered), through the file task;
//   - the schedule: the cron entry /etc/cron.d/hvmctl-balancer where PID 1 is
//     not systemd (and cron running), or a systemd timer + oneshot service
//     where it is (and no cron entry, so it never runs twice). All three are
//     rendered (src/render/managed-files.ts); this task picks which to install.
import { posix } from 'node:path';
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { osProfile } from '../../src/os/profiles.ts';
import { balancerPaths, isBalancerHome, managedFiles } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { sh } from '../../src/shell.ts';
import type { Change, Task, TaskContext, TaskResult } from '../engine/types.ts';
import { type NodeVersion, nodeVersion } from '../facts/node-version.ts';
import { type PathStat, pathStat } from '../facts/path-stat.ts';
import { initProcess, isSystemd, processIds } from '../facts/process.ts';
import { type UnitState, unitState } from '../facts/systemd-unit.ts';
import { type FileState, fileFact } from '../facts/file-state.ts';
import { fileChange, octal } from './file.ts';
import { nodePackage } from '../../src/os/packages.ts';
import { installCommand } from './packages.ts';
import { TaskCheckError } from './task-error.ts';

export const MIN_NODE_MAJOR = 18;
export const TIMER_UNIT = posix.basename(balancerPaths.timerUnit);
export const SERVICE_UNIT = posix.basename(balancerPaths.serviceUnit);

const applies = (host: HostSpec, inv: Inventory) => isBalancerHome(inv, host);

// ---- node runtime -------------------------------------------------------

/** The OS's Node package, installed the way every package is (apt waits for the dpkg lock, never prompts). */
export function installNodeScript(osFamily: HostSpec['osFamily']): string {
  return installCommand(osFamily, [nodePackage(osFamily)]);
}

export function planNode(host: HostSpec, version: NodeVersion | undefined): TaskResult {
  if (version !== undefined && version.major >= MIN_NODE_MAJOR) return { changes: [], reason: `node ${version.text} (>= ${MIN_NODE_MAJOR})` };
  const found = version === undefined ? 'no node' : `node ${version.text} is too old`;
  return {
    changes: [{ summary: `install ${nodePackage(host.osFamily)} (${found}; the balancer needs >= ${MIN_NODE_MAJOR})`, commands: [{ script: installNodeScript(host.osFamily) }] }],
    reason: '',
  };
}

export const nodeTask: Task<{ node: NodeVersion | undefined }> = {
  name: 'balancer node runtime',
  tags: ['balancer'],
  stage: 'balancer',
  applies,
  facts: () => ({ node: nodeVersion }),
  plan: (ctx, facts) => planNode(ctx.host, facts.node),
};

// ---- directories ----------------------------------------------------------

export const balancerDirs = [balancerPaths.dir, balancerPaths.configDir, balancerPaths.stateDir, balancerPaths.logDir] as const;

/**
 * The directory only root reads: the logs (VM names, migrations, on_empty's
 * program and its first line of stderr), which any local user could read at
 * 0755. Not the state's: /var/lib/hvmctl also holds the qemu client's disk
 * lockspace (lockd), and whatever a QEMU opens below it must stay reachable
 * to the QEMU user (the lab's kernel-client test keeps its images there).
 */
export const privateBalancerDirs: readonly string[] = [balancerPaths.logDir];

function wantedMode(dir: string): number {
  return privateBalancerDirs.includes(dir) ? 0o750 : 0o755;
}

/**
 * What is wrong with an existing directory: a non-root owner, or a permission bit beyond its wanted
 * mode (write for group or others; for the private one, any access for others). A tighter mode and
 * the special bits stay.
 */
function dirFix(dir: string, s: PathStat): Change | undefined {
  const mode = s.mode & 0o7777;
  const fixed = mode & (0o7000 | wantedMode(dir));
  const why: string[] = [];
  const script: string[] = [];
  if (s.owner !== 'root') {
    why.push(`owned by ${s.owner}, and the agent runs as root`);
    script.push(sh`chown root -- ${dir}`);
  }
  if (fixed !== mode) {
    why.push(mode & 0o022 ? 'writable by others than root' : 'readable by any local user');
    script.push(sh`chmod ${octal(fixed)} -- ${dir}`);
  }
  if (script.length === 0) return undefined;
  return { summary: `secure ${dir} (mode ${octal(mode)}: ${why.join('; ')})`, commands: [{ script: script.join(' && ') }] };
}

export function planDirs(stats: Readonly<Record<string, PathStat | undefined>>): TaskResult {
  const changes: Change[] = [];
  for (const dir of balancerDirs) {
    const s = stats[dir];
    if (s === undefined) {
      changes.push({ summary: `create ${dir}`, commands: [{ script: sh`mkdir -p -m ${octal(wantedMode(dir))} -- ${dir}` }] });
      continue;
    }
    if (s.type !== 'directory') throw new TaskCheckError('E_BALANCER', `${dir} exists but is a ${s.type}`, `move ${dir} away`);
    const fix = dirFix(dir, s);
    if (fix) changes.push(fix);
  }
  return { changes, reason: changes.length === 0 ? `${balancerDirs.join(', ')} exist, root's` : '' };
}

export const dirsTask: Task<Record<string, PathStat | undefined>> = {
  name: 'balancer directories',
  tags: ['balancer'],
  stage: 'balancer',
  applies,
  facts: () => Object.fromEntries(balancerDirs.map((d) => [d, pathStat(d)])),
  plan: (_ctx, facts) => planDirs(facts),
};

// ---- files: the agent and its configuration -------------------------------

export function agentFile(bundle: string): ManagedFile {
  return {
    path: balancerPaths.script,
    content: bundle,
    mode: 0o755,
    owner: 'root',
    group: 'root',
    notify: [],
    tags: ['balancer'],
    template: 'balancer/bundle.ts (buildAgentBundle)',
  };
}

function renderedBalancerFiles(ctx: Pick<TaskContext, 'inventory' | 'host'>): ManagedFile[] {
  return managedFiles(ctx.inventory, ctx.host).filter((f) => f.tags.includes('balancer'));
}

/** The cron entry (rendered by managed-files.ts). */
export function cronFile(ctx: Pick<TaskContext, 'inventory' | 'host'>): ManagedFile {
  const f = renderedBalancerFiles(ctx).find((x) => x.path === balancerPaths.cron);
  if (!f) throw new TaskCheckError('E_BALANCER', `${ctx.host.name}: no cron entry rendered`, 'the balancer is installed on its home hypervisors only');
  return f;
}

/** The schedule's files, which the schedule task installs one way or the other (cron, or systemd's units). */
const scheduleFiles: readonly string[] = [balancerPaths.cron, balancerPaths.serviceUnit, balancerPaths.timerUnit];

export function balancerFilesTask(bundle: string): Task<Record<string, FileState>> {
  const files = (ctx: Pick<TaskContext, 'inventory' | 'host'>) => [
    agentFile(bundle),
    ...renderedBalancerFiles(ctx).filter((f) => !scheduleFiles.includes(f.path)),
  ];
  return {
    name: 'balancer files',
    tags: ['balancer'],
    stage: 'balancer',
    applies,
    // The bundle's content is never diffed (below), so only its checksum and
    // stat are gathered: its content in base64 was 170 KB of each balancer
    // home's fact batch on every apply.
    facts: (ctx) => Object.fromEntries(files(ctx).map((f) => [f.path, fileFact(f.path, f.path === balancerPaths.script)])),
    plan(ctx, facts) {
      const changes = files(ctx).flatMap((f) => {
        const state = facts[f.path];
        if (state === undefined) throw new TaskCheckError('E_FACT', `no state for ${f.path}`, 'run apply again');
        const c = fileChange(f, state);
        // The bundle is thousands of lines: say what changed, not the whole diff.
        if (c && f.path === balancerPaths.script && c.diff !== undefined) return [{ ...c, diff: `${f.path}: ${Buffer.byteLength(f.content)} bytes from buildAgentBundle()\n` }];
        return c ? [c] : [];
      });
      return { changes, reason: changes.length === 0 ? `${files(ctx).map((f) => f.path).join(', ')} up to date` : '' };
    },
  };
}

// ---- schedule: cron, or a systemd timer -----------------------------------
// Both are rendered (src/render/managed-files.ts); this task installs the one
// the host runs and removes the other.

/** The systemd service and timer (rendered by managed-files.ts from templates/balancer.{service,timer}.hbs). */
export function scheduleUnits(ctx: Pick<TaskContext, 'inventory' | 'host'>): { service: ManagedFile; timer: ManagedFile } {
  const rendered = (path: string): ManagedFile => {
    const f = renderedBalancerFiles(ctx).find((x) => x.path === path);
    if (!f) throw new TaskCheckError('E_BALANCER', `${ctx.host.name}: no ${path} rendered`, 'the balancer is installed on its home hypervisors only');
    return f;
  };
  return { service: rendered(balancerPaths.serviceUnit), timer: rendered(balancerPaths.timerUnit) };
}

export interface ScheduleFacts extends Record<string, unknown> {
  init: string;
  cron: FileState;
  service: FileState;
  timer: FileState;
  timerUnit: UnitState | undefined;
  cronDaemon: readonly number[];
  crondDaemon: readonly number[];
}

const removal = (path: string, why: string, extra = ''): Change => ({
  summary: `remove ${path} (${why})`,
  commands: [{ script: sh`rm -f -- ${path}` + extra }],
});

/** Pure: cron entry (+ cron running) without systemd; timer + service (enabled, active) and no cron entry with it. */
export function planSchedule(host: HostSpec, cron: ManagedFile, units: { service: ManagedFile; timer: ManagedFile }, facts: ScheduleFacts): TaskResult {
  const changes: Change[] = [];
  if (isSystemd(facts.init)) {
    const unitChanges = [fileChange(units.service, facts.service), fileChange(units.timer, facts.timer)].filter((c): c is Change => c !== undefined);
    changes.push(...unitChanges);
    if (unitChanges.length > 0) changes.push({ summary: 'reload systemd units', commands: [{ script: 'systemctl daemon-reload' }] });
    const unit = facts.timerUnit;
    if (unitChanges.length > 0 || !unit?.enabled || !unit.active) {
      changes.push({ summary: `enable and start ${TIMER_UNIT}`, commands: [{ script: sh`systemctl enable --now ${TIMER_UNIT}` }] });
    }
    if (facts.cron.exists) changes.push({ ...removal(cron.path, 'the systemd timer schedules the balancer'), notify: ['cron-reload'] });
    return { changes, reason: changes.length === 0 ? `${TIMER_UNIT} enabled and active, no cron entry` : '' };
  }
  const c = fileChange(cron, facts.cron);
  if (c) changes.push(c);
  for (const unit of [units.timer, units.service]) {
    const state = unit === units.timer ? facts.timer : facts.service;
    if (state.exists) changes.push(removal(unit.path, 'no systemd here: cron schedules the balancer'));
  }
  const daemon = osProfile(host).cron.process;
  if (facts.cronDaemon.length === 0 && facts.crondDaemon.length === 0) {
    changes.push({ summary: `start ${daemon} (no systemd)`, commands: [{ script: sh`${daemon} </dev/null >/dev/null 2>&1` }] });
  }
  return { changes, reason: changes.length === 0 ? `${cron.path} in place, ${daemon} running` : '' };
}

export const scheduleTask: Task<ScheduleFacts> = {
  name: 'balancer schedule',
  tags: ['balancer', 'cron'],
  stage: 'balancer',
  applies,
  facts: () => ({
    init: initProcess,
    cron: fileFact(balancerPaths.cron),
    service: fileFact(balancerPaths.serviceUnit),
    timer: fileFact(balancerPaths.timerUnit),
    timerUnit: unitState(TIMER_UNIT),
    cronDaemon: processIds('cron'),
    crondDaemon: processIds('crond'),
  }),
  plan: (ctx, facts) => planSchedule(ctx.host, cronFile(ctx), scheduleUnits(ctx), facts),
};

export interface RetireFacts extends Record<string, unknown> {
  init: string;
  config: FileState;
  cron: FileState;
  service: FileState;
  timer: FileState;
}

/**
 * Pure: a hypervisor that is no longer one of the balancer's hosts keeps no
 * agent that runs. Its schedule would go on running the agent with the old
 * configuration, and with a cluster lease it could act for the cluster: the
 * timer is stopped and disabled, its units, the cron entry and the
 * configuration removed (a run by hand then refuses: no configuration).
 */
export function planRetire(facts: RetireFacts): TaskResult {
  const changes: Change[] = [];
  if (facts.timer.exists || facts.service.exists) {
    const stop = isSystemd(facts.init) ? sh`systemctl disable --now ${TIMER_UNIT} 2>/dev/null; ` : '';
    changes.push({
      summary: `stop and remove the balancer's ${TIMER_UNIT} (this host is no longer one of the balancer's hosts)`,
      commands: [{ script: `${stop}${sh`rm -f -- ${balancerPaths.timerUnit} ${balancerPaths.serviceUnit}`}${isSystemd(facts.init) ? ' && systemctl daemon-reload' : ''}` }],
    });
  }
  if (facts.cron.exists) changes.push({ ...removal(balancerPaths.cron, 'this host is no longer one of the balancer\'s hosts'), notify: ['cron-reload'] });
  if (facts.config.exists) changes.push(removal(balancerPaths.config, 'this host is no longer one of the balancer\'s hosts'));
  return { changes, reason: changes.length === 0 ? 'no balancer agent here (not one of the balancer\'s hosts)' : '' };
}

export const retireTask: Task<RetireFacts> = {
  name: 'balancer retired',
  tags: ['balancer'],
  stage: 'balancer',
  applies: (host, inv) => host.role === 'hypervisor' && !isBalancerHome(inv, host),
  facts: () => ({
    init: initProcess,
    config: fileFact(balancerPaths.config),
    cron: fileFact(balancerPaths.cron),
    service: fileFact(balancerPaths.serviceUnit),
    timer: fileFact(balancerPaths.timerUnit),
  }),
  plan: (_ctx, facts) => planRetire(facts),
};

/** Every balancer task, given the agent bundle's text (from buildAgentBundle()). */
export function balancerTasks(bundle: string): Task[] {
  return [nodeTask as Task, dirsTask as Task, balancerFilesTask(bundle) as Task, scheduleTask as Task, retireTask as Task];
}

/** Builds the agent bundle (esbuild, once per process) and returns the tasks. */
export async function loadBalancerTasks(): Promise<Task[]> {
  const { buildAgentBundle } = await import('../../balancer/bundle.ts');
  return balancerTasks(await buildAgentBundle());
}
