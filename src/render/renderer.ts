// The only adapter for handlebars. Templates live in templates/*.hbs, are
// compiled once (in the bundle ahead of time: precompiled.ts, with handlebars'
// runtime only), in strict mode
// (a missing value is an error, not an empty string) and without HTML
// escaping (these are config files, not web pages).
// Logic stays in TypeScript (managed-files.ts builds plain contexts); templates
// only loop and fill in.
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { HvmError } from '../errors.ts';
import { repoPath } from '../paths.ts';
import { precompiledTemplates } from './precompiled.ts';

export const templatesDir = repoPath('templates') + '/';

const engine = Handlebars.create();
const cache = new Map<string, Handlebars.TemplateDelegate>();

/** How every template is compiled, at run time here or ahead of time by cli/build.ts. */
export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

/** A template that is missing or that asked for a value its context lacks: a bug in hvmctl, not in the inventory. */
export class TemplateError extends HvmError {
  constructor(template: string, message: string, cause?: unknown) {
    super('E_TEMPLATE', `templates/${template}: ${message}`, {
      hint: 'this is a bug in hvmctl (a template and its context disagree); please report it with the inventory used',
      exitCode: 70,
      cause,
    });
  }
}

function compiled(template: string): Handlebars.TemplateDelegate {
  const cached = cache.get(template);
  if (cached) return cached;
  const spec = precompiledTemplates[template];
  let fn: Handlebars.TemplateDelegate;
  if (spec !== undefined) fn = engine.template(spec as Parameters<typeof engine.template>[0]);
  else {
    // The bundle loads handlebars' runtime only (cli/build.ts), which cannot compile; it
    // precompiles every template, and bin/hvmctl.js rebuilds it when one changes.
    if (typeof engine.compile !== 'function') throw new TemplateError(template, 'not precompiled into the bundle; rebuild it: npm run build');
    let source: string;
    try {
      source = readFileSync(`${templatesDir}${template}`, 'utf8');
    } catch (error) {
      throw new TemplateError(template, 'cannot read the template', error);
    }
    fn = engine.compile(source, COMPILE_OPTIONS);
  }
  cache.set(template, fn);
  return fn;
}

/** Renders `templates/<template>` (e.g. `hosts.hbs`) with `context`. */
export function renderTemplate(template: string, context: object): string {
  try {
    return compiled(template)(context);
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    throw new TemplateError(template, error instanceof Error ? error.message : String(error), error);
  }
}
