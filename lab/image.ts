// The lab's host image: a Debian 12 tree that boots with systemd, and the
// local apt repository apply installs from (lab/build-image.sh makes both).
// Built once and cached under /var/cache/hvmctl-lab/image-<key>, where the key
// is a digest of everything that shapes it (the build script and the package
// list): change either and the next `lab up`
// builds a new one and removes the old. A build goes to a temporary directory
// renamed into place at the end, so an interrupted build leaves no image that
// looks finished.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoPath } from '../src/paths.ts';
import { LabError } from './lab-error.ts';

export const IMAGE_CACHE = '/var/cache/hvmctl-lab';
/** Where hosts see the repository (read-only bind), as build-image.sh's sources.list says. */
export const REPO_IN_HOST = '/var/local/hvmlab-apt';

export interface LabImage {
  readonly dir: string;
  readonly rootfs: string;
  readonly repo: string;
  /** Seconds the build took, when this call built it. */
  readonly builtSeconds?: number;
}

const PACKAGE = /^[a-z0-9][a-z0-9.+-]+$/;

/** Pure: the cache key of an image made by `script` with these inputs. */
export function imageKey(script: string, packages: readonly string[]): string {
  return createHash('sha256').update(script).update('\0').update([...packages].sort().join(' ')).digest('hex').slice(0, 16);
}

/** The cached image for `packages`, built first when missing. */
export async function ensureImage(packages: readonly string[], say: (line: string) => void, cache = IMAGE_CACHE): Promise<LabImage> {
  const bad = packages.filter((p) => !PACKAGE.test(p));
  if (bad.length > 0) throw new LabError('E_LAB_IMAGE', `not Debian package names: ${bad.join(', ')}`, { hint: 'this is a bug in the package list of src/os/packages.ts' });
  const script = repoPath('lab', 'build-image.sh');
  const key = imageKey(readFileSync(script, 'utf8'), packages);
  const dir = path.join(cache, `image-${key}`);
  const image = { dir, rootfs: path.join(dir, 'rootfs'), repo: path.join(dir, 'repo') };
  if (existsSync(path.join(dir, 'image.json'))) return image;

  mkdirSync(cache, { recursive: true, mode: 0o700 });
  const tmp = path.join(cache, `.build-${key}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`image: building ${dir} (once; about 1-2 minutes: Debian 12 from this machine's apt sources, plus ${packages.length} packages for the local repository)`);
  const started = Date.now();
  try {
    await runBuild(script, { OUT: tmp, PACKAGES: packages.join(' ') }, say);
    const builtSeconds = Math.round((Date.now() - started) / 100) / 10;
    writeFileSync(path.join(tmp, 'image.json'), `${JSON.stringify({ key, packages, builtAt: new Date().toISOString(), builtSeconds }, null, 2)}\n`);
    renameSync(tmp, dir);
    for (const old of readdirSync(cache)) {
      if (old !== path.basename(dir) && /^(image-|\.build-)/.test(old)) rmSync(path.join(cache, old), { recursive: true, force: true });
    }
    say(`image: built in ${builtSeconds} s`);
    return { ...image, builtSeconds };
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

function runBuild(script: string, env: Record<string, string>, say: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let step = 'starting';
    const keep = (chunk: Buffer, show: boolean) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        if (show && line.startsWith('image: ')) {
          step = line.slice('image: '.length);
          say(line);
        }
      }
    };
    child.stdout.on('data', (c: Buffer) => keep(c, true));
    child.stderr.on('data', (c: Buffer) => keep(c, false));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new LabError('E_LAB_IMAGE', `building the lab image failed (${signal ?? `exit ${code}`}) at: ${step}`, {
            hint: `the end of its output:\n${tail.join('\n')}${/mmdebstrap|download/.test(step) ? '\nIs the Debian mirror in /etc/apt/sources.list reachable (apt-get update)?' : `\n(${script}: the step that says "${step}")`}`,
          }),
        );
    });
  });
}
