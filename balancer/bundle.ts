// buildAgentBundle(): the balancer agent as ONE self-contained ES module, the
// file apply installs at /opt/hvmctl/balancer.mjs. esbuild bundles
// balancer/agent-main.ts (platform node, target node18: Debian 12's nodejs),
// no minification, no source map, paths relative to the repository, so the
// same source gives the same bytes (apply compares them to stay a no-op).
// Built once per process. The precompiled CLI (cli/build.ts) builds nothing:
// it reads agent.mjs beside itself, built with it from the same sources.
import type { BuildOptions } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { repoRoot } from '../src/paths.ts';

/** Defined (true) only inside the precompiled CLI in dist/ (cli/build.ts). */
declare const __HVMCTL_DIST__: boolean | undefined;

let cached: Promise<string> | undefined;

export function buildAgentBundle(): Promise<string> {
  const prebuilt = typeof __HVMCTL_DIST__ === 'boolean' && __HVMCTL_DIST__;
  // (import.meta.url is then the bundle's file in dist/, not this source file)
  cached ??= (prebuilt ? readFile(new URL('agent.mjs', import.meta.url), 'utf8') : bundleAgent()).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** A fresh build, not cached (buildAgentBundle is what callers want). */
export async function bundleAgent(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build(agentBuildOptions());
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

/** esbuild's options for the agent (cli/build.ts uses them too: one definition of its bytes). */
export function agentBuildOptions(): BuildOptions & { write: false } {
  return {
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
  };
}
