import { describe, expect, it } from 'vitest';
import { parsePoolInfo } from '../../tasks/facts/virsh-pool.ts';
import { defineScript, planPool, poolFile, poolTask } from '../../tasks/ops/pool.ts';
import { handlers } from '../../tasks/handlers.ts';
import { captured } from '../facts/captured.ts';
import { ctxFor, scripts } from './ops-support.ts';

// The captured libvirt output is for a pool whose target was /tmp/lvcap/img/kvmshared;
// the wanted XML here is the template rendered for the same path.
const path = '/tmp/lvcap/img/kvmshared';
const xml = `<!-- Managed by hvmctl -->\n<pool type="dir">\n  <name>default</name>\n  <target>\n    <path>${path}</path>\n  </target>\n</pool>\n`;
const dir = { type: 'directory' as const, mode: 0o711, owner: 'root', group: 'root' };
const V = 'virsh -c qemu:///system';
const AUTOSTART = `if [ -L /etc/libvirt/storage/autostart/default.xml ]; then rm -f /etc/libvirt/storage/autostart/default.xml; fi; ${V} pool-autostart default`;
const defined = captured('virsh-pool-dumpxml-running-inactive.xml');
const running = parsePoolInfo(captured('virsh-pool-info-running-autostart.txt'));
const plan = (facts: Parameters<typeof planPool>[3]) => planPool(ctxFor('kvmnode1').host, xml, 'templates/pool.xml.hbs', facts);

describe('libvirt pool', () => {
  it.each([
    {
      name: 'matching: no-op (uuid, capacity, permissions added by libvirt do not matter)',
      facts: { xml: defined, info: running, target: dir },
      commands: [],
    },
    {
      name: 'undefined, no directory: define, build, start, autostart',
      facts: { xml: undefined, info: undefined, target: undefined },
      commands: [defineScript(), `${V} pool-build default`, `${V} pool-start default`, AUTOSTART],
    },
    {
      name: 'defined, inactive, not autostarted (captured), directory there',
      facts: { xml: captured('virsh-pool-dumpxml-defined.xml'), info: parsePoolInfo(captured('virsh-pool-info-inactive.txt')), target: dir },
      commands: [`${V} pool-start default`, AUTOSTART],
    },
    {
      name: 'running but not autostarted (captured)',
      facts: { xml: defined, info: parsePoolInfo(captured('virsh-pool-info-running.txt')), target: dir },
      commands: [AUTOSTART],
    },
    {
      name: 'stopped after destroy, still autostarted (captured), directory gone: build and start',
      facts: { xml: defined, info: parsePoolInfo(captured('virsh-pool-info-after-destroy.txt')), target: undefined },
      commands: [`${V} pool-build default`, `${V} pool-start default`],
    },
    {
      name: 'running with another target path: destroy, undefine, define, start, autostart',
      facts: { xml: defined.replace(path, '/srv/old'), info: running, target: dir },
      commands: [
        `${V} pool-destroy default`,
        `${V} pool-undefine default`,
        defineScript(),
        `${V} pool-start default`,
        AUTOSTART,
      ],
    },
  ])('$name', ({ facts, commands }) => {
    const r = plan(facts);
    expect(scripts(r)).toEqual(commands);
    if (commands.length === 0) expect(r.reason).toBe(`pool default defined as wanted (dir, ${path}), running, autostarted`);
  });

  it('defines from stdin with the rendered XML, and names the difference on redefine', () => {
    const fresh = plan({ xml: undefined, info: undefined, target: dir });
    expect(fresh.changes[0]?.commands[0]?.input).toBe(xml);
    const moved = plan({ xml: defined.replace(path, '/srv/old'), info: running, target: dir });
    expect(moved.changes[0]?.summary).toBe(`redefine pool default: target path /srv/old -> ${path} (stops it first; running guests keep their open disks)`);
  });

  it('a target that is a file is a failure, not a change', () => {
    expect(() => plan({ xml: defined, info: running, target: { ...dir, type: 'file' } })).toThrow(/exists but is a file/);
  });

  it('the task uses the rendered template for the inventory pool and quotes names', () => {
    const ctx = ctxFor('kvmnode2');
    expect(poolFile(ctx).content).toContain('<path>/var/lib/libvirt/images/kvmshared</path>');
    const facts = poolTask.facts(ctx);
    expect(facts.xml.command).toBe(`${V} pool-dumpxml --inactive default`);
    expect(facts.target.key).toBe('stat:/var/lib/libvirt/images/kvmshared');
    expect(poolTask.applies(ctx.host, ctx.inventory)).toBe(true);
    expect(poolTask.applies(ctxFor('kvmstorage').host, ctx.inventory)).toBe(false);
  });

  it('pool-refresh handler refreshes only a running pool', () => {
    const h = handlers.find((x) => x.name === 'pool-refresh');
    expect(h?.commands?.(ctxFor('kvmnode1'))[0]?.script).toBe(
      `if ${V} pool-info default 2>/dev/null | grep -q '^State: *running'; then ${V} pool-refresh default; fi`,
    );
  });
});
