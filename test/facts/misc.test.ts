import { describe, expect, it } from 'vitest';
import { commandPath } from '../../tasks/facts/command-path.ts';
import { fileText, textLines } from '../../tasks/facts/file-text.ts';
import { firewallTools } from '../../tasks/facts/firewall-backend.ts';
import { mountAt, mounts, parseProcMounts } from '../../tasks/facts/mounts.ts';
import { nfsReachable } from '../../tasks/facts/nfs-reachable.ts';
import { nodeVersion } from '../../tasks/facts/node-version.ts';
import { parsePathStat } from '../../tasks/facts/path-stat.ts';
import { initProcess, isSystemd, processIds } from '../../tasks/facts/process.ts';
import { keyOnLine, parsePublicKey, publicKeyFile } from '../../tasks/facts/ssh-keys.ts';
import { captured, ok } from './captured.ts';

describe('small facts on captured output', () => {
  it('mounts: /proc/mounts of this machine, octal escapes', () => {
    const list = mounts.parse(ok(captured('proc-mounts.txt')));
    expect(list.length).toBeGreaterThan(5);
    expect(mountAt(list, '/')?.fstype).toBeTruthy();
    expect(mountAt(list, '/proc')?.fstype).toBe('proc');
    const esc = parseProcMounts('srv:/a\\040b /mnt/with\\040space nfs4 rw,relatime 0 0\n');
    expect(esc[0]).toEqual({ source: 'srv:/a b', target: '/mnt/with space', fstype: 'nfs4', options: 'rw,relatime' });
    expect(mountAt(esc, '/mnt/with space/')).toBeDefined();
    expect(() => parseProcMounts('garbage\n')).toThrow(/line 1/);
  });

  it('pgrep: pids, none, error', () => {
    expect(processIds('ganesha.nfsd').parse(ok('812\n'))).toEqual([812]);
    expect(processIds('ganesha.nfsd').parse({ code: 1, stdout: '', stderr: '' })).toEqual([]);
    expect(() => processIds('x').parse({ code: 2, stdout: '', stderr: 'pgrep: bad' })).toThrow(/bad/);
    expect(processIds('ganesha.nfsd').command).toBe('pgrep -x ganesha.nfsd');
  });

  it('init process: captured from this machine (its /proc/1/comm) is not systemd', () => {
    const init = initProcess.parse(ok(captured('pid1-comm.txt')));
    expect(init).toBe('process_api');
    expect(isSystemd(init)).toBe(false);
    expect(isSystemd(initProcess.parse(ok('systemd\n')))).toBe(true);
  });

  it('node version: captured, absent, garbage', () => {
    expect(nodeVersion.parse(ok(captured('node-version.txt')))).toEqual({ text: 'v20.20.2', major: 20, minor: 20, patch: 2 });
    expect(nodeVersion.parse({ code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => nodeVersion.parse(ok('twelve\n'))).toThrow(/twelve/);
  });

  it('command -v: found, unknown (dash 127, bash 1)', () => {
    expect(commandPath('node').parse(ok('/usr/bin/node\n'))).toBe('/usr/bin/node');
    expect(commandPath('firewall-cmd').parse({ code: 127, stdout: '', stderr: '' })).toBeUndefined();
    expect(commandPath('firewall-cmd').parse({ code: 1, stdout: '', stderr: '' })).toBeUndefined();
  });

  it('stat: captured file, directory, symlink', () => {
    const [f, d, l] = captured('stat-file-dir-link.txt').trim().split('\n');
    expect(parsePathStat('/f', ok(`${f}\n`))).toEqual({ type: 'file', mode: 0o644, owner: 'root', group: 'root' });
    expect(parsePathStat('/d', ok(`${d}\n`))).toEqual({ type: 'directory', mode: 0o750, owner: 'root', group: 'root' });
    expect(parsePathStat('/l', ok(`${l}\n`))?.type).toBe('symlink');
    expect(parsePathStat('/x', { code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => parsePathStat('/x', ok('what\n'))).toThrow(/what/);
  });

  it('file text: content, absent, unreadable', () => {
    expect(fileText('/etc/fstab').parse(ok('a\nb\n'))).toBe('a\nb\n');
    expect(fileText('/etc/fstab').parse({ code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => fileText('/etc/fstab').parse({ code: 1, stdout: '', stderr: 'cat: Permission denied' })).toThrow(/Permission/);
    expect(textLines('a\nb\n')).toEqual(['a', 'b']);
    expect(textLines('a\nb')).toEqual(['a', 'b']);
    expect(textLines(undefined)).toEqual([]);
  });

  it('nfs-ls: captured refusal is a reason, not an exception', () => {
    const fact = nfsReachable('172.21.3.13', '/srv/kvmshared');
    expect(fact.command).toContain('nfs-ls nfs://172.21.3.13/srv/kvmshared');
    expect(fact.parse(ok(''))).toEqual({ ok: true });
    const refused = fact.parse({ code: 251, stdout: captured('nfs-ls-refused.stdout'), stderr: captured('nfs-ls-refused.stderr') });
    expect(refused).toEqual({ ok: false, reason: 'nfs-ls nfs://172.21.3.13/srv/kvmshared exited 251: Failed to mount nfs share : nfs_service failed' });
  });

  it('firewall tools', () => {
    expect(firewallTools.parse(ok('firewall-cmd=no\nnft=yes\niptables-restore=yes\nfirewalld=stopped\n'))).toEqual({
      firewallCmd: false,
      nft: true,
      iptablesRestore: true,
      firewalldRunning: false,
    });
    expect(() => firewallTools.parse(ok('nft=yes\n'))).toThrow(/firewall-cmd=/);
  });

  it('public keys: captured ssh-keygen output; known_hosts and authorized_keys lines', () => {
    const key = publicKeyFile('/root/.ssh/id_ed25519.pub').parse(ok(captured('ssh-id_ed25519.pub')));
    expect(key?.type).toBe('ssh-ed25519');
    expect(key?.comment).toBe('root@kvmnode2.localdomain');
    expect(publicKeyFile('/x.pub').parse({ code: 3, stdout: '', stderr: '' })).toBeUndefined();
    expect(() => parsePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----')).toThrow(/not an OpenSSH public key/);
    const host = parsePublicKey(captured('ssh-host-ed25519.pub'));
    expect(keyOnLine(`kvmnode2.localdomain,kvmnode2,172.21.3.11 ${host.type} ${host.body}`)).toEqual({ type: host.type, body: host.body });
    expect(keyOnLine(`command="x y",no-pty ${host.type} ${host.body} c`)).toEqual({ type: host.type, body: host.body });
    expect(keyOnLine('# comment')).toBeUndefined();
  });
});
