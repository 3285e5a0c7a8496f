// A PlanetLab trace directory: one file per VM, one integer CPU percentage
// (0..100) per line, one line per 300 s. Files are read concurrently and parsed
// by hand (no split/regex per line) so a day of 1,052 files loads in tens of ms.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
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
  /** Samples per VM (every file has as many). */
  readonly length: number;
  /** The published day (20110303, 20110306) when the files are exactly that day's, all of them. */
  readonly day?: string;
}

export async function loadTrace(dir: string, limit?: number): Promise<Trace> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    // a link is followed: a day assembled from links to another's files reads as those files
    const isFile = async (e: Dirent): Promise<boolean> => e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).then((st) => st.isFile(), () => false)));
    const visible = entries.filter((e) => !e.name.startsWith('.'));
    const files = await Promise.all(visible.map(isFile));
    names = visible.filter((_, i) => files[i]).map((e) => e.name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TraceError(`cannot read trace directory ${dir}${code ? ` (${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code})` : ''}`, 'give --trace a directory of PlanetLab files (one per VM)', error);
  }
  names.sort();
  const cloudsim = cloudsimOrder(names);
  if (cloudsim) names = [...cloudsim.names];
  const whole = limit === undefined || limit >= names.length;
  if (limit !== undefined) names = names.slice(0, limit);
  if (names.length === 0) throw new TraceError(`trace directory ${dir} holds no files`, 'give --trace a directory of PlanetLab files (one per VM)');
  const parsed = await Promise.all(names.map(async (name) => parseTraceFile(join(dir, name), await readFile(join(dir, name)))));
  // One sample per 5 minutes in every file: a shorter one would cut the whole day to its length.
  const length = parsed[0]!.length;
  const odd = parsed.findIndex((p) => p.length !== length);
  if (odd >= 0) {
    throw new TraceError(
      `${join(dir, names[odd]!)} holds ${parsed[odd]!.length} samples where ${join(dir, names[0]!)} holds ${length}`,
      "every file of a day holds the same number of samples (one per 5 minutes: 288 for PlanetLab's days); remove or complete the odd one",
    );
  }
  const samples = new Float64Array(names.length * length);
  parsed.forEach((values, v) => samples.set(values, v * length));
  return { dir, names, samples, length, order: cloudsim ? 'cloudsim' : 'name', ...(cloudsim && whole ? { day: cloudsim.day } : {}) };
}

/** One file: integers 0..100, one per line; anything else names file and line. */
export function parseTraceFile(path: string, bytes: Uint8Array): Float64Array {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  let ended = false;
  let line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? (bytes[i] as number) : 10;
    if (c >= 48 && c <= 57) {
      // a blank after the number ended it: "1 0" is two numbers, not 10
      if (ended) throw bad(path, line, 'more than one number on the line');
      value = value * 10 + (c - 48);
      digits += 1;
    } else if (c === 10) {
      if (digits > 0) {
        if (value > 100) throw bad(path, line, `${value} is above 100`);
        out.push(value / 100);
      }
      value = 0;
      digits = 0;
      ended = false;
      line += 1;
    } else if (c === 13 || c === 32 || c === 9) {
      if (digits > 0) ended = true;
    } else {
      throw bad(path, line, `unexpected character '${String.fromCharCode(c)}'`);
    }
  }
  if (out.length === 0) throw bad(path, 1, 'no samples');
  return Float64Array.from(out);
}

function bad(path: string, line: number, what: string): TraceError {
  return new TraceError(`${path}:${line}: ${what}`, 'a trace file holds one integer CPU percentage (0-100) per line');
}
