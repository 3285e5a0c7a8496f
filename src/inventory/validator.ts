// The inventory's JSON Schema validator (schema.json, through ajv). Run from
// the sources, ajv compiles the schema on first use: with loading ajv, about
// 75 ms of every start. The precompiled CLI (cli/build.ts) replaces this
// module with ajv's standalone code for the same schema and the same options,
// generated at build time (standaloneValidatorModule below), so the errors,
// the defaults it fills in and the schema objects it reports are the same.
import { Ajv } from 'ajv';
import type { Options, ValidateFunction } from 'ajv';
import schema from './schema.json' with { type: 'json' };

export const ajvOptions: Options = { allErrors: true, useDefaults: true, verbose: true, strict: true };

let compiled: ValidateFunction | undefined;

export function inventoryValidator(): ValidateFunction {
  compiled ??= new Ajv(ajvOptions).compile(schema);
  return compiled;
}

/**
 * This module's replacement in the precompiled CLI: an ES module exporting
 * `inventoryValidator()` that returns ajv's standalone validate function.
 * ajv's standalone code `require`s its runtime helpers; those become imports,
 * since the bundle is an ES module.
 */
export async function standaloneValidatorModule(): Promise<string> {
  // (a CommonJS module: the namespace's default is module.exports, whose .default is the function)
  const standaloneCode = (await import('ajv/dist/standalone/index.js')).default.default;
  const ajv = new Ajv({ ...ajvOptions, code: { source: true, esm: true } });
  let code = standaloneCode(ajv, ajv.compile(schema));
  const imports: string[] = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)/g, (_match: string, mod: string) => {
    const name = `__ajv_runtime_${imports.length}`;
    imports.push(`import ${name} from ${JSON.stringify(`${mod}.js`)};`);
    return name;
  });
  if (/\brequire\(/.test(code)) throw new Error('ajv standalone code requires a module other than its runtime helpers');
  return `${imports.join('\n')}\n${code}\nexport function inventoryValidator() { return validate; }\n`;
}
