// /etc/hosts on every host: every cluster member by FQDN and short name
// (rendered by src/render/managed-files.ts, written by the file operation).
import { managedFiles } from '../../src/render/managed-files.ts';
import type { ManagedFile } from '../../src/render/types.ts';
import type { Task, TaskContext } from '../engine/types.ts';
import { filesTask } from './file.ts';

export function hostsFiles(ctx: Omit<TaskContext, 'cluster'>): ManagedFile[] {
  return managedFiles(ctx.inventory, ctx.host).filter((f) => f.path === '/etc/hosts');
}

export const hostsTask: Task = filesTask({
  name: 'hosts file',
  tags: ['hosts', 'base'],
  stage: 'base',
  files: hostsFiles,
});
