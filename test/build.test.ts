// The precompiled CLI (cli/build.ts) and its launcher (bin/hvmctl.js): the
// bundle behaves as the sources do, carries the same agent bytes, and the
// launcher rebuilds it after an edit and falls back to the sources when it
// cannot. Builds go to throwaway directories, never to the repository's dist/
// (other test processes may be running it).
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleAgent } from '../balancer/bundle.ts';
import { buildDist, MANIFEST_FORMAT } from '../cli/build.ts';
import { repoRoot } from '../src/paths.ts';

const run = promisify(execFile);
const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** A build directory directly inside the repository (where src/paths.ts expects the bundle), removed afterwards. */
function scratchOutDir(): string {
  const dir = path.join(repoRoot, `.dist-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  cleanup.push(dir);
  return dir;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

describe('buildDist', () => {
  const outDir = scratchOutDir();
  const built = buildDist(outDir);

  it('records every source with its mtime and size, and every file it wrote', async () => {
    const { manifest } = await built;
    expect(manifest.format).toBe(MANIFEST_FORMAT);
    for (const source of ['cli/main.ts', 'cli/apply.ts', 'src/inventory/schema.json', 'tasks/playbook.ts', 'lab/up.ts', 'balancer/agent-main.ts']) {
      const st = statSync(path.join(repoRoot, source));
      expect(manifest.inputs[source], source).toEqual([st.mtimeMs, st.size]);
    }
    expect(Object.keys(manifest.inputs).some((f) => f.startsWith('node_modules/'))).toBe(false); // packages stay external
    // the templates are precompiled into the bundle: each is an input, so an edit rebuilds it
    const templates = readdirSync(path.join(repoRoot, 'templates')).filter((f) => f.endsWith('.hbs'));
    expect(templates.length).toBeGreaterThan(10);
    for (const t of templates) {
      const st = statSync(path.join(repoRoot, 'templates', t));
      expect(manifest.inputs[`templates/${t}`], t).toEqual([st.mtimeMs, st.size]);
    }
    const bundled = walk(outDir).filter((f) => f.endsWith('.mjs') && !f.endsWith('agent.mjs')).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const t of templates) expect(bundled, `${t} precompiled`).toContain(`${JSON.stringify(t)}: {`);
    // so it loads handlebars' runtime, never its compiler
    expect(bundled.match(/from "handlebars[^"]*"/g)).toEqual(['from "handlebars/runtime.js"']);
    expect(bundled).toMatch(/"compiler": \[\d+, ">= /);
    const onDisk = walk(outDir).map((f) => path.relative(repoRoot, f)).sort();
    expect(onDisk).toEqual([...manifest.outputs, path.relative(repoRoot, path.join(outDir, 'manifest.json'))].sort());
    expect(JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('agent.mjs is byte for byte the agent the sources build (apply stays a no-op across the two)', async () => {
    await built;
    expect(readFileSync(path.join(outDir, 'agent.mjs'), 'utf8')).toBe(await bundleAgent());
  });

  it('the bundle renders the same files as the golden ones, and reads the agent from beside itself', async () => {
    await built;
    const out = mkdtempSync(path.join(os.tmpdir(), 'hvmctl-dist-render-'));
    cleanup.push(out);
    const script = `
      const { dispatch } = await import(${JSON.stringify(path.join(outDir, 'hvmctl.mjs'))});
      const lines = [];
      const io = { out: (t) => lines.push(t), err: (t) => lines.push(t), tty: false, env: {}, cwd: ${JSON.stringify(repoRoot)} };
      const code = await dispatch(['render', '-o', ${JSON.stringify(out)}], io);
      const chunks = (await import('node:fs')).readdirSync(${JSON.stringify(outDir)}).filter((f) => f.startsWith('bundle-'));
      const { buildAgentBundle } = await import(${JSON.stringify(outDir)} + '/' + chunks[0]);
      process.stdout.write(JSON.stringify({ code, lines, agent: await buildAgentBundle() }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, maxBuffer: 16 << 20 });
    const result = JSON.parse(stdout) as { code: number; lines: string[]; agent: string };
    expect(result.code, result.lines.join('\n')).toBe(0);
    const golden = path.join(repoRoot, 'test/golden/default');
    const rendered = walk(out).map((f) => path.relative(out, f)).sort();
    // (the golden directory also holds <host>.json, the list of that host's managed files)
    expect(rendered).toEqual(walk(golden).map((f) => path.relative(golden, f)).filter((f) => f.includes('/')).sort());
    for (const rel of rendered) expect(readFileSync(path.join(out, rel), 'utf8'), rel).toBe(readFileSync(path.join(golden, rel), 'utf8'));
    expect(result.agent).toBe(readFileSync(path.join(outDir, 'agent.mjs'), 'utf8'));
  });

  it("checks inventories with ajv's standalone code exactly as the sources do (every fixture: same messages, lines, exit code)", async () => {
    await built;
    const out = mkdtempSync(path.join(os.tmpdir(), 'hvmctl-dist-inv-'));
    cleanup.push(out);
    const fixtures = readdirSync(path.join(repoRoot, 'test/fixtures/inventories')).map((f) => `test/fixtures/inventories/${f}`);
    fixtures.push('inventory.yaml');
    const argsOf = (fixture: string) => ['render', '-i', fixture, '-o', out, '--json'];
    const script = `
      const { dispatch } = await import(${JSON.stringify(path.join(outDir, 'hvmctl.mjs'))});
      const results = {};
      for (const fixture of ${JSON.stringify(fixtures)}) {
        const lines = [];
        const io = { out: (t) => lines.push(t), err: (t) => lines.push(t), tty: false, env: { HOME: '/root' }, cwd: ${JSON.stringify(repoRoot)} };
        const code = await dispatch(${JSON.stringify(argsOf('FIXTURE'))}.map((a) => (a === 'FIXTURE' ? fixture : a)), io);
        results[fixture] = { code, lines };
      }
      process.stdout.write(JSON.stringify(results));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, maxBuffer: 16 << 20 });
    const fromDist = JSON.parse(stdout) as Record<string, { code: number; lines: string[] }>;
    const { dispatch } = await import('../cli/main.ts');
    let bad = 0;
    for (const fixture of fixtures) {
      const lines: string[] = [];
      const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t), tty: false, env: { HOME: '/root' }, cwd: repoRoot };
      const code = await dispatch(argsOf(fixture), io);
      if (code === 65) bad += 1;
      expect(fromDist[fixture], fixture).toEqual({ code, lines });
    }
    expect(bad).toBe(fixtures.filter((f) => path.basename(f).startsWith('bad-')).length);
  });
});

describe('bin/hvmctl.js', () => {
  // A copy of the repository (node_modules linked) so that editing a source
  // here cannot disturb anything else running from the real checkout.
  const copy = mkdtempSync(path.join(os.tmpdir(), 'hvmctl-launcher-'));
  cleanup.push(copy);
  for (const entry of ['bin', 'cli', 'src', 'tasks', 'balancer', 'lab', 'templates', 'package.json', 'inventory.yaml']) {
    cpSync(path.join(repoRoot, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
  const hvmctl = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [path.join(copy, 'bin/hvmctl.js'), ...args], { cwd: copy, env: { ...process.env, HVMCTL_DEBUG: '1', ...env } });

  it('builds dist/ when there is none, then runs it without rebuilding', async () => {
    const first = await hvmctl(['--version']);
    expect(first.stdout).toBe('hvmctl 0.1.0\n');
    expect(first.stderr).toBe('hvmctl: rebuilt dist/\nhvmctl: running dist/hvmctl.mjs\n');
    const second = await hvmctl(['--version']);
    expect(second.stderr).toBe('hvmctl: running dist/hvmctl.mjs\n');
  }, 60_000);

  it('rebuilds after a source is edited, and runs the edited code', async () => {
    await hvmctl(['--version']);
    const main = path.join(copy, 'cli/main.ts');
    writeFileSync(main, readFileSync(main, 'utf8').replace("io.out('hvmctl 0.1.0');", "io.out('hvmctl 0.1.0-edited');"));
    const edited = await hvmctl(['--version']);
    expect(edited.stdout).toBe('hvmctl 0.1.0-edited\n');
    expect(edited.stderr).toBe('hvmctl: rebuilt dist/\nhvmctl: running dist/hvmctl.mjs\n');
  }, 60_000);

  it('rebuilds when an output is missing', async () => {
    await hvmctl(['--version']);
    rmSync(path.join(copy, 'dist/agent.mjs'));
    expect((await hvmctl(['--version'])).stderr).toBe('hvmctl: rebuilt dist/\nhvmctl: running dist/hvmctl.mjs\n');
    expect(existsSync(path.join(copy, 'dist/agent.mjs'))).toBe(true);
  }, 60_000);

  it('runs the sources through tsx when dist/ cannot be written, or with HVMCTL_NO_DIST=1', async () => {
    appendFileSync(path.join(copy, 'cli/main.ts'), '\n// edited again\n');
    rmSync(path.join(copy, 'dist'), { recursive: true, force: true });
    writeFileSync(path.join(copy, 'dist'), 'not a directory\n');
    const blocked = await hvmctl(['--version']);
    expect(blocked.stdout).toMatch(/^hvmctl 0\.1\.0/);
    expect(blocked.stderr).toMatch(/^hvmctl: running the sources through tsx \(cannot rebuild dist\/: .*\)\n$/);
    rmSync(path.join(copy, 'dist'));
    const opted = await hvmctl(['--version'], { HVMCTL_NO_DIST: '1' });
    expect(opted.stderr).toBe('hvmctl: running the sources through tsx (HVMCTL_NO_DIST=1)\n');
    expect(existsSync(path.join(copy, 'dist'))).toBe(false);
  }, 60_000);
});
