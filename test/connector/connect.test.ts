// The connector factory owns the overrides and the route guard: every caller
// (apply, plan, balance, lab demo) gets both without asking.
import { describe, expect, it } from 'vitest';
import { hostConnector, withEnvOverrides } from '../../src/connector/connect.ts';
import { RouteGuardError } from '../../src/connector/route-guard.ts';
import { testInventory } from '../engine/inventory.ts';

// 127.0.0.1 is never routed through the lab bridge: the guard refuses it (ip route get: type 'local').
const loopback = { ...testInventory.hosts[1]!, sshHost: '127.0.0.1' };
const noKey = { ...testInventory, ssh: { ...testInventory.ssh, identity: '/nonexistent/hvmctl-test-key' } };

describe('withEnvOverrides', () => {
  it('HVMCTL_IDENTITY / HVMCTL_KNOWN_HOSTS override the inventory paths', () => {
    const inv = withEnvOverrides(testInventory, { HVMCTL_IDENTITY: '/lab/id', HVMCTL_KNOWN_HOSTS: '/lab/kh' });
    expect(inv.ssh).toMatchObject({ identity: '/lab/id', knownHosts: '/lab/kh', user: 'root' });
    expect(withEnvOverrides(testInventory, {})).toBe(testInventory);
  });
  it('relative paths start at the working directory given', () => {
    expect(withEnvOverrides(testInventory, { HVMCTL_IDENTITY: 'keys/id' }, '/work').ssh.identity).toBe('/work/keys/id');
  });
});

describe('hostConnector', () => {
  it('guards every connection while a lab is up', async () => {
    const connect = hostConnector({ env: {}, labIsUp: () => true });
    await expect(connect(testInventory, loopback)).rejects.toBeInstanceOf(RouteGuardError);
  });
  it('guards when HVMCTL_LAB_ONLY=1 or the caller says the hosts are the lab\'s, lab up or not', async () => {
    await expect(hostConnector({ env: { HVMCTL_LAB_ONLY: '1' }, labIsUp: () => false })(testInventory, loopback)).rejects.toBeInstanceOf(RouteGuardError);
    await expect(hostConnector({ env: {}, labOnly: true, labIsUp: () => false })(testInventory, loopback)).rejects.toBeInstanceOf(RouteGuardError);
  });
  it('asks whether a lab is up at each connection, not once', async () => {
    let up = false;
    const connect = hostConnector({ env: {}, labIsUp: () => up });
    await expect(connect(noKey, loopback)).rejects.toThrow(/cannot read the private key/);
    up = true;
    await expect(connect(noKey, loopback)).rejects.toBeInstanceOf(RouteGuardError);
  });
  it('does not guard a real cluster when no lab is up, and uses HVMCTL_IDENTITY for the key', async () => {
    const connect = hostConnector({ env: { HVMCTL_IDENTITY: 'missing-key' }, cwd: '/nonexistent', labIsUp: () => false });
    await expect(connect(testInventory, loopback)).rejects.toThrow(/cannot read the private key \/nonexistent\/missing-key/);
  });
});
