import { describe, expect, it } from 'vitest';
import type { HandlerName } from '../../tasks/engine/types.ts';
import { handlerByName, handlers } from '../../tasks/handlers.ts';
import { ctxFor } from './ops-support.ts';

const every: HandlerName[] = ['network-restart', 'exportfs', 'ganesha-restart', 'pool-refresh', 'firewall-reload', 'cron-reload', 'sshd-reload'];

describe('handlers', () => {
  it('one handler for every HandlerName, each once', () => {
    expect(handlers.map((h) => h.name).sort()).toEqual([...every].sort());
    for (const name of every) expect(handlerByName(name)?.name).toBe(name);
  });

  it('firewall-reload restores both persisted files of the OS family (IPv6 only where the kernel has it)', () => {
    const awk = `awk '/^-A INPUT /&&!f{print "-F INPUT";f=1}{print}'`;
    expect(handlerByName('firewall-reload')?.commands(ctxFor('kvmnode1'))).toEqual([
      { script: `${awk} /etc/iptables/rules.v4 | iptables-restore --noflush` },
      { script: `if [ -d /proc/sys/net/ipv6 ]; then ${awk} /etc/iptables/rules.v6 | ip6tables-restore --noflush; fi` },
    ]);
    const redhat = ctxFor('kvmnode1');
    const scripts = handlerByName('firewall-reload')?.commands({ ...redhat, host: { ...redhat.host, osFamily: 'redhat' } }).map((c) => c.script);
    expect(scripts?.[0]).toContain('/etc/sysconfig/iptables | iptables-restore --noflush');
    expect(scripts?.[1]).toContain('/etc/sysconfig/ip6tables | ip6tables-restore --noflush');
  });

  it('sshd-reload tests the configuration before it signals sshd', () => {
    const script = handlerByName('sshd-reload')?.commands(ctxFor('kvmnode1'))[0]?.script ?? '';
    expect(script.split('\n')[0]).toBe('sshd -t');
    expect(script).toContain('kill -HUP "$(cat /run/sshd.pid)"');
  });
});
