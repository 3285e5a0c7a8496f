import { describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../tasks/facts/ssh-keys.ts';
import {
  keyPairTask,
  knownHostsWith,
  peerKeys,
  planKeyPair,
  planTrust,
  trustTask,
} from '../../tasks/ops/ssh-trust.ts';
import { authorizedKeysBlock, TRUST_BEGIN, TRUST_END } from '../../tasks/ops/trust-block.ts';
import { captured } from '../facts/captured.ts';
import { clusterOf, ctxFor, host, inventory, scripts } from './ops-support.ts';

// Captured ssh-keygen output (throw-away keys).
const key2 = parsePublicKey(captured('ssh-id_ed25519.pub'));
const key3 = parsePublicKey(captured('ssh-id_ed25519-kvmnode3.pub'));
const hostKey = parsePublicKey(captured('ssh-host-ed25519.pub'));
const hostKey3 = { ...hostKey, body: key3.body };
const operator = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorOperatorOperatorOperatorOperatorOp operator@laptop';

const published = (over: Record<string, Record<string, unknown>> = {}) =>
  clusterOf({
    kvmnode2: { 'exists:/root/.ssh/id_ed25519': true, 'pubkey:/root/.ssh/id_ed25519.pub': key2, 'pubkey:/etc/ssh/ssh_host_ed25519_key.pub': hostKey },
    kvmnode3: { 'exists:/root/.ssh/id_ed25519': true, 'pubkey:/root/.ssh/id_ed25519.pub': key3, 'pubkey:/etc/ssh/ssh_host_ed25519_key.pub': hostKey3 },
    ...over,
  });

describe('cluster ssh key pair', () => {
  it('missing: generated on the host with no passphrase, quietly, comment root@fqdn', () => {
    const r = planKeyPair(host('kvmnode1'), 'ed25519', { privateKey: false, publicKey: undefined, hostKey });
    expect(scripts(r)).toEqual([
      "mkdir -p -m 0700 /root/.ssh && rm -f -- /root/.ssh/id_ed25519.pub && ssh-keygen -q -t ed25519 -N '' -C root@kvmnode1.localdomain -f /root/.ssh/id_ed25519 </dev/null >/dev/null",
    ]);
    expect(r.changes[0]?.commands[0]?.input).toBeUndefined();
  });

  it('present: no-op; public half lost: recreated from the private key; host key missing: ssh-keygen -A + sshd reload', () => {
    expect(planKeyPair(host('kvmnode1'), 'ed25519', { privateKey: true, publicKey: key2, hostKey }).changes).toEqual([]);
    expect(scripts(planKeyPair(host('kvmnode1'), 'ed25519', { privateKey: true, publicKey: undefined, hostKey }))).toEqual([
      'ssh-keygen -y -f /root/.ssh/id_ed25519 > /root/.ssh/id_ed25519.pub && chmod 0644 -- /root/.ssh/id_ed25519.pub',
    ]);
    const noHost = planKeyPair(host('kvmnode1'), 'ed25519', { privateKey: true, publicKey: key2, hostKey: undefined });
    expect(noHost.changes.map((c) => [c.commands[0]?.script, c.notify])).toEqual([['ssh-keygen -A', ['sshd-reload']]]);
  });

  it('publishes the private key existence (never its content), the public key and the host keys', () => {
    const keys = keyPairTask.publish?.(ctxFor('kvmnode1'))?.map((f) => f.key);
    expect(keys).toEqual([
      'exists:/root/.ssh/id_ed25519',
      'pubkey:/root/.ssh/id_ed25519.pub',
      'pubkey:/etc/ssh/ssh_host_ed25519_key.pub',
      'pubkey:/etc/ssh/ssh_host_ecdsa_key.pub',
      'pubkey:/etc/ssh/ssh_host_rsa_key.pub',
    ]);
    expect(keyPairTask.facts(ctxFor('kvmnode1')).privateKey.command).toBe('test -e /root/.ssh/id_ed25519');
  });
});

describe('ssh trust between hypervisors', () => {
  const ctx = ctxFor('kvmnode1', { cluster: published() });
  const peers = peerKeys(inventory, host('kvmnode1'), published());
  const knownAll =
    `kvmnode2.localdomain,kvmnode2,172.21.3.11 ${hostKey.type} ${hostKey.body}\n` +
    `kvmnode3.localdomain,kvmnode3,172.21.3.12 ${hostKey3.type} ${hostKey3.body}\n`;
  const line2 = `from="172.21.3.11" ${key2.type} ${key2.body} ${key2.comment}`;
  const line3 = `from="172.21.3.12" ${key3.type} ${key3.body} ${key3.comment}`;
  const authAll = `${operator}\n${TRUST_BEGIN}\n${line2}\n${line3}\n${TRUST_END}\n`;

  it('blank host: a block with both peers, each limited to its address; both host keys pinned', () => {
    const r = trustTask.plan(ctx, { authorized: undefined, known: undefined });
    expect(r.changes.map((c) => c.summary)).toEqual([
      'trust exactly the other hypervisors (each from its own address) in /root/.ssh/authorized_keys: add kvmnode2, kvmnode3',
      'pin host keys of kvmnode2 (ssh-ed25519), kvmnode3 (ssh-ed25519) in /root/.ssh/known_hosts',
    ]);
    expect(r.changes[0]?.commands[0]?.input).toBe(`${TRUST_BEGIN}\n${line2}\n${line3}\n${TRUST_END}\n`);
    expect(r.changes[0]?.diff).toBe(`+${line2}\n+${line3}\n`);
    expect(r.changes[1]?.commands[0]?.input).toBe(knownAll);
    expect(r.changes[0]?.commands[0]?.script).toContain('chmod 0600 -- "$t"');
  });

  it('everything present: no-op', () => {
    const r = planTrust(peers, false, { authorized: authAll, known: knownAll });
    expect(r).toEqual({ changes: [], reason: 'kvmnode2, kvmnode3 trusted and pinned' });
  });

  it("lines outside the block stay as they are, where they are (the operator's, a command= line that uses a peer's key)", () => {
    const foreign = `command="backup" ${key3.type} ${key3.body} other`;
    const r = authorizedKeysBlock(`${operator}\n${foreign}\n`, [{ peer: host('kvmnode2'), key: key2 }, { peer: host('kvmnode3'), key: key3 }], '/a');
    expect(r?.text).toBe(`${operator}\n${foreign}\n${TRUST_BEGIN}\n${line2}\n${line3}\n${TRUST_END}\n`);
    const middle = `${operator}\n${TRUST_BEGIN}\n${line2}\n${TRUST_END}\n# the backup key\n${foreign}\n`;
    expect(authorizedKeysBlock(middle, [{ peer: host('kvmnode2'), key: key2 }, { peer: host('kvmnode3'), key: key3 }], '/a')?.text).toBe(
      `${operator}\n${TRUST_BEGIN}\n${line2}\n${line3}\n${TRUST_END}\n# the backup key\n${foreign}\n`,
    );
  });

  it("a retired hypervisor's key (an address no hypervisor has) and a reinstalled one's old key leave the block", () => {
    const retired = `from="172.21.3.14" ${key3.type} ${key3.body} root@kvmnode4.localdomain`;
    const old2 = `from="172.21.3.11" ${key3.type} ${key3.body} root@kvmnode2.localdomain`;
    const r = planTrust(peers, false, { authorized: `${operator}\n${TRUST_BEGIN}\n${old2}\n${line3}\n${retired}\n${TRUST_END}\n`, known: knownAll });
    expect(r.changes.map((c) => c.summary)).toEqual([
      'trust exactly the other hypervisors (each from its own address) in /root/.ssh/authorized_keys: add kvmnode2; remove 2 line(s) of retired, replaced or unlimited keys',
    ]);
    expect(r.changes[0]?.commands[0]?.input).toBe(authAll);
    expect(r.changes[0]?.diff).toBe(`-${old2}\n-${retired}\n+${line2}\n`);
  });

  it('keys an earlier hvmctl appended without from= (outside any block) move into the block', () => {
    const legacy = `${operator}\n${key2.type} ${key2.body} ${key2.comment}\n${key3.type} ${key3.body} ${key3.comment}\n`;
    const r = planTrust(peers, false, { authorized: legacy, known: knownAll });
    expect(r.changes[0]?.commands[0]?.input).toBe(authAll);
    expect(r.changes[0]?.diff).toBe(`-${key2.type} ${key2.body} ${key2.comment}\n-${key3.type} ${key3.body} ${key3.comment}\n+${line2}\n+${line3}\n`);
  });

  it('a damaged block (BEGIN without END) is refused with a hint, nothing written', () => {
    expect(() => planTrust(peers, false, { authorized: `${TRUST_BEGIN}\n${line2}\n`, known: knownAll })).toThrow(
      /authorized_keys: the hvmctl block is damaged \(1 BEGIN and 0 END marker line\(s\)\)/,
    );
  });

  it('a stale pin for a peer is replaced; hashed and unrelated lines are kept', () => {
    const stale = `kvmnode2,172.21.3.11 ${hostKey.type} ${key3.body}\n|1|abc=|def= ssh-ed25519 ${key2.body}\ngithub.com ssh-ed25519 ${key2.body}\n`;
    const r = knownHostsWith(stale, [{ names: ['kvmnode2.localdomain', 'kvmnode2', '172.21.3.11'], key: hostKey, peer: 'kvmnode2' }]);
    expect(r?.text).toBe(
      `|1|abc=|def= ssh-ed25519 ${key2.body}\ngithub.com ssh-ed25519 ${key2.body}\nkvmnode2.localdomain,kvmnode2,172.21.3.11 ${hostKey.type} ${hostKey.body}\n`,
    );
    expect(r?.pinned).toEqual(['kvmnode2 (ssh-ed25519)']);
  });

  it('check mode before keys exist: says it would add the key generated by this apply', () => {
    const fresh = published({
      kvmnode2: { 'exists:/root/.ssh/id_ed25519': false },
      kvmnode3: { 'exists:/root/.ssh/id_ed25519': false },
    });
    const r = trustTask.plan(ctxFor('kvmnode1', { cluster: fresh, check: true }), { authorized: undefined, known: undefined });
    expect(r.changes.map((c) => c.summary)).toEqual([
      'add key of kvmnode2 (generated by this apply)',
      'add key of kvmnode3 (generated by this apply)',
    ]);
    expect(scripts(r)).toEqual([]);
  });

  it('a peer that published nothing (unreachable) is named and keeps its line; the others are still trusted', () => {
    const partial = published({ kvmnode3: {} });
    const r = trustTask.plan(ctxFor('kvmnode1', { cluster: partial }), { authorized: authAll, known: knownAll.split('\n')[0] + '\n' });
    expect(r).toEqual({ changes: [], reason: 'kvmnode2 trusted and pinned; no keys from kvmnode3 (unreachable or failed before the trust stage)' });
    const some = trustTask.plan(ctxFor('kvmnode1', { cluster: partial }), { authorized: undefined, known: undefined });
    expect(some.changes.map((c) => c.summary)).toEqual([
      'trust exactly the other hypervisors (each from its own address) in /root/.ssh/authorized_keys: add kvmnode2',
      'pin host keys of kvmnode2 (ssh-ed25519) in /root/.ssh/known_hosts (no keys from kvmnode3 (unreachable or failed before the trust stage))',
    ]);
    const none = trustTask.plan(ctxFor('kvmnode1', { cluster: clusterOf() }), { authorized: undefined, known: undefined });
    expect(none.skipped).toBe(true);
    expect(none.reason).toMatch(/^no keys from kvmnode2/);
  });
});
