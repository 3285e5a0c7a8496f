// Totals from the recap both tools print at the end of a run:
//   hvmctl:  `kvmnode1   : ok=14 changed=0 failed=0 skipped=0 unreachable=0` after `RECAP ***`
//   Ansible: `kvmnode1   : ok=17 changed=3 unreachable=0 failed=0 …` after `PLAY RECAP ***`
export interface Recap {
  /** Hosts listed in the recap. */
  readonly hosts: number;
  /** The recap's ok= total (Ansible counts changed tasks in ok, hvmctl does not; in a no-change run both are the tasks run). */
  readonly ok: number;
  readonly changed: number;
  readonly failed: number;
  readonly unreachable: number;
}

function parseRecap(out: string, header: RegExp): Recap {
  const lines = out.split('\n');
  let start = -1;
  lines.forEach((l, i) => {
    if (header.test(l)) start = i;
  });
  let hosts = 0;
  let ok = 0;
  let changed = 0;
  let failed = 0;
  let unreachable = 0;
  if (start >= 0) {
    for (const l of lines.slice(start + 1)) {
      const m = /^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$/.exec(l.trim());
      if (!m) continue;
      hosts++;
      const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((c) => [c[1]!, Number(c[2])]));
      ok += counts.ok ?? 0;
      changed += counts.changed ?? 0;
      failed += counts.failed ?? 0;
      unreachable += counts.unreachable ?? 0;
    }
  }
  return { hosts, ok, changed, failed, unreachable };
}

export const parseHvmctlRecap = (out: string): Recap => parseRecap(out, /^RECAP \*+$/);
export const parseAnsibleRecap = (out: string): Recap => parseRecap(out, /^PLAY RECAP \*+$/);
