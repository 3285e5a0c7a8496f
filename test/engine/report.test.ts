import { describe, expect, it } from 'vitest';
import { formatRecap, formatRecapLine, formatResult, formatStage, formatUnreachable, jsonReport, styleFor } from '../../tasks/engine/report.ts';
import type { RunReport, TaskRecord } from '../../tasks/engine/result.ts';

const plain = styleFor(['kvmstorage', 'kvmnode1'], false);
const changed: TaskRecord = {
  host: 'kvmnode1',
  stage: 'base',
  task: 'hosts file',
  status: 'changed',
  reason: 'update /etc/hosts',
  changes: [{ summary: 'update /etc/hosts', diff: '===================================================================\n--- /etc/hosts\n+++ /etc/hosts\n@@ -1 +1 @@\n-old\n+new\n' }],
};

describe('report formatters', () => {
  it('one line per task and host, columns aligned, diff indented only with --diff', () => {
    expect(formatResult(changed, plain, false)).toBe('changed  kvmnode1    hosts file  (update /etc/hosts)');
    expect(formatResult(changed, plain, true)).toBe(
      ['changed  kvmnode1    hosts file  (update /etc/hosts)', '    --- /etc/hosts', '    +++ /etc/hosts', '    @@ -1 +1 @@', '    -old', '    +new'].join('\n'),
    );
    const failed: TaskRecord = { ...changed, status: 'failed', reason: 'kvmnode1: command exited 1', changes: [], error: { code: 'E_COMMAND', message: 'x', hint: 'free some space' } };
    expect(formatResult(failed, plain, false)).toBe('failed   kvmnode1    hosts file  (kvmnode1: command exited 1)\n         hint: free some space');
  });

  it('stage headers, unreachable lines and the recap', () => {
    expect(formatStage('base', ['a', 'b'], false, plain)).toMatch(/^\nSTAGE \[base\] \(2 hosts\) \*+$/);
    expect(formatStage('trust', ['a'], true, plain)).toMatch(/^\nCHECK STAGE \[trust\] \(1 host\) \*+$/);
    expect(formatUnreachable('kvmnode1', { code: 'E_CONNECT', message: 'kvmnode1: unreachable: 172.21.3.10:22: connect timed out', hint: 'check it' }, plain)).toBe(
      'unreachable kvmnode1    (kvmnode1: unreachable: 172.21.3.10:22: connect timed out)\n         hint: check it',
    );
    expect(formatRecapLine({ host: 'kvmnode1', ok: 12, changed: 0, failed: 0, skipped: 1, unreachable: 0 }, plain)).toBe('kvmnode1   : ok=12 changed=0 failed=0 skipped=1 unreachable=0');
    const report: RunReport = { check: true, hosts: ['kvmnode1'], results: [changed], recap: [{ host: 'kvmnode1', ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0 }], interrupted: true, elapsedMs: 1234 };
    expect(formatRecap(report, plain).split('\n').slice(2)).toEqual([
      'kvmnode1   : ok=0 changed=1 failed=0 skipped=0 unreachable=0',
      'interrupted: no command was started after the signal; run again to finish',
      'check mode: nothing was changed; 1.23 s',
    ]);
    const doc = JSON.parse(jsonReport(report, 2, false));
    expect(doc.exitCode).toBe(2);
    expect(doc.results[0].changes).toEqual([{ summary: 'update /etc/hosts' }]);
  });

  it('colour only when asked', () => {
    const colour = styleFor(['kvmnode1'], true);
    expect(formatResult(changed, colour, false)).toContain('\x1b[33mchanged ');
    expect(formatResult(changed, plain, false)).not.toContain('\x1b[');
  });
});
