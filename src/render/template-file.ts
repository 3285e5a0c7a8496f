// A managed file rendered from one template: root-owned unless said otherwise,
// its `template` field naming the template for messages.
import { renderTemplate } from './renderer.ts';
import type { ManagedFile } from './types.ts';

export type TemplateFileSpec = Omit<ManagedFile, 'content' | 'owner' | 'group' | 'template'> & {
  readonly template: string;
  readonly context: object;
  readonly owner?: string;
  readonly group?: string;
};

export function templateFile(spec: TemplateFileSpec): ManagedFile {
  const { context, template, ...rest } = spec;
  return {
    owner: 'root',
    group: 'root',
    ...rest,
    content: renderTemplate(template, context),
    template: `templates/${template}`,
  };
}
