import { describe, expect, it } from 'vitest';
import { cliRouteGuard, labRouteGuard } from '../../lab/route-guard.ts';

describe('cliRouteGuard', () => {
  it('guards every connection while a lab is up', () => {
    expect(cliRouteGuard({}, () => true)).toBe(labRouteGuard);
  });
  it('guards when the test suites ask for it, lab or not', () => {
    expect(cliRouteGuard({ HVMCTL_LAB_ONLY: '1' }, () => false)).toBe(labRouteGuard);
  });
  it('does not guard a real cluster when no lab is up', () => {
    expect(cliRouteGuard({}, () => false)).toBeUndefined();
  });
});
