// Waiting for a TCP port to accept connections (sshd after it started).
// Callers check the route with assertLabRoute first.
import net from 'node:net';
import { LabError } from './lab-error.ts';

export function probePort(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export async function waitForPort(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probePort(address, port))) {
    if (Date.now() > deadline) {
      throw new LabError('E_LAB_TIMEOUT', `${address}:${port} does not accept connections after ${timeoutMs / 1000} s`, {
        hint: 'see the host console under /var/lib/hvmctl-lab/<host>/console.log',
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
