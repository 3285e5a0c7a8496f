// Non-root SSH with password-less sudo (src/connector/sudo.ts): what reaches
// the host, recorded by the fake connector, through the runner with the real
// firewall tasks; and the same wrapping run by a real shell, with a stand-in
// `sudo` that resets the environment as sudo's env_reset does.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Connector, RunOptions } from '../../src/connector/connector.ts';
import { LocalConnector } from '../../src/connector/local.ts';
import { SUDO_PROBE, sudoCommand, withSudo } from '../../src/connector/sudo.ts';
import { ConnectError } from '../../src/errors.ts';
import { quote } from '../../src/shell.ts';
import { gatherFacts } from '../../tasks/engine/facts.ts';
import { runPlaybook } from '../../tasks/engine/runner.ts';
import { handlers } from '../../tasks/handlers.ts';
import { firewallTasks } from '../../tasks/ops/firewall.ts';
import { captured } from '../facts/captured.ts';
import { host, inventory } from '../ops/ops-support.ts';
import { FakeConnector, fail, ok, type Recorded } from '../support/fake-connector.ts';

const PREFIX = 'sudo -n -- env "SSH_CLIENT=${SSH_CLIENT:-}" sh -c ';

/** The command inside a sudo-wrapped line (the inverse of quote()); undefined when the line is not wrapped. */
function unwrap(line: string): string | undefined {
  if (!line.startsWith(PREFIX)) return undefined;
  const q = line.slice(PREFIX.length);
  return q.startsWith("'") ? q.slice(1, -1).replaceAll("'\\''", "'") : q;
}

/** Records what reaches the host, then hands the unwrapped command to the fake (which answers facts by key). */
function recorder(fake: Connector, wire: Recorded[]): Connector {
  return {
    host: fake.host,
    close: () => fake.close(),
    run: (command: string, options?: RunOptions) => {
      wire.push({ host: fake.host, command, ...(options?.input === undefined ? {} : { input: String(options.input) }) });
      return fake.run(unwrap(command) ?? command, options);
    },
  };
}

describe('sudo -n for a non-root ssh.user', () => {
  it('wraps a command whole, quoted, with SSH_CLIENT handed over; the input goes to stdin, never on the command line', async () => {
    const log: Recorded[] = [];
    const conn = await withSudo(new FakeConnector('kvmnode1', {}, log), 'deploy');
    await conn.run("printf '%s' \"it's\" > /etc/x", { input: 'SECRET KEY MATERIAL' });
    expect(log.map((l) => l.command)).toEqual([SUDO_PROBE, `${PREFIX}'printf '\\''%s'\\'' "it'\\''s" > /etc/x'`]);
    expect(log[1]?.input).toBe('SECRET KEY MATERIAL');
    expect(log[1]?.command).not.toContain('SECRET');
    expect(unwrap(sudoCommand('a b'))).toBe('a b');
  });

  it('a user who would need a password is refused when connecting, with a hint; apply never types one', async () => {
    const log: Recorded[] = [];
    const fake = new FakeConnector('kvmnode1', { answers: [[SUDO_PROBE, fail(1, 'sudo: a password is required')]] }, log);
    const error = await withSudo(fake, 'deploy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toBe("kvmnode1: ssh.user deploy cannot run commands as root with 'sudo -n' (sudo: a password is required)");
    expect((error as ConnectError).hint).toMatch(/NOPASSWD.*requiretty.*never types a password/);
    expect(fake.closed).toBe(true);
    expect(log.map((l) => l.command)).toEqual([SUDO_PROBE]);
  });

  it('through the runner (real firewall tasks, apply): every command and file write reaches the host through sudo -n, the same commands as root, inputs untouched', async () => {
    const facts = {
      'firewall-tools': ok('firewall-cmd=no\nnft=yes\niptables-restore=yes\nfirewalld=stopped\n'),
      'iptables-save:filter': ok(captured('iptables-save-filter-empty.txt')),
      'ip6tables-save:filter': ok(captured('ip6tables-save-filter-empty.txt')),
      'firewalld:hvmctl': { code: 3, stdout: '', stderr: '' },
      'file:/etc/iptables/rules.v4': ok('absent\n'),
      'file:/etc/iptables/rules.v6': ok('absent\n'),
      'init-process': ok('systemd\n'),
      'dpkg:iptables-persistent,netfilter-persistent': ok('iptables-persistent ii \nnetfilter-persistent ii \n'),
      'unit:netfilter-persistent': ok('enabled=enabled\nactive=active\n'),
    };
    const answers = [[/^printf .*SSH_CLIENT/, ok('10.0.0.5 51234 22\n')]] as const;
    const run = async (sudo: boolean) => {
      const inner: Recorded[] = [];
      const wire: Recorded[] = [];
      const report = await runPlaybook({
        inventory,
        tasks: [...firewallTasks],
        handlers,
        hosts: [host('kvmnode1')],
        connect: async () => {
          const fake = new FakeConnector('kvmnode1', { facts, answers }, inner);
          return sudo ? withSudo(recorder(fake, wire), 'deploy') : fake;
        },
      });
      return { statuses: report.results.map((r) => `${r.task}: ${r.status}`), inner, wire };
    };
    const asRoot = await run(false);
    const viaSudo = await run(true);
    expect(viaSudo.statuses).toEqual(asRoot.statuses);
    expect(viaSudo.statuses).toContain('firewall live rules: changed');
    // What ran is what root would have run, with the same inputs...
    const same = (log: Recorded[]) => log.filter((l) => l.command !== SUDO_PROBE).map((l) => [l.command.replace(/HVMCTL-FACT-[0-9a-f]+/g, 'MARKER'), l.input]);
    expect(same(viaSudo.inner)).toEqual(same(asRoot.inner));
    // ...and on the wire every command but the probe is wrapped, the inputs (rules files) only on stdin.
    expect(viaSudo.wire[0]?.command).toBe(SUDO_PROBE);
    expect(viaSudo.wire.slice(1).every((l) => unwrap(l.command) !== undefined)).toBe(true);
    expect(viaSudo.wire.filter((l) => l.input?.includes('-A INPUT')).length).toBeGreaterThanOrEqual(3);
    expect(viaSudo.wire.slice(1).map((l) => l.command).join('\n')).not.toContain('--comment "hvmctl: loopback" -j ACCEPT\n');
  });
});

describe('the wrapping run by a real shell (a stand-in sudo that resets the environment like env_reset)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hvmctl-sudo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'sudo'),
    '#!/bin/sh\n[ "$1" = -n ] || { echo "sudo: a password is required" >&2; exit 1; }\nshift\n[ "$1" != -- ] || shift\nexec env -i PATH=/usr/bin:/bin "$@"\n',
  );
  chmodSync(join(dir, 'sudo'), 0o755);
  const local = new LocalConnector('kvmnode1');
  const shell: Connector = {
    host: 'kvmnode1',
    close: async () => undefined,
    run: (command, options) => local.run(`PATH=${quote(dir)}:"$PATH" SSH_CLIENT='10.0.0.5 51234 22'; export PATH SSH_CLIENT; ${command}`, options),
  };

  it('a fact batch with quotes, stdin writes and the operator address all come through', async () => {
    const conn = await withSudo(shell, 'deploy');
    const values = await gatherFacts(conn, [
      { key: 'operator', command: 'printf "%s\\n" "${SSH_CLIENT:-}"', parse: (r) => r.stdout.trim() },
      { key: 'quotes', command: `printf '%s|' "it's" 'a "b"' '$HOME'`, parse: (r) => r.stdout },
    ]);
    expect(values.get('operator')).toBe('10.0.0.5 51234 22');
    expect(values.get('quotes')).toBe(`it's|a "b"|$HOME|`);
    const file = join(dir, "out file's");
    const w = await conn.run(`cat > ${quote(file)}`, { input: 'line 1\nsecret\n' });
    expect(w.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('line 1\nsecret\n');
  });
});
