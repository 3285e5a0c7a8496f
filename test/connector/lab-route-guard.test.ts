import { describe, expect, it } from 'vitest';
import { labRouteGuard } from '../../src/connector/route-guard.ts';

describe('labRouteGuard (asks this machine\'s kernel, sends nothing)', () => {
  it('refuses loopback, a name, and an address the lab bridge does not route', async () => {
    await expect(labRouteGuard({ sshHost: '127.0.0.1' })).rejects.toThrow(/refusing to connect to 127\.0\.0\.1: its route is of type 'local'/);
    await expect(labRouteGuard({ sshHost: 'kvmnode1.example' })).rejects.toThrow(/not an IP address/);
    // 192.0.2.0/24 is TEST-NET-1: never the lab's network (the lab bridge's routes are 172.21.3.0/24 or the inventory's)
    await expect(labRouteGuard({ sshHost: '192.0.2.1' })).rejects.toThrow(/refusing to connect to 192\.0\.2\.1: (no route|its route leaves through '[^']+', not the lab bridge hvmlab0)/);
  });
  it('gives the same answer as the synchronous check', async () => {
    const { assertLabRoute } = await import('../../src/connector/route-guard.ts');
    for (const address of ['127.0.0.1', '192.0.2.1']) {
      const sync = (() => {
        try {
          assertLabRoute(address);
          return 'accepted';
        } catch (error) {
          return (error as Error).message;
        }
      })();
      const async = await labRouteGuard({ sshHost: address }).then(() => 'accepted', (error: Error) => error.message);
      expect(async).toBe(sync);
    }
  });
});
