// A PlanetLab trace directory: one file per VM, one integer CPU percentage
// (0..100) per line, one line per 300 s. Files are read concurrently and parsed
// by hand (no split/regex per line) so a day of 1,052 files loads in tens of ms.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloudsimOrder } from './cloudsim-order.ts';
import { TraceError } from './trace-error.ts';

export interface Trace {
  readonly dir: string;
  /** VM names (the file names) in the order VMs are numbered: CloudSim's for a published day, else sorted. */
  readonly names: readonly string[];
  /** `cloudsim`: the order CloudSim read this day's files in (cloudsim-order.ts); `name`: sorted by
   * name; `variant`: a subset or reordering made from a loaded day (variants.ts). */
  readonly order: 'cloudsim' | 'name' | 'variant';
  /** samples[v * length + k] = utilisation of VM v at sample k, 0..1. */
  readonly samples: Float64Array;
  /** Samples per VM (the shortest file's line count). */
  readonly length: number;
}

export async function loadTrace(dir: string, limit?: number): Promise<Trace> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (error) {
    throw new TraceError(`cannot read trace directory ${dir}`, 'give --trace a directory of PlanetLab files (one per VM)', error);
  }
  names.sort();
  const cloudsim = cloudsimOrder(names);
  if (cloudsim) names = [...cloudsim.names];
  if (limit !== undefined) names = names.slice(0, limit);
  if (names.length === 0) throw new TraceError(`trace directory ${dir} holds no files`, 'give --trace a directory of PlanetLab files (one per VM)');
  const parsed = await Promise.all(names.map(async (name) => parseTraceFile(join(dir, name), await readFile(join(dir, name)))));
  const length = Math.min(...parsed.map((p) => p.length));
  const samples = new Float64Array(names.length * length);
  parsed.forEach((values, v) => samples.set(values.subarray(0, length), v * length));
  return { dir, names, samples, length, order: cloudsim ? 'cloudsim' : 'name' };
}

/** One file: integers 0..100, one per line; anything else names file and line. */
export function parseTraceFile(path: string, bytes: Uint8Array): Float64Array {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  let line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? (bytes[i] as number) : 10;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits += 1;
    } else if (c === 10) {
      if (digits > 0) {
        if (value > 100) throw bad(path, line, `${value} is above 100`);
        out.push(value / 100);
      }
      value = 0;
      digits = 0;
      line += 1;
    } else if (c !== 13 && c !== 32 && c !== 9) {
      throw bad(path, line, `unexpected character '${String.fromCharCode(c)}'`);
    }
  }
  if (out.length === 0) throw bad(path, 1, 'no samples');
  return Float64Array.from(out);
}

function bad(path: string, line: number, what: string): TraceError {
  return new TraceError(`${path}:${line}: ${what}`, 'a trace file holds one integer CPU percentage (0-100) per line');
}
