import { describe, expect, it } from 'vitest';
import { createPeers } from '../../balancer/peers.ts';
import { LocalConnector } from '../../src/connector/local.ts';
import { SystemSshConnector } from '../../src/connector/system-ssh.ts';

describe('createPeers', () => {
  const hosts = [
    { name: 'kvmnode1', fqdn: 'kvmnode1.localdomain' },
    { name: 'kvmnode2', fqdn: 'kvmnode2.localdomain', sshPort: 22 },
  ];
  const peers = createPeers('kvmnode1', hosts);
  it('the host the agent runs on is local, the others are reached with the system ssh, unknown ones not at all', () => {
    expect(peers('kvmnode1')).toBeInstanceOf(LocalConnector);
    expect(peers('kvmnode2')).toBeInstanceOf(SystemSshConnector);
    expect(peers('kvmnode2')?.host).toBe('kvmnode2');
    expect(peers('elsewhere')).toBeUndefined();
  });
  it('runs a command on itself through sh', async () => {
    expect(await peers('kvmnode1')!.run('echo $((1+2))')).toEqual({ code: 0, stdout: '3\n', stderr: '' });
  });
});
