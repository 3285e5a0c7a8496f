// SSH trust between hypervisors (live migration runs over qemu+ssh as root).
//   stage 'hypervisor': each hypervisor has a cluster key pair
//     /root/.ssh/id_<type> (generated on the host, the private half never
//     leaves it nor is printed) and an SSH host key; both public halves are
//     published as cluster facts.
//   stage 'trust': each hypervisor's authorized_keys holds a block with
//     exactly the OTHER hypervisors' public keys, each limited with
//     from="<its address>" (trust-block.ts: a retired hypervisor's key goes;
//     the operator's and anyone else's lines outside the block stay), and
//     known_hosts pins every other
//     hypervisor's host keys under `fqdn,short,address`, so `ssh` and
//     `virsh -c qemu+ssh://` work with host-key checking on.
import type { HostSpec, Inventory } from '../../src/inventory/types.ts';
import { hypervisors, isHypervisor } from '../../src/inventory/types.ts';
import { sh } from '../../src/shell.ts';
import type { Change, ClusterFacts, Fact, Task, TaskResult } from '../engine/types.ts';
import { fileText, textLines } from '../facts/file-text.ts';
import { pathExists } from '../facts/path-stat.ts';
import { clusterKeyPath, hostKeyPath, keyOnLine, type PublicKey, publicKeyFile } from '../facts/ssh-keys.ts';
import { writeScript } from './file.ts';
import { authorizedKeysBlock } from './trust-block.ts';

export const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';
export const KNOWN_HOSTS = '/root/.ssh/known_hosts';
/** Host key types pinned, when the peer has them. */
export const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;


export function clusterKeyFacts(inv: Inventory) {
  const path = clusterKeyPath(inv.ssh.clusterKeyType);
  return {
    privateKey: pathExists(path),
    publicKey: publicKeyFile(`${path}.pub`),
    hostKey: publicKeyFile(hostKeyPath('ed25519')),
  };
}

interface KeyFacts extends Record<string, unknown> {
  privateKey: boolean;
  publicKey: PublicKey | undefined;
  hostKey: PublicKey | undefined;
}

/** Pure: the host has its cluster key pair and an ed25519 host key. */
export function planKeyPair(host: HostSpec, type: Inventory['ssh']['clusterKeyType'], facts: KeyFacts): TaskResult {
  const path = clusterKeyPath(type);
  const changes: Change[] = [];
  if (!facts.privateKey) {
    const typeArgs = type === 'rsa' ? [type, '-b', '4096'] : [type];
    changes.push({
      summary: `generate key pair ${path} (root@${host.fqdn})`,
      commands: [
        {
          // -q and no terminal: ssh-keygen prints nothing; the private key stays in the file.
          script: sh`mkdir -p -m 0700 /root/.ssh && rm -f -- ${`${path}.pub`} && ssh-keygen -q -t ${typeArgs} -N '' -C ${`root@${host.fqdn}`} -f ${path} </dev/null >/dev/null`,
        },
      ],
    });
  } else if (facts.publicKey === undefined) {
    changes.push({
      summary: `recreate ${path}.pub from the private key`,
      commands: [{ script: sh`ssh-keygen -y -f ${path} > ${`${path}.pub`} && chmod 0644 -- ${`${path}.pub`}` }],
    });
  }
  if (facts.hostKey === undefined) {
    changes.push({ summary: 'generate missing SSH host keys (ssh-keygen -A)', commands: [{ script: 'ssh-keygen -A' }], notify: ['sshd-reload'] });
  }
  const reason = changes.length === 0 ? `${path} and the host key exist (${facts.publicKey?.type ?? ''} ${facts.hostKey?.type ?? ''})`.trim() : '';
  return { changes, reason };
}

export const keyPairTask: Task<KeyFacts> = {
  name: 'cluster ssh key pair',
  tags: ['ssh'],
  stage: 'hypervisor',
  applies: isHypervisor,
  facts: (ctx) => clusterKeyFacts(ctx.inventory),
  plan: (ctx, facts) => planKeyPair(ctx.host, ctx.inventory.ssh.clusterKeyType, facts),
  publish: (ctx) => {
    const f = clusterKeyFacts(ctx.inventory);
    return [f.privateKey, f.publicKey, ...HOST_KEY_TYPES.map((t) => publicKeyFile(hostKeyPath(t)))] as Fact<unknown>[];
  },
};

/** What one peer published after its 'hypervisor' stage. */
export interface PeerKeys {
  readonly peer: HostSpec;
  /** false: the peer ran but has no key yet (check mode); undefined: it published nothing (unreachable or failed). */
  readonly generated: boolean | undefined;
  readonly publicKey: PublicKey | undefined;
  readonly hostKeys: readonly PublicKey[];
}

export function peerKeys(inv: Inventory, self: HostSpec, cluster: ClusterFacts): PeerKeys[] {
  const path = clusterKeyPath(inv.ssh.clusterKeyType);
  return hypervisors(inv)
    .filter((h) => h.name !== self.name)
    .map((peer) => ({
      peer,
      generated: cluster.get(peer.name, pathExists(path)),
      publicKey: cluster.get(peer.name, publicKeyFile(`${path}.pub`)),
      hostKeys: HOST_KEY_TYPES.flatMap((t) => {
        const k = cluster.get(peer.name, publicKeyFile(hostKeyPath(t)));
        return k ? [k] : [];
      }),
    }));
}

/**
 * `fqdn,short,address`, or `[name]:port,...` when the peer's sshd listens
 * elsewhere than 22: the port sshd listens on (sshdPort), which the other
 * hypervisors connect to, not the one apply reaches it through.
 */
export function knownHostsNames(peer: HostSpec): string[] {
  const names = [peer.fqdn, peer.name, peer.address];
  return peer.sshdPort === 22 ? names : names.map((n) => `[${n}]:${peer.sshdPort}`);
}

/**
 * Pure: known_hosts with one line per peer host key under its names. A plain
 * line naming the peer with the same key type but another key or other
 * names is replaced (a stale pin would make ssh refuse the peer); hashed
 * lines and every other line are kept.
 */
export function knownHostsWith(
  text: string | undefined,
  pins: readonly { names: readonly string[]; key: PublicKey; peer: string }[],
): { text: string; pinned: string[] } | undefined {
  let lines = textLines(text);
  const pinned: string[] = [];
  for (const pin of pins) {
    const wanted = `${pin.names.join(',')} ${pin.key.type} ${pin.key.body}`;
    const namesOf = (line: string) => (line.trim().startsWith('|') || line.trim().startsWith('@') ? [] : (line.trim().split(/\s+/)[0] ?? '').split(','));
    const forPeer = (line: string) => {
      const k = keyOnLine(line);
      return k !== undefined && k.type === pin.key.type && namesOf(line).some((n) => pin.names.includes(n));
    };
    if (lines.some((l) => l.trim().split(/\s+/).join(' ') === wanted) && lines.filter(forPeer).length === 1) continue;
    lines = [...lines.filter((l) => !forPeer(l)), wanted];
    pinned.push(`${pin.peer} (${pin.key.type})`);
  }
  return pinned.length === 0 ? undefined : { text: `${lines.join('\n')}\n`, pinned };
}

interface TrustFacts extends Record<string, unknown> {
  authorized: string | undefined;
  known: string | undefined;
}

const writeFile = (path: string, content: string, mode: number) => ({
  script: writeScript({ path, content, mode, owner: 'root', group: 'root', notify: [], tags: ['ssh'], template: 'tasks/ops/ssh-trust.ts' }),
  input: content,
});

/** Pure: the trust stage for one hypervisor. */
export function planTrust(peers: readonly PeerKeys[], check: boolean, facts: TrustFacts): TaskResult {
  const changes: Change[] = [];
  const notes: string[] = [];
  const pending = peers.filter((p) => p.publicKey === undefined || p.hostKeys.length === 0);
  for (const p of pending) {
    if (check && p.generated !== undefined) {
      changes.push({ summary: `add key of ${p.peer.name} (generated by this apply)`, commands: [] });
    } else {
      notes.push(`no keys from ${p.peer.name} (unreachable or failed before the trust stage)`);
    }
  }
  const ready = peers.filter((p) => p.publicKey !== undefined);
  const auth = authorizedKeysBlock(
    facts.authorized,
    peers.map((p) => ({ peer: p.peer, key: p.publicKey })),
    AUTHORIZED_KEYS,
  );
  if (auth) {
    const parts = [
      ...(auth.added.length > 0 ? [`add ${ready.filter((p) => auth.added.some((l) => l.startsWith(`from="${p.peer.address}" `))).map((p) => p.peer.name).join(', ')}`] : []),
      ...(auth.removed.length > 0 ? [`remove ${auth.removed.length} line(s) of retired, replaced or unlimited keys`] : []),
      ...(auth.keptUnknown.length > 0 ? [`keep ${auth.keptUnknown.join(', ')} as it is (no key this run)`] : []),
    ];
    changes.push({
      summary: `trust exactly the other hypervisors (each from its own address) in ${AUTHORIZED_KEYS}${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`,
      commands: [writeFile(AUTHORIZED_KEYS, auth.text, 0o600)],
      diff: [...auth.removed.map((l) => `-${l}\n`), ...auth.added.map((l) => `+${l}\n`)].join(''),
    });
  }
  const known = knownHostsWith(
    facts.known,
    peers.flatMap((p) => p.hostKeys.map((key) => ({ names: knownHostsNames(p.peer), key, peer: p.peer.name }))),
  );
  if (known) {
    changes.push({
      summary: `pin host keys of ${known.pinned.join(', ')} in ${KNOWN_HOSTS}`,
      commands: [writeFile(KNOWN_HOSTS, known.text, 0o644)],
    });
  }
  if (changes.length === 0 && notes.length > 0 && ready.length === 0) return { changes, reason: notes.join('; '), skipped: true };
  const last = changes[changes.length - 1];
  if (last !== undefined && notes.length > 0) changes[changes.length - 1] = { ...last, summary: `${last.summary} (${notes.join('; ')})` };
  const reason = changes.length === 0 ? `${ready.map((p) => p.peer.name).join(', ')} trusted and pinned${notes.length ? `; ${notes.join('; ')}` : ''}` : '';
  return { changes, reason };
}

export const trustTask: Task<TrustFacts> = {
  name: 'ssh trust between hypervisors',
  tags: ['ssh'],
  stage: 'trust',
  applies: isHypervisor,
  facts: () => ({ authorized: fileText(AUTHORIZED_KEYS), known: fileText(KNOWN_HOSTS) }),
  plan: (ctx, facts) => planTrust(peerKeys(ctx.inventory, ctx.host, ctx.cluster), ctx.check, facts),
};

export const sshTrustTasks: readonly Task[] = [keyPairTask as Task, trustTask as Task];
