import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalConnector } from '../../src/connector/local.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { gatherFacts } from '../../tasks/engine/facts.ts';
import { fileFact, parseFileState } from '../../tasks/facts/file-state.ts';
import { BACKUPS_KEPT, fileChange, filesTask, removalChange, sha256, type WriteOptions, writeScript } from '../../tasks/ops/file.ts';

const local = new LocalConnector();
const me = userInfo().username;
const myGroup = (await local.run('id -gn')).stdout.trim();

function managed(path: string, content: string, extra: Partial<ManagedFile> = {}): ManagedFile {
  return { path, content, mode: 0o644, owner: me, group: myGroup, notify: [], tags: ['t'], template: 'templates/x.hbs', ...extra };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hvmctl-file-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function stateOf(path: string, sensitive = false) {
  const fact = fileFact(path, sensitive);
  return (await gatherFacts(local, [fact])).get(fact.key) as ReturnType<typeof parseFileState>;
}

// Every real write in these tests backs up into a temp dir, never /var/backups.
let backupDir = '';
beforeEach(() => {
  backupDir = tempDir();
});
const opts = (): WriteOptions => ({ backupDir });

async function apply(file: ManagedFile, options: WriteOptions = opts()) {
  const change = fileChange(file, await stateOf(file.path, file.sensitive), options);
  if (!change) return { change, results: [] };
  const results = [];
  for (const c of change.commands) results.push(await local.run(c.script, c.input === undefined ? {} : { input: c.input }));
  return { change, results };
}

describe('file fact', () => {
  it('parses real stat/sha256sum/base64 output for a present, an absent and a non-regular path', async () => {
    const dir = tempDir();
    const path = join(dir, 'hosts');
    writeFileSync(path, '127.0.0.1 localhost\n');
    chmodSync(path, 0o640);
    const st = await stateOf(path);
    expect(st).toEqual({ exists: true, kind: 'file', mode: 0o640, owner: me, group: myGroup, sha256: sha256('127.0.0.1 localhost\n'), content: '127.0.0.1 localhost\n' });
    expect(await stateOf(join(dir, 'nope'))).toEqual({ exists: false });
    expect(await stateOf(dir)).toEqual({ exists: true, kind: 'other' });
  });

  it('does not read the content of a sensitive file', async () => {
    const dir = tempDir();
    const path = join(dir, 'key');
    writeFileSync(path, 'SECRET-KEY-MATERIAL\n');
    chmodSync(path, 0o644);
    const st = await stateOf(path, true);
    expect(st).toEqual({ exists: true, kind: 'file', mode: 0o644, owner: me, group: myGroup, sha256: sha256('SECRET-KEY-MATERIAL\n') });
    expect('content' in st).toBe(false);
    expect(fileFact(path, true).command).not.toContain('base64');
  });

  it('rejects output it does not understand', () => {
    expect(() => parseFileState('/x', 'stat: cannot stat\n', 1)).toThrow(/cannot parse state of \/x/);
  });
});

describe('file change (pure)', () => {
  const file = managed('/etc/hosts', 'new\n', { notify: ['network-restart'], validate: 'true {}' });
  const state = { exists: true as const, kind: 'file' as const, mode: 0o644, owner: me, group: myGroup, sha256: sha256('new\n'), content: 'new\n' };

  it('is a no-op when checksum, mode, owner and group match', () => {
    expect(fileChange(file, state)).toBeUndefined();
  });

  it('only chmod/chown when the content matches but the mode does not', () => {
    const c = fileChange(file, { ...state, mode: 0o600 });
    expect(c?.commands).toEqual([{ script: `chown ${me}:${myGroup} -- /etc/hosts && chmod 0644 -- /etc/hosts` }]);
    expect(c?.notify).toEqual(['network-restart']);
  });

  it('writes through a temp file next to the target, checks it arrived whole, validates, fsyncs, backs up outside /etc and renames', () => {
    const c = fileChange(file, { ...state, sha256: sha256('old\n'), content: 'old\n' });
    expect(c?.summary).toBe('update /etc/hosts');
    expect(c?.diff).toContain('-old');
    expect(c?.diff).toContain('+new');
    expect(c?.commands).toHaveLength(1);
    expect(c?.commands[0]?.input).toBe('new\n');
    expect(c?.commands[0]?.script).toBe(
      [
        'set -e',
        'mkdir -p -- /etc',
        'rm -f -- /etc/.hosts.hvmctl-tmp.*',
        't=$(mktemp -- /etc/.hosts.hvmctl-tmp.XXXXXX)',
        `trap 'rm -f -- "$t"' EXIT`,
        'cat > "$t"',
        `h=$(sha256sum < "$t") && [ "\${h%% *}" = ${sha256('new\n')} ] || { echo 'hvmctl: /etc/hosts: the new content did not arrive whole (connection lost?); target left unchanged' >&2; exit 66; }`,
        `chown ${me}:${myGroup} -- "$t"`,
        'chmod 0644 -- "$t"',
        "if ! ( true \"$t\"",
        ') 1>&2; then',
        `  echo 'hvmctl: validation of the new /etc/hosts failed (true {}); target left unchanged' >&2`,
        '  exit 65',
        'fi',
        'sync -- "$t"',
        'b=',
        'if [ -e /etc/hosts ]; then',
        '  mkdir -p -- /var/backups/hvmctl /var/backups/hvmctl/etc && chmod 0700 -- /var/backups/hvmctl',
        '  b=/var/backups/hvmctl/etc/hosts.$(date -u +%Y%m%dT%H%M%S.%NZ)',
        '  cp -p -- /etc/hosts "$b" && chmod 0600 -- "$b"',
        '  keep=',
        `  set -- /var/backups/hvmctl/etc/hosts.[0-9]*Z; k=$(($# - ${BACKUPS_KEPT}))`,
        '  for f; do [ $k -gt 0 ] || break; k=$((k - 1)); [ "$f" = "$keep" ] || rm -f -- "$f"; done',
        'fi',
        'mv -f -- "$t" /etc/hosts',
        'if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon -F -- /etc/hosts; fi',
      ].join('\n'),
    );
  });

  it('never puts sensitive content in the diff, summary or script', () => {
    const secret = managed('/root/.ssh/id_ed25519', 'PRIVATE KEY BYTES\n', { sensitive: true, mode: 0o600 });
    const c = fileChange(secret, { exists: false });
    expect(c?.commands[0]?.sensitive).toBe(true);
    expect(c?.diff).not.toContain('PRIVATE');
    expect(c?.summary).not.toContain('PRIVATE');
    expect(c?.commands[0]?.script).not.toContain('PRIVATE');
  });

  it('quotes paths with spaces and quotes', () => {
    const script = writeScript(managed("/tmp/it's here/a file", 'x'));
    expect(script).toContain(`mkdir -p -- '/tmp/it'\\''s here'`);
    expect(script).toContain(`mv -f -- "$t" '/tmp/it'\\''s here/a file'`);
    expect(script).toContain(`set -- '/var/backups/hvmctl/tmp/it'\\''s here/a file'.[0-9]*Z;`);
  });

  it('backs up and prunes a path with spaces and quotes on a real shell', async () => {
    const dir = tempDir();
    const path = join(dir, "it's a file");
    for (const v of ['1', '2', '3', '4', '5', '6', '7']) await apply(managed(path, `${v}\n`));
    expect(readdirSync(join(backupDir, dir))).toHaveLength(BACKUPS_KEPT);
    expect(readdirSync(dir)).toEqual(["it's a file"]);
  });

  it('refuses to replace something that is not a regular file', () => {
    expect(() => fileChange(file, { exists: true, kind: 'other' })).toThrow(/not a regular file/);
  });
});

describe('file write on a real file system', () => {
  it('creates, then is a no-op, then updates; backups 0600 under the backup dir (0700), the newest kept, nothing beside the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'conf');
    const first = await apply(managed(path, 'one\n', { mode: 0o640 }));
    expect(first.results.map((r) => r.code)).toEqual([0]);
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(existsSync(join(backupDir, dir))).toBe(false); // nothing to back up on create
    expect((await apply(managed(path, 'one\n', { mode: 0o640 }))).change).toBeUndefined();
    const versions = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight'];
    for (const v of versions) expect((await apply(managed(path, `${v}\n`, { mode: 0o640 }))).results[0]?.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('eight\n');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['conf']);
    const kept = readdirSync(join(backupDir, dir, 'sub')).sort();
    expect(kept).toHaveLength(BACKUPS_KEPT);
    expect(kept.every((n) => /^conf\.\d{8}T\d{6}\.\d{9}Z$/.test(n))).toBe(true);
    // the newest five previous versions, oldest first (the names sort by time)
    expect(kept.map((n) => readFileSync(join(backupDir, dir, 'sub', n), 'utf8'))).toEqual(['three\n', 'four\n', 'five\n', 'six\n', 'seven\n']);
    expect(kept.every((n) => (statSync(join(backupDir, dir, 'sub', n)).mode & 0o777) === 0o600)).toBe(true);
    expect(statSync(backupDir).mode & 0o777).toBe(0o700);
  });

  it('with an undo dir, the FIRST write records the previous state (backup, mode, owner), later ones leave it; that backup is never pruned', async () => {
    const dir = tempDir();
    const undoDir = join(tempDir(), 'undo');
    const path = join(dir, 'interfaces');
    writeFileSync(path, 'installer\n');
    chmodSync(path, 0o644);
    for (const v of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await apply(managed(path, `${v}\n`), { backupDir, undoDir });
    const [backup, meta] = readFileSync(join(undoDir, path), 'utf8').split('\n');
    expect(readFileSync(backup ?? '', 'utf8')).toBe('installer\n');
    expect(meta).toBe(`644 ${process.getuid?.()} ${process.getgid?.()}`);
    expect(readdirSync(join(backupDir, dir))).toHaveLength(BACKUPS_KEPT + 1); // the five newest and the recorded one
    // a path that did not exist is recorded as one empty line (the rollback removes it)
    const fresh = join(dir, 'new-file');
    await apply(managed(fresh, 'x\n'), { backupDir, undoDir });
    expect(readFileSync(join(undoDir, fresh), 'utf8')).toBe('\n');
  });

  it('a failing validation leaves the target untouched and removes the temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'sshd_config');
    writeFileSync(path, 'good\n');
    const { results } = await apply(managed(path, 'bad\n', { validate: `grep -q good {}` }));
    expect(results[0]?.code).toBe(65);
    expect(results[0]?.stderr).toContain('validation of the new');
    expect(readFileSync(path, 'utf8')).toBe('good\n');
    expect(readdirSync(dir)).toEqual(['sshd_config']);
  });

  it('the validation sees the new content in the temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'exports');
    const { results } = await apply(managed(path, 'good\n', { validate: `grep -q good {}` }));
    expect(results[0]?.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('good\n');
  });

  it("a validator that ends with `exit` (netplan's does) ends only itself: the file is still written, or refused", async () => {
    // found on the lab: `{ ...; exit $rc }` ended the whole write before its rename, reporting "create"
    const dir = tempDir();
    const path = join(dir, '60-hvmctl.yaml');
    const validate = (verdict: string) => `r=$(mktemp -d) && cp {} "$r/x" && grep -q ${verdict} "$r/x"; rc=$?; rm -rf "$r"; exit $rc`;
    expect((await apply(managed(path, 'good\n', { validate: validate('good') }))).results[0]?.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('good\n');
    const refused = (await apply(managed(path, 'bad\n', { validate: validate('good') }))).results[0];
    expect(refused?.code).toBe(65);
    expect(readFileSync(path, 'utf8')).toBe('good\n');
    expect(readdirSync(dir)).toEqual(['60-hvmctl.yaml']);
  });

  it('removes stale temp files a killed run left behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'hosts');
    writeFileSync(join(dir, '.hosts.hvmctl-tmp.AbC123'), 'half a fi');
    await apply(managed(path, 'whole\n'));
    expect(readdirSync(dir)).toEqual(['hosts']);
  });

  it('a SIGKILL in the middle leaves the old file whole', async () => {
    const dir = tempDir();
    const path = join(dir, 'hosts');
    writeFileSync(path, 'old\n');
    // kill the writer while it is still reading its input: the target must be untouched
    const script = writeScript(managed(path, 'x'), opts());
    const r = await local.run(`(${script.replace('cat > "$t"', 'cat > "$t"; kill -9 $$')})`, { input: 'new content' });
    expect(r.code).not.toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('old\n');
  });

  // What the lab's SIGKILL test caught: hvmctl killed while uploading makes
  // sshd close the script's stdin, so `cat` sees a normal end of file with
  // part of the content (or none). An empty file passes iptables-restore --test.
  it('content cut short on stdin (the operator side died) is never installed: exit 66, old file whole, no temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'rules.v4');
    writeFileSync(path, 'old\n');
    const want = '*filter\n:INPUT DROP [0:0]\nCOMMIT\n';
    for (const arrived of ['', want.slice(0, 10), want.slice(0, -1)]) {
      const r = await local.run(writeScript(managed(path, want, { validate: 'true {}' }), opts()), { input: arrived });
      expect(r.code, JSON.stringify(arrived)).toBe(66);
      expect(r.stderr).toContain(`hvmctl: ${path}: the new content did not arrive whole (connection lost?); target left unchanged`);
      expect(readFileSync(path, 'utf8')).toBe('old\n');
      expect(readdirSync(dir)).toEqual(['rules.v4']);
    }
    const whole = await local.run(writeScript(managed(path, want), opts()), { input: want });
    expect(whole.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(want);
  });

  it('sensitive content is checked by its size, and no digest of it is in the script', async () => {
    const dir = tempDir();
    const path = join(dir, 'secret');
    const file = managed(path, 's3cret-value\n', { sensitive: true });
    const script = writeScript(file, opts());
    expect(script).not.toContain(sha256(file.content));
    expect(script).toContain('[ $n -eq 13 ]');
    expect((await local.run(script, { input: 's3cret' })).code).toBe(66);
    expect(readdirSync(dir)).toEqual([]);
    expect((await local.run(script, { input: file.content })).code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(file.content);
  });
});

describe('retired files', () => {
  const retired = { path: '/etc/network/interfaces.d/hvmctl-br0', why: 'moved', notify: ['network-restart'] as const };

  it('nothing when already gone; else back up, then remove, notifying', () => {
    expect(removalChange(retired, { exists: false })).toBeUndefined();
    const c = removalChange(retired, { exists: true, kind: 'file', mode: 0o644, owner: 'root', group: 'root', sha256: sha256('auto br0\n'), content: 'auto br0\n' });
    expect(c?.summary).toBe('remove /etc/network/interfaces.d/hvmctl-br0 (moved)');
    expect(c?.notify).toEqual(['network-restart']);
    expect(c?.diff).toContain('-auto br0');
    const script = c?.commands[0]?.script ?? '';
    expect(script.indexOf('cp -p -- /etc/network/interfaces.d/hvmctl-br0 "$b"')).toBeLessThan(script.indexOf('rm -f -- /etc/network/interfaces.d/hvmctl-br0'));
    expect(() => removalChange(retired, { exists: true, kind: 'other' })).toThrow(/not a regular file/);
  });

  it('on a real file system: removed, backed up, recorded for undo', async () => {
    const dir = tempDir();
    const undoDir = join(tempDir(), 'undo');
    const path = join(dir, 'hvmctl-br0');
    writeFileSync(path, 'auto br0\n');
    const c = removalChange({ path, why: 'moved', notify: [] }, await stateOf(path), { backupDir, undoDir });
    const r = await local.run(c?.commands[0]?.script ?? 'false');
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    const [backup] = readFileSync(join(undoDir, path), 'utf8').split('\n');
    expect(readFileSync(backup ?? '', 'utf8')).toBe('auto br0\n');
  });
});

describe('filesTask', () => {
  it('asks one fact per file and reports each change, or one reason', () => {
    const files = [managed('/a', 'a'), managed('/b', 'b')];
    const task = filesTask({ name: 'two files', tags: ['t'], stage: 'base', files: () => files });
    const ctx = {} as Parameters<typeof task.plan>[0];
    expect(Object.keys(task.facts(ctx))).toEqual(['/a', '/b']);
    const same = (f: ManagedFile) => ({ exists: true as const, kind: 'file' as const, mode: 0o644, owner: me, group: myGroup, sha256: sha256(f.content), content: f.content });
    expect(task.plan(ctx, { '/a': same(files[0]!), '/b': same(files[1]!) })).toEqual({
      changes: [],
      reason: '2 files already up to date (/a, /b)',
    });
    const r = task.plan(ctx, { '/a': same(files[0]!), '/b': { exists: false } });
    expect(r.changes.map((c) => c.summary)).toEqual(['create /b']);
  });

  it('asks for retired paths too and removes them before writing; passes the undo dir to every script', () => {
    const files = [managed('/a', 'a')];
    const task = filesTask({ name: 't', tags: ['t'], stage: 'base', files: () => files, retired: () => [{ path: '/old', why: 'gone', notify: [] }], undoDir: '/run/u' });
    const ctx = {} as Parameters<typeof task.plan>[0];
    expect(Object.keys(task.facts(ctx))).toEqual(['/old', '/a']);
    const old = { exists: true as const, kind: 'file' as const, mode: 0o644, owner: 'root', group: 'root', sha256: sha256('x'), content: 'x' };
    const r = task.plan(ctx, { '/old': old, '/a': { exists: false } });
    expect(r.changes.map((c) => c.summary)).toEqual(['remove /old (gone)', 'create /a']);
    expect(r.changes.every((c) => c.commands[0]?.script.includes('/run/u/'))).toBe(true);
  });
});

describe('file task through the runner', () => {
  it('check mode reads the file state and executes nothing; apply writes through the write script with the content on stdin', async () => {
    const { runPlaybook } = await import('../../tasks/engine/runner.ts');
    const { FakeFleet, ok } = await import('../support/fake-connector.ts');
    const { testInventory } = await import('../engine/inventory.ts');
    const file = managed('/etc/demo.conf', 'wanted\n', { owner: 'root', group: 'root' });
    const task = filesTask({ name: 'demo', tags: ['demo'], stage: 'base', files: () => [file] });
    const host = testInventory.hosts[1]!;
    const drifted = { facts: { 'file:/etc/demo.conf': ok(`644 root root\n${sha256('old\n')}  -\n${Buffer.from('old\n').toString('base64')}\n`) } };
    const checkFleet = new FakeFleet({ kvmnode1: drifted });
    const checked = await runPlaybook({ inventory: testInventory, tasks: [task], handlers: [], hosts: [host], connect: (h) => checkFleet.connect(h.name), check: true });
    expect(checkFleet.commands('kvmnode1')).toEqual([]);
    expect(checked.results[0]).toMatchObject({ status: 'changed', reason: 'would update /etc/demo.conf' });
    expect(checked.results[0]?.changes[0]?.diff).toContain('-old\n+wanted');
    const applyFleet = new FakeFleet({ kvmnode1: drifted });
    await runPlaybook({ inventory: testInventory, tasks: [task], handlers: [], hosts: [host], connect: (h) => applyFleet.connect(h.name) });
    expect(applyFleet.commands('kvmnode1')).toEqual([writeScript(file)]);
    expect(applyFleet.log.find((r) => !r.factKeys)?.input).toBe('wanted\n');
  });
});
