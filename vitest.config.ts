import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// The lab's end-to-end files share one lab and build on each other's state,
// as an operator's day would: the lab itself, then apply (bootstrap, drift,
// faults), each other network backend on kvmnode3, what a guest on the bridge can reach, what other operators, stale
// keys and hung hosts meet, then the balancer on the bootstrapped cluster (home, migrations that fail at each phase, disks no two QEMUs may open, two homes with one agent acting, then consolidate), and last its metrics from and to Prometheus.
const labOrder = ['lab.test.ts', 'apply.test.ts', 'backends.test.ts', 'neighbour.test.ts', 'operators.test.ts', 'balancer.test.ts', 'faults.test.ts', 'leases.test.ts', 'leader.test.ts', 'consolidate.test.ts', 'prometheus.test.ts'];

class LabSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = labOrder.findIndex((name) => f.moduleId.endsWith(`/test/lab/${name}`));
      return i === -1 ? labOrder.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

// Two projects: `unit` (pure, fast, runs anywhere) and `lab` (end-to-end on the
// real local lab: root and /dev/kvm needed; the tests skip themselves, saying
// why, where those are missing).
export default defineConfig({
  test: {
    // A root-level option (projects may not set their own sequencer).
    sequence: { sequencer: LabSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/lab/**'],
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
          globalSetup: ['test/lab/global-setup.ts'],
          // Every connection the lab tests make must go through the lab bridge.
          env: { HVMCTL_LAB_ONLY: '1' },
        },
      },
    ],
  },
});
