import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { balancerPaths } from '../../src/render/managed-files.ts';
import { handlers } from '../../tasks/handlers.ts';
import { parseNodeVersion } from '../../tasks/facts/node-version.ts';
import { fileChange, sha256 } from '../../tasks/ops/file.ts';
import type { Fact } from '../../tasks/engine/types.ts';
import type { FileState } from '../../tasks/facts/file-state.ts';
import {
  agentFile,
  balancerFilesTask,
  balancerTasks,
  cronFile,
  planDirs,
  planNode,
  planRetire,
  planSchedule,
  retireTask,
  scheduleTask,
  scheduleUnits,
} from '../../tasks/ops/balancer.ts';
import { installCommand } from '../../tasks/ops/packages.ts';
import { cronToOnCalendar } from '../../src/render/on-calendar.ts';
import { captured } from '../facts/captured.ts';
import { ctxFor, host, inventory, scripts } from './ops-support.ts';

const ctx = ctxFor('kvmnode1');
const present = (content: string, mode = 0o644) => ({ exists: true as const, kind: 'file' as const, mode, owner: 'root', group: 'root', sha256: sha256(content), content });
const absent = { exists: false as const };
const cron = cronFile(ctx);
const units = scheduleUnits(ctx);
const noSystemd = { init: 'process_api', timerUnit: undefined, cronDaemon: [321], crondDaemon: [] };

describe('balancer install', () => {
  it('only on the home hypervisor', () => {
    for (const t of balancerTasks('// agent\n').filter((x) => x.name !== 'balancer retired')) {
      expect(t.stage).toBe('balancer');
      expect(t.applies(host('kvmnode1'), inventory)).toBe(true);
      expect(t.applies(host('kvmnode2'), inventory)).toBe(false);
      expect(t.applies(host('kvmstorage'), inventory)).toBe(false);
    }
  });

  it('node: captured v20 is enough; missing or too old installs nodejs from the OS packages', () => {
    const v20 = parseNodeVersion({ code: 0, stdout: captured('node-version.txt'), stderr: '' });
    expect(planNode(host('kvmnode1'), v20)).toEqual({ changes: [], reason: 'node v20.20.2 (>= 18)' });
    const none = planNode(host('kvmnode1'), undefined);
    // the same install as every package: waits for the dpkg lock, never prompts
    expect(scripts(none)).toEqual([installCommand('debian', ['nodejs'])]);
    expect(scripts(none)[0]).toContain('-o DPkg::Lock::Timeout=300');
    expect(none.changes[0]?.summary).toBe('install nodejs (no node; the balancer needs >= 18)');
    const old = planNode({ ...host('kvmnode1'), osFamily: 'redhat' }, { text: 'v16.20.0', major: 16, minor: 20, patch: 0 });
    expect(scripts(old)).toEqual(['dnf install -y nodejs']);
  });

  it('directories: created when missing, the logs 0750; no-op when there and root\'s', () => {
    const dir = { type: 'directory' as const, mode: 0o755, owner: 'root', group: 'root' };
    expect(scripts(planDirs({}))).toEqual([
      'mkdir -p -m 0755 -- /opt/hvmctl',
      'mkdir -p -m 0755 -- /etc/hvmctl',
      'mkdir -p -m 0755 -- /var/lib/hvmctl',
      'mkdir -p -m 0750 -- /var/log/hvmctl',
    ]);
    const all = { '/opt/hvmctl': dir, '/etc/hvmctl': dir, '/var/lib/hvmctl': dir, '/var/log/hvmctl': { ...dir, mode: 0o750 } };
    expect(planDirs(all).changes).toEqual([]);
    // an operator's tighter choice stands: 0700 and a group of their own are not undone
    expect(planDirs({ ...all, '/var/log/hvmctl': { ...dir, mode: 0o700, group: 'adm' }, '/etc/hvmctl': { ...dir, mode: 0o711 } }).changes).toEqual([]);
    expect(() => planDirs({ ...all, '/var/log/hvmctl': { ...dir, type: 'file' } })).toThrow(/exists but is a file/);
  });

  it('directories: a world-readable log directory, group-writable code or state, or a non-root owner is fixed, and says why', () => {
    const dir = { type: 'directory' as const, mode: 0o755, owner: 'root', group: 'root' };
    const all = { '/opt/hvmctl': dir, '/etc/hvmctl': dir, '/var/lib/hvmctl': { ...dir, mode: 0o777 }, '/var/log/hvmctl': { ...dir, mode: 0o2775, owner: 'syslog' } };
    const r = planDirs({ ...all, '/opt/hvmctl': { ...dir, mode: 0o775 } });
    expect(r.changes.map((c) => c.summary)).toEqual([
      'secure /opt/hvmctl (mode 0775: writable by others than root)',
      'secure /var/lib/hvmctl (mode 0777: writable by others than root)',
      'secure /var/log/hvmctl (mode 2775: owned by syslog, and the agent runs as root; writable by others than root)',
    ]);
    expect(scripts(r)).toEqual([
      'chmod 0755 -- /opt/hvmctl',
      'chmod 0755 -- /var/lib/hvmctl',
      'chown root -- /var/log/hvmctl && chmod 2750 -- /var/log/hvmctl',
    ]);
    expect(planDirs({ ...all, '/opt/hvmctl': dir, '/var/lib/hvmctl': dir, '/var/log/hvmctl': dir }).changes.map((c) => c.summary)).toEqual([
      'secure /var/log/hvmctl (mode 0755: readable by any local user)',
    ]);
  });

  it('files: the agent bundle (0755) and balancer.json; no-op when both match; the bundle diff is a one-line note', () => {
    const task = balancerFilesTask('#!/usr/bin/env node\nconsole.log(1)\n');
    const config = task.facts(ctx);
    expect(Object.keys(config)).toEqual([balancerPaths.script, balancerPaths.config]);
    const fresh = task.plan(ctx, { [balancerPaths.script]: absent, [balancerPaths.config]: absent });
    expect(fresh.changes.map((c) => c.summary)).toEqual([`create ${balancerPaths.script}`, `create ${balancerPaths.config}`]);
    expect(fresh.changes[0]?.diff).toBe(`${balancerPaths.script}: 35 bytes from buildAgentBundle()\n`);
    const json = fresh.changes[1]?.commands[0]?.input ?? '';
    expect(JSON.parse(json)).toMatchObject({ strategy: 'home', home: { high: 80 } });
    const same = task.plan(ctx, {
      [balancerPaths.script]: present('#!/usr/bin/env node\nconsole.log(1)\n', 0o755),
      [balancerPaths.config]: present(json, 0o600),
    });
    expect(same.changes).toEqual([]);
    expect(agentFile('x').mode).toBe(0o755);
    // root's only: on_empty may carry a BMC's credentials; an older 0644 one is tightened
    const older = task.plan(ctx, {
      [balancerPaths.script]: present('#!/usr/bin/env node\nconsole.log(1)\n', 0o755),
      [balancerPaths.config]: present(json, 0o644),
    });
    expect(older.changes.map((c) => c.summary)).toEqual([`set ${balancerPaths.config} to 0600 root:root (was 0644 root:root)`]);
  });

  it("files: the bundle's content is not gathered (its diff is a one-line note), balancer.json's is", () => {
    const task = balancerFilesTask('#!/usr/bin/env node\nconsole.log(1)\n');
    const facts = task.facts(ctx);
    const bundle = facts[balancerPaths.script] as Fact<FileState>;
    const config = facts[balancerPaths.config] as Fact<FileState>;
    expect(bundle.key).toBe(`file-meta:${balancerPaths.script}`);
    expect(bundle.command).not.toMatch(/base64/);
    expect(config.key).toBe(`file:${balancerPaths.config}`);
    expect(config.command).toMatch(/base64 -w0/);
    // what the content-less fact parses to: stat and checksum only
    const { content: _, ...gathered } = present('#!/usr/bin/env node\nconsole.log(1)\n', 0o755);
    const json = task.plan(ctx, { [balancerPaths.script]: absent, [balancerPaths.config]: absent }).changes[1]?.commands[0]?.input ?? '';
    expect(task.plan(ctx, { [balancerPaths.script]: gathered, [balancerPaths.config]: present(json, 0o600) }).changes).toEqual([]);
    const { content: __, ...older } = present('#!/usr/bin/env node\nconsole.log(0)\n', 0o755);
    const changed = task.plan(ctx, { [balancerPaths.script]: older, [balancerPaths.config]: present(json, 0o600) }).changes;
    expect(changed.map((c) => [c.summary, c.diff])).toEqual([[`update ${balancerPaths.script}`, `${balancerPaths.script}: 35 bytes from buildAgentBundle()\n`]]);
  });

  it('schedule without systemd: the cron entry, cron running', () => {
    expect(cron.content).toMatch(/^\* \* \* \* \* root \/usr\/bin\/env node \/opt\/hvmctl\/balancer\.mjs once --config \/etc\/hvmctl\/balancer\.json/m);
    const fresh = planSchedule(host('kvmnode1'), cron, units, { ...noSystemd, cron: absent, service: absent, timer: absent });
    expect(fresh.changes.map((c) => [c.summary, c.notify])).toEqual([[`create ${balancerPaths.cron}`, ['cron-reload']]]);
    const ok = planSchedule(host('kvmnode1'), cron, units, { ...noSystemd, cron: present(cron.content), service: absent, timer: absent });
    expect(ok).toEqual({ changes: [], reason: '/etc/cron.d/hvmctl-balancer in place, cron running' });
  });

  it('schedule without systemd: cron not running is started; leftover timer units removed', () => {
    const r = planSchedule(host('kvmnode1'), cron, units, {
      ...noSystemd,
      cronDaemon: [],
      cron: present(cron.content),
      service: present(units.service.content),
      timer: present(units.timer.content),
    });
    expect(scripts(r)).toEqual([
      'rm -f -- /etc/systemd/system/hvmctl-balancer.timer',
      'rm -f -- /etc/systemd/system/hvmctl-balancer.service',
      'cron </dev/null >/dev/null 2>&1',
    ]);
  });

  it('schedule with systemd: timer + oneshot service, enabled; a cron entry is removed so it never runs twice', () => {
    const sd = { init: 'systemd', cronDaemon: [], crondDaemon: [] };
    const fresh = planSchedule(host('kvmnode1'), cron, units, { ...sd, timerUnit: { enabled: false, active: false }, cron: present(cron.content), service: absent, timer: absent });
    expect(fresh.changes.map((c) => c.summary)).toEqual([
      'create /etc/systemd/system/hvmctl-balancer.service',
      'create /etc/systemd/system/hvmctl-balancer.timer',
      'reload systemd units',
      'enable and start hvmctl-balancer.timer',
      'remove /etc/cron.d/hvmctl-balancer (the systemd timer schedules the balancer)',
    ]);
    expect(units.timer.content).toContain('OnCalendar=*-*-* *:*:00');
    expect(units.service.content).toContain('ExecStart=/usr/bin/env node /opt/hvmctl/balancer.mjs once --config /etc/hvmctl/balancer.json');
    const done = planSchedule(host('kvmnode1'), cron, units, {
      ...sd,
      timerUnit: { enabled: true, active: true },
      cron: absent,
      service: present(units.service.content),
      timer: present(units.timer.content),
    });
    expect(done.changes).toEqual([]);
  });

  it('cron schedule -> OnCalendar', () => {
    expect(cronToOnCalendar('* * * * *')).toBe('*-*-* *:*:00');
    expect(cronToOnCalendar('*/5 * * * *')).toBe('*-*-* *:0/5:00');
    expect(cronToOnCalendar('0,30 8-18 * * 1-5')).toBe('Mon..Fri *-*-* 8..18:0,30:00');
    // The documented @keywords (issue 10: apply refused every one, at its last stage).
    expect(cronToOnCalendar('@hourly')).toBe('*-*-* *:0:00');
    expect(cronToOnCalendar('@daily')).toBe('*-*-* 0:0:00');
    expect(cronToOnCalendar('@weekly')).toBe('Sun *-*-* 0:0:00');
    expect(cronToOnCalendar('@monthly')).toBe('*-*-1 0:0:00');
    // The loader refuses these first; apply still never installs them.
    expect(() => cronToOnCalendar('@reboot')).toThrow(/balancer\.schedule: "@reboot" is not one of @hourly/);
    expect(() => cronToOnCalendar('1-10/2 * * * *')).toThrow(/minute field: "1-10\/2" is not/);
    // systemd's week starts on Monday: a range from Sunday is Sunday plus Mon..
    expect(cronToOnCalendar('0 0 * * 0-6')).toBe('Sun,Mon..Sat *-*-* 0:0:00');
    expect(cronToOnCalendar('0 0 * * 5-7')).toBe('Fri..Sun *-*-* 0:0:00');
  });

  // The timer is what runs the balancer where systemd is PID 1: every form the loader accepts
  // must be one systemd parses, to the same times cron would run.
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('every accepted form is an OnCalendar systemd-analyze parses (needs systemd-analyze)', () => {
    const accepted = [
      '* * * * *', '*/5 * * * *', '*/59 * * * *', '0 */23 * * *', '0 0 */30 * *', '0 0 1 */11 *', '0,30 8-18 * * 1-5', '0 0 * * 0-6', '0 0 * * 0-0',
      '0 0 * * 5-7', '0 0 * * 7', '0 0 29 2 *', '0 0 31 1,3 *', '15 3 1-15 * *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly',
    ];
    for (const schedule of accepted) {
      const onCalendar = cronToOnCalendar(schedule);
      const r = spawnSync('systemd-analyze', ['calendar', onCalendar], { encoding: 'utf8' });
      expect({ schedule, onCalendar, status: r.status, err: r.stderr.trim() }).toEqual({ schedule, onCalendar, status: 0, err: '' });
      expect(r.stdout).not.toMatch(/Next elapse: never/);
    }
  });

  it('the task reads every fact it plans with', () => {
    const keys = Object.values(scheduleTask.facts(ctx)).map((f) => f.key);
    expect(keys).toEqual([
      'init-process',
      'file:/etc/cron.d/hvmctl-balancer',
      'file:/etc/systemd/system/hvmctl-balancer.service',
      'file:/etc/systemd/system/hvmctl-balancer.timer',
      'unit:hvmctl-balancer.timer',
      'pgrep:cron',
      'pgrep:crond',
    ]);
    expect(fileChange(cron, present(cron.content))).toBeUndefined();
  });

  it('cron-reload touches /etc/cron.d (Debian cron re-reads it by mtime)', () => {
    expect(handlers.find((h) => h.name === 'cron-reload')?.commands?.(ctx)).toEqual([{ script: 'if [ -d /etc/cron.d ]; then touch /etc/cron.d; fi' }]);
  });
});

describe('balancer install with the real agent bundle', () => {
  it('loadBalancerTasks installs the text buildAgentBundle() returns', async () => {
    const { loadBalancerTasks } = await import('../../tasks/ops/balancer.ts');
    const { buildAgentBundle } = await import('../../balancer/bundle.ts');
    const files = (await loadBalancerTasks()).find((t) => t.name === 'balancer files');
    const r = files?.plan(ctx, { [balancerPaths.script]: absent, [balancerPaths.config]: absent });
    const input = r?.changes[0]?.commands[0]?.input ?? '';
    expect(input).toBe(await buildAgentBundle());
    expect(input.startsWith('#!/usr/bin/env node\n')).toBe(true);
  }, 60_000);
});

describe('a hypervisor that is no longer one of the balancer\'s hosts', () => {
  it('keeps no agent that runs: timer stopped and removed, cron entry and configuration removed', () => {
    const r = planRetire({ init: 'systemd', config: present('{}'), cron: absent, service: present('x'), timer: present('y') });
    expect(r.changes.map((c) => c.summary)).toEqual([
      "stop and remove the balancer's hvmctl-balancer.timer (this host is no longer one of the balancer's hosts)",
      "remove /etc/hvmctl/balancer.json (this host is no longer one of the balancer's hosts)",
    ]);
    expect(r.changes[0]!.commands[0]!.script).toBe('systemctl disable --now hvmctl-balancer.timer 2>/dev/null; rm -f -- /etc/systemd/system/hvmctl-balancer.timer /etc/systemd/system/hvmctl-balancer.service && systemctl daemon-reload');
    expect(planRetire({ init: 'process_api', config: absent, cron: present('* * * * *'), service: absent, timer: absent }).changes[0]!.notify).toEqual(['cron-reload']);
    expect(planRetire({ init: 'systemd', config: absent, cron: absent, service: absent, timer: absent }).changes).toEqual([]);
  });
  it('applies to hypervisors outside balancer.home.hosts only', () => {
    expect(inventory.hosts.filter((h) => retireTask.applies(h, inventory)).map((h) => h.name)).toEqual(['kvmnode2', 'kvmnode3']);
  });
});
