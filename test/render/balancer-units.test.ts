// The balancer's systemd service and timer, rendered from
// templates/balancer.{service,timer}.hbs, byte for byte as apply has always
// written them (the strings tasks/ops/balancer.ts built inline before they
// became templates): a change of a byte would rewrite the units on every
// balancer host, reload systemd and restart the timer at the next apply.
import { describe, expect, it } from 'vitest';
import { balancerPaths, managedFiles } from '../../src/render/managed-files.ts';
import { scheduleUnits } from '../../tasks/ops/balancer.ts';
import { ctxFor, host, inventory } from '../ops/ops-support.ts';

const service = [
  '# Managed by hvmctl (tasks/ops/balancer.ts): local changes are overwritten by `hvmctl apply`.',
  '[Unit]',
  'Description=hvmctl load balancer: one measure-decide-migrate cycle',
  'After=network-online.target libvirtd.service',
  '',
  '[Service]',
  'Type=oneshot',
  'ExecStart=/usr/bin/env node /opt/hvmctl/balancer.mjs once --config /etc/hvmctl/balancer.json',
  'StandardOutput=append:/var/log/hvmctl/cron.log',
  'StandardError=append:/var/log/hvmctl/cron.log',
  '',
].join('\n');

const timer = (schedule: string, onCalendar: string) =>
  [
    '# Managed by hvmctl (tasks/ops/balancer.ts): local changes are overwritten by `hvmctl apply`.',
    '[Unit]',
    `Description=hvmctl load balancer schedule (cron: ${schedule})`,
    '',
    '[Timer]',
    `OnCalendar=${onCalendar}`,
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');

const attributes = { mode: 0o644, owner: 'root', group: 'root', notify: [], tags: ['balancer'] };

describe('the balancer units are byte-identical to what apply wrote before', () => {
  it.each([
    ['* * * * *', '*-*-* *:*:00'],
    ['*/5 8-18 * * 1-5', 'Mon..Fri *-*-* 8..18:0/5:00'],
    ['@daily', '*-*-* 0:0:00'],
  ])('schedule %s', (schedule, onCalendar) => {
    const inv = { ...inventory, balancer: { ...inventory.balancer, schedule } };
    const rendered = managedFiles(inv, host('kvmnode1', inv));
    const units = {
      service: rendered.find((f) => f.path === balancerPaths.serviceUnit)!,
      timer: rendered.find((f) => f.path === balancerPaths.timerUnit)!,
    };
    // what the schedule task installs is what render shows
    expect(scheduleUnits(ctxFor('kvmnode1', { inventory: inv }))).toEqual(units);
    expect([units.service.template, units.timer.template]).toEqual(['templates/balancer.service.hbs', 'templates/balancer.timer.hbs']);
    expect(units.service).toMatchObject({ ...attributes, path: '/etc/systemd/system/hvmctl-balancer.service' });
    expect(units.timer).toMatchObject({ ...attributes, path: '/etc/systemd/system/hvmctl-balancer.timer' });
    expect(units.service.content).toBe(service);
    expect(units.timer.content).toBe(timer(schedule, onCalendar));
  });

  it('only on the balancer\'s hosts, as the cron entry', () => {
    for (const h of inventory.hosts) {
      const paths = managedFiles(inventory, h).map((f) => f.path);
      expect(paths.includes(balancerPaths.timerUnit), h.name).toBe(paths.includes(balancerPaths.cron));
      expect(paths.includes(balancerPaths.serviceUnit), h.name).toBe(paths.includes(balancerPaths.cron));
    }
    expect(managedFiles(inventory, host('kvmnode1')).map((f) => f.path)).toContain(balancerPaths.timerUnit);
  });
});
