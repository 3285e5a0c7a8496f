// buildAgentBundle(): the balancer agent as ONE self-contained ES module, the
// file apply installs at /opt/hvmctl/balancer.mjs. esbuild bundles
// balancer/agent-main.ts (platform node, target node18: Debian 12's nodejs),
// no minification, no source map, paths relative to the repository, so the
// same source gives the same bytes (apply compares them to stay a no-op).
// Built once per process.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let cached: Promise<string> | undefined;

export function buildAgentBundle(): Promise<string> {
  cached ??= bundleAgent().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** A fresh build, not cached (buildAgentBundle is what callers want). */
export async function bundleAgent(): Promise<string> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: ['balancer/agent-main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    write: false,
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    banner: {
      js: '#!/usr/bin/env node\n// hvmctl balancer agent, bundled from balancer/agent.ts by balancer/bundle.ts. Do not edit: `hvmctl apply` overwrites it.',
    },
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
