// The libvirt storage pool (dir type, on the NFS mount point): defined,
// built, started and autostarted through libvirt itself. Libvirt owns
// /etc/libvirt/storage/<pool>.xml (it rewrites it with a uuid on every
// define), so that file is NOT written by a file task: the rendered XML is the
// wanted definition, compared with `virsh pool-dumpxml --inactive` on what
// matters (name, type, target path), not byte for byte.
// When the defined pool differs it is redefined (Ansible's virt_pool never
// updates an existing pool). libvirt refuses to define a pool over an
// existing one with another uuid (captured: "pool 'default' already exists
// with uuid ..."), so a redefinition is destroy (if active), undefine, define.
import type { HostSpec } from '../../src/inventory/types.ts';
import { managedFiles } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import { raw, sh } from '../../src/shell.ts';
import type { Change, Task, TaskContext, TaskResult } from '../engine/types.ts';
import { type PathStat, pathStat } from '../facts/path-stat.ts';
import {
  type PoolDefinition,
  type PoolInfo,
  parsePoolDefinition,
  poolDifferences,
  poolInfo,
  poolXml,
} from '../facts/virsh-pool.ts';
import { VIRSH } from '../../src/libvirt-uri.ts';
import { TaskCheckError } from './task-error.ts';

export interface PoolFacts extends Record<string, unknown> {
  xml: string | undefined;
  info: PoolInfo | undefined;
  target: PathStat | undefined;
}

/** Where libvirtd (qemu:///system, Debian and RHEL alike) keeps a pool's autostart link, NAME.xml. */
export const POOL_AUTOSTART_DIR = '/etc/libvirt/storage/autostart';

export function poolFile(ctx: Pick<TaskContext, 'inventory' | 'host'>): ManagedFile {
  const file = managedFiles(ctx.inventory, ctx.host).find((f) => f.tags.includes('pool'));
  if (!file) throw new TaskCheckError('E_POOL', `${ctx.host.name}: no pool XML rendered`, 'the pool is managed on hypervisors only');
  return file;
}

const virsh = (args: string) => raw(`${VIRSH} ${args}`);

/**
 * `virsh pool-define` of the XML on stdin, through a temporary file:
 * `pool-define /dev/stdin` works from a terminal or a pipe but fails with
 * ENXIO when stdin is a socket (seen with Node's child_process).
 */
export function defineScript(): string {
  return [
    't=$(mktemp /tmp/hvmctl-pool.XXXXXX.xml)',
    `trap 'rm -f -- "$t"' EXIT`,
    'cat > "$t"',
    `${VIRSH} pool-define "$t"`,
  ].join('\n');
}

/** Pure: the virsh commands that make the pool match `xml` (the rendered template). */
export function planPool(host: HostSpec, xml: string, template: string, facts: PoolFacts): TaskResult {
  const wanted: PoolDefinition = parsePoolDefinition(xml, template);
  const name = wanted.name;
  const changes: Change[] = [];
  const define: Change = {
    summary: `define pool ${name} (${wanted.type}, ${wanted.targetPath})`,
    commands: [{ script: defineScript(), input: xml }],
  };
  let defined = facts.xml !== undefined;
  let active = facts.info?.state === 'running';
  let autostart = facts.info?.autostart ?? false;

  if (facts.xml === undefined) {
    changes.push(define);
    defined = true;
  } else {
    const current = parsePoolDefinition(facts.xml, `virsh pool-dumpxml ${name} on ${host.name}`);
    const diffs = poolDifferences(current, wanted);
    if (diffs.length > 0) {
      const commands = [
        ...(active ? [{ script: sh`${virsh('pool-destroy')} ${name}` }] : []),
        { script: sh`${virsh('pool-undefine')} ${name}` },
        ...define.commands,
      ];
      changes.push({
        summary: `redefine pool ${name}: ${diffs.join(', ')}${active ? ' (stops it first; running guests keep their open disks)' : ''}`,
        commands,
        diff: diffs.map((d) => `${d}\n`).join(''),
      });
      active = false;
      autostart = false; // undefine drops the autostart link
    }
  }
  if (defined && facts.target === undefined) {
    changes.push({ summary: `build pool ${name} (create ${wanted.targetPath})`, commands: [{ script: sh`${virsh('pool-build')} ${name}` }] });
  } else if (facts.target !== undefined && facts.target.type !== 'directory') {
    throw new TaskCheckError(
      'E_POOL',
      `${host.name}: pool ${name}'s target ${wanted.targetPath} exists but is a ${facts.target.type}, not a directory`,
      `move ${wanted.targetPath} away; apply will create the directory`,
    );
  }
  if (!active) changes.push({ summary: `start pool ${name}`, commands: [{ script: sh`${virsh('pool-start')} ${name}` }] });
  if (!autostart) {
    // libvirt says autostart is off, so a link left in its autostart directory is stale (the
    // pool's file was deleted, libvirtd restarted and forgot the pool, apply defined it again):
    // `pool-autostart` would fail on it with "File exists".
    const link = `${POOL_AUTOSTART_DIR}/${name}.xml`;
    changes.push({
      summary: `autostart pool ${name}`,
      commands: [{ script: `${sh`if [ -L ${link} ]; then rm -f ${link}; fi`}; ${sh`${virsh('pool-autostart')} ${name}`}` }],
    });
  }
  return {
    changes,
    reason: changes.length === 0 ? `pool ${name} defined as wanted (${wanted.type}, ${wanted.targetPath}), running, autostarted` : '',
  };
}

export const poolTask: Task<PoolFacts> = {
  name: 'libvirt pool',
  tags: ['pool'],
  stage: 'hypervisor',
  applies: (host) => host.role === 'hypervisor',
  facts: (ctx) => ({
    xml: poolXml(ctx.inventory.pool.name),
    info: poolInfo(ctx.inventory.pool.name),
    target: pathStat(ctx.inventory.pool.path),
  }),
  plan(ctx, facts) {
    const file = poolFile(ctx);
    return planPool(ctx.host, file.content, file.template, facts);
  },
};
