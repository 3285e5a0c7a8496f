// Building shell commands. Every value that comes from the inventory, a host or
// the user goes through `quote`; `sh` is a tagged template that does it for
// every interpolation, so a command can only be built the safe way:
//   sh`install -m 0644 ${tmp} ${path}`
// Arrays are quoted element by element and joined with spaces. A value that is
// already a shell fragment must be wrapped with `raw()` on purpose.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quote(value: string | number): string {
  const s = String(value);
  if (s === '') return "''";
  if (SAFE.test(s)) return s;
  return singleQuoted(s);
}

/** `value` in single quotes whatever it holds (a `'` closes, escapes and reopens): for a
 * template that always quoted its value, so its bytes do not change. */
export function singleQuoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class RawShell {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Marks a string as an already-safe shell fragment (e.g. a constant, or a command built with `sh`). */
export function raw(text: string): RawShell {
  return new RawShell(text);
}

type ShellValue = string | number | RawShell | readonly (string | number)[];

export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return out;
}

function render(value: ShellValue): string {
  if (value instanceof RawShell) return value.text;
  if (Array.isArray(value)) return value.map((v) => quote(v)).join(' ');
  return quote(value as string | number);
}
