import { describe, expect, it } from 'vitest';
import { keyed, valueOf } from '../../tasks/engine/keyed-facts.ts';
import { processIds } from '../../tasks/facts/process.ts';
import { unitState } from '../../tasks/facts/systemd-unit.ts';

describe('computed fact lists', () => {
  it('are named by their own keys, in order, and read back by the fact itself', () => {
    const facts = keyed([unitState('libvirtd'), processIds('libvirtd'), unitState('cron')]);
    expect(Object.keys(facts)).toEqual(['unit:libvirtd', 'pgrep:libvirtd', 'unit:cron']);
    const values = { 'unit:libvirtd': { enabled: true, active: false }, 'pgrep:libvirtd': [12] };
    expect(valueOf(values, unitState('libvirtd'))).toEqual({ enabled: true, active: false });
    expect(valueOf(values, processIds('libvirtd'))).toEqual([12]);
    expect(valueOf(values, unitState('cron'))).toBeUndefined();
  });
});
