#!/usr/bin/env node
// The `hvmctl` command. The sources are TypeScript. It runs dist/hvmctl.mjs,
// their precompiled bundle (cli/build.ts; `npm ci` builds it), while every
// source listed in dist/manifest.json still has the mtime and size it had when
// the bundle was built; after an edit it rebuilds the bundle first (about
// 0.5 s, once). Where dist/ cannot be written, or with HVMCTL_NO_DIST=1, tsx
// compiles the sources on the fly instead (slower to start, same behaviour).
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

/** The manifest's format (cli/build.ts MANIFEST_FORMAT) this launcher understands. */
const FORMAT = 1;

function distIsFresh() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/manifest.json', root), 'utf8'));
  } catch {
    return false;
  }
  if (manifest?.format !== FORMAT || typeof manifest.inputs !== 'object' || manifest.inputs === null) return false;
  for (const [file, [mtimeMs, size]] of Object.entries(manifest.inputs)) {
    let st;
    try {
      st = statSync(new URL(file, root));
    } catch {
      return false;
    }
    if (st.mtimeMs !== mtimeMs || st.size !== size) return false;
  }
  if (!Array.isArray(manifest.outputs)) return false;
  for (const file of manifest.outputs) {
    try {
      statSync(new URL(file, root));
    } catch {
      return false;
    }
  }
  return true;
}

let tsx = false;
async function registerTsx() {
  if (tsx) return;
  (await import('tsx/esm/api')).register();
  tsx = true;
}

async function fromSources(why) {
  debug(`running the sources through tsx (${why})`);
  await registerTsx();
  return import('../cli/main.ts');
}

async function fromDist() {
  if (!distIsFresh()) {
    try {
      await registerTsx();
      await (await import('../cli/build.ts')).buildDist();
    } catch (error) {
      return fromSources(`cannot rebuild dist/: ${error?.message ?? error}`);
    }
    if (!distIsFresh()) return fromSources('a source changed while dist/ was rebuilt');
    debug('rebuilt dist/');
  }
  try {
    const cli = await import('../dist/hvmctl.mjs');
    debug('running dist/hvmctl.mjs');
    return cli;
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return fromSources(`dist/ is incomplete: ${error.message}`);
  }
}

/** HVMCTL_DEBUG=1: say on stderr which code runs. */
function debug(text) {
  if (process.env.HVMCTL_DEBUG) process.stderr.write(`hvmctl: ${text}\n`);
}

const { main } = process.env.HVMCTL_NO_DIST === '1' ? await fromSources('HVMCTL_NO_DIST=1') : await fromDist();
await main();
