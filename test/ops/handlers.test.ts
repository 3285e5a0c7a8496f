import { describe, expect, it } from 'vitest';
import type { HandlerName } from '../../tasks/engine/types.ts';
import { handlerByName, handlers } from '../../tasks/handlers.ts';
import { ctxFor } from './ops-support.ts';

const every: HandlerName[] = ['network-restart', 'exportfs', 'ganesha-restart', 'pool-refresh', 'cron-reload', 'sshd-reload', 'libvirtd-restart', 'bridge-guard-load'];

describe('handlers', () => {
  it('one handler for every HandlerName, each once', () => {
    expect(handlers.map((h) => h.name).sort()).toEqual([...every].sort());
    for (const name of every) expect(handlerByName(name)?.name).toBe(name);
  });

  it('sshd-reload tests the configuration before it signals sshd', () => {
    const script = handlerByName('sshd-reload')?.commands?.(ctxFor('kvmnode1'))[0]?.script ?? '';
    expect(script.split('\n')[0]).toBe('sshd -t');
    expect(script).toContain('kill -HUP "$(cat /run/sshd.pid)"');
  });
});
