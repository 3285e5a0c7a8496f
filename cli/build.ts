// The precompiled CLI: dist/hvmctl.mjs, our TypeScript bundled by esbuild
// into plain JavaScript, so `hvmctl` starts without compiling anything (tsx
// compiles ~120 modules on every start: about a third of a second, a third of
// a no-change apply). npm packages stay external (node loads them as usual);
// code only some commands need (the lab, the simulator) is split into chunks
// loaded on demand. The balancer agent is built at the same time, with the
// same options as balancer/bundle.ts, into dist/agent.mjs, which the bundle
// reads instead of running esbuild. The inventory's ajv validator is
// generated as standalone code (src/inventory/validator.ts), so the bundle
// neither loads ajv's compiler nor compiles the schema.
//
// dist/manifest.json lists every source file that went in, with its mtime and
// size, and every file written; bin/hvmctl.js runs the bundle only while all
// sources still match and all outputs exist, and otherwise rebuilds it (or,
// where dist/ cannot be written, runs the sources through tsx). Each file is
// written beside its final name and renamed, the manifest last, so a reader
// never sees a half-written bundle.
//
//   npm run build            (also run by `npm ci`, through `prepare`)
import { build, type Metafile } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentBuildOptions } from '../balancer/bundle.ts';
import { standaloneValidatorModule } from '../src/inventory/validator.ts';
import Handlebars from 'handlebars';
import { repoRoot } from '../src/paths.ts';
import { COMPILE_OPTIONS, templatesDir } from '../src/render/renderer.ts';

/** bin/hvmctl.js understands this format of the manifest (its FORMAT). */
export const MANIFEST_FORMAT = 1;

export interface Manifest {
  readonly format: number;
  /** Repository-relative path of every source → [mtimeMs, size] when the bundle was built. */
  readonly inputs: Readonly<Record<string, readonly [number, number]>>;
  /** Repository-relative path of every file written (the manifest aside). */
  readonly outputs: readonly string[];
}

export interface BuildResult {
  readonly outDir: string;
  readonly manifest: Manifest;
  readonly agentBytes: number;
}

/**
 * Builds the CLI into `outDir`, which must be a directory directly inside the
 * repository (src/paths.ts finds the root as the bundle's parent directory).
 */
export async function buildDist(outDir = join(repoRoot, 'dist')): Promise<BuildResult> {
  if (resolve(outDir, '..') !== repoRoot) throw new Error(`buildDist: ${outDir} is not a directory directly inside ${repoRoot}`);
  const agent = await build({ ...agentBuildOptions(), metafile: true });
  const agentFile = agent.outputFiles[0];
  if (!agentFile) throw new Error('esbuild produced no agent bundle');

  const cli = await build({
    absWorkingDir: repoRoot,
    entryPoints: { hvmctl: 'cli/main.ts' },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true, // `apply` does not load the lab's or the simulator's code
    chunkNames: '[name]-[hash]', // beside hvmctl.mjs: one level below the root, as src/paths.ts expects
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { __HVMCTL_DIST__: 'true' },
    plugins: [{
      name: 'hvmctl-standalone-validator',
      setup(b) {
        b.onLoad({ filter: /[\\/]src[\\/]inventory[\\/]validator\.ts$/ }, async () => ({
          contents: await standaloneValidatorModule(),
          loader: 'js',
          resolveDir: join(repoRoot, 'src/inventory'),
        }));
      },
    }, {
      name: 'hvmctl-precompiled-templates',
      setup(b) {
        b.onLoad({ filter: /[\\/]src[\\/]render[\\/]precompiled\.ts$/ }, () => ({ contents: precompiledTemplatesModule(), loader: 'js' }));
        // With every template precompiled, the renderer needs handlebars' runtime only, not its
        // compiler: about 15 ms less to load on every run.
        b.onResolve({ filter: /^handlebars$/ }, (args) => (/[\\/]src[\\/]render[\\/]renderer\.ts$/.test(args.importer) ? { path: 'handlebars/runtime.js', external: true } : undefined));
      },
    }],
    banner: { js: '// hvmctl, bundled from the sources by cli/build.ts (npm run build). Do not edit.' },
  });

  const written = [...cli.outputFiles.map((f) => ({ path: f.path, contents: f.contents })), { path: join(outDir, 'agent.mjs'), contents: agentFile.contents }];
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    inputs: { ...inputsOf([agent.metafile, cli.metafile]), ...templateInputs() },
    outputs: written.map((f) => relative(repoRoot, f.path)).sort(),
  };
  mkdirSync(outDir, { recursive: true });
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const put = (path: string, contents: string | Uint8Array): void => {
    writeFileSync(path + suffix, contents);
    renameSync(path + suffix, path);
  };
  for (const f of written) put(f.path, f.contents);
  put(join(outDir, 'manifest.json'), manifestText(manifest));
  pruneOldChunks(outDir, new Set(written.map((f) => f.path)));
  return { outDir, manifest, agentBytes: agentFile.contents.byteLength };
}

/** src/render/precompiled.ts as the bundle has it: every template, precompiled with renderer.ts's options. */
export function precompiledTemplatesModule(): string {
  const entries = templateFiles().map((name) => `  ${JSON.stringify(name)}: ${Handlebars.precompile(readFileSync(join(templatesDir, name), 'utf8'), COMPILE_OPTIONS)},`);
  return `export const precompiledTemplates = {\n${entries.join('\n')}\n};\n`;
}

const templateFiles = (): string[] => readdirSync(templatesDir).filter((f) => f.endsWith('.hbs')).sort();

/** The templates are inputs too (precompiled into the bundle): an edited one makes bin/hvmctl.js rebuild. */
function templateInputs(): Record<string, [number, number]> {
  return Object.fromEntries(
    templateFiles().map((name) => {
      const st = statSync(join(templatesDir, name));
      return [relative(repoRoot, join(templatesDir, name)), [st.mtimeMs, st.size]];
    }),
  );
}

/** Every input file of these builds, with its mtime and size now. */
function inputsOf(metafiles: readonly (Metafile | undefined)[]): Record<string, [number, number]> {
  const inputs: Record<string, [number, number]> = {};
  for (const meta of metafiles) {
    for (const file of Object.keys(meta?.inputs ?? {})) {
      if (file.includes(':')) continue; // esbuild's virtual modules ("<define:...>")
      const st = statSync(join(repoRoot, file));
      inputs[file] = [st.mtimeMs, st.size];
    }
  }
  return Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Chunks of earlier builds (their names carry a content hash), once they are an
 * hour old: a process started before the rebuild may still load its chunks.
 */
function pruneOldChunks(outDir: string, current: ReadonlySet<string>): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(outDir)) {
    const path = join(outDir, name);
    if (!/-[A-Z0-9]{8}\.mjs$/.test(name) || current.has(path)) continue;
    try {
      if (statSync(path).mtimeMs < hourAgo) unlinkSync(path);
    } catch {
      // already gone (another build pruned it)
    }
  }
}

/** One source per line: small diffs between two builds' manifests. */
function manifestText(m: Manifest): string {
  const inputs = Object.entries(m.inputs).map(([file, stat]) => `  ${JSON.stringify(file)}: ${JSON.stringify(stat)}`);
  const outputs = m.outputs.map((file) => `  ${JSON.stringify(file)}`);
  return `{\n "format": ${m.format},\n "inputs": {\n${inputs.join(',\n')}\n },\n "outputs": [\n${outputs.join(',\n')}\n ]\n}\n`;
}

// `tsx cli/build.ts`: build dist/ and say what was written.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await buildDist();
  const sources = Object.keys(result.manifest.inputs).length;
  process.stdout.write(
    `${basename(result.outDir)}/: ${result.manifest.outputs.length} files from ${sources} sources (agent.mjs ${result.agentBytes} bytes)\n`,
  );
}
