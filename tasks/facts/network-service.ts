// Fact: RHEL's network-scripts `network` service exists (/etc/init.d/network
// or network.service): the ifcfg backend restarts with it where it does.
import type { Fact } from '../engine/types.ts';

export const networkService: Fact<boolean> = {
  key: 'network-service',
  command: `[ -x /etc/init.d/network ] || systemctl cat network.service >/dev/null 2>&1`,
  parse: (r) => r.code === 0,
};
