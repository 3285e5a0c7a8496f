#!/usr/bin/env node
// The `hvmctl` command. The sources are TypeScript; tsx compiles them on the
// fly (cached), so `npx hvmctl` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main();
