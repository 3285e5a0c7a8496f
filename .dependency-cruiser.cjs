// The layers, held by `npm run depcheck` (CI runs it after tsc): every import
// points down, and no module imports itself back through others.
//
//   bin → cli → {tasks, lab, bench} → balancer → core (src/)
//
// core is src/: inventory, render, connector, os, shell, errors, paths.
// test/ may import anything; nothing else may import test/.
// Type-only imports count: a type is an arrow too. (An import of a file that
// does not exist is tsc's to catch: this check runs after it in CI.)
// (CommonJS because package.json says "type": "module" and dependency-cruiser
// reads its configuration with require.)

/** Folders above a floor, which that floor must not import. */
const above = {
  core: '^(bin|cli|tasks|lab|bench|balancer)/',
  balancer: '^(bin|cli|tasks|lab|bench)/',
  middle: '^(bin|cli)/',
  cli: '^bin/',
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: the modules on it cannot be read, tested or moved one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'src/ is the ground floor (inventory, render, connector, os, shell, errors, paths): it imports nothing above it.',
      from: { path: '^src/' },
      to: { path: above.core },
    },
    {
      name: 'balancer-imports-only-core',
      severity: 'error',
      comment: 'The balancer (and its agent, bundled alone onto the hypervisors) sits on core only: not on tasks, the lab, bench or the CLI.',
      from: { path: '^balancer/' },
      to: { path: above.balancer },
    },
    {
      name: 'middle-floor-not-up',
      severity: 'error',
      comment: 'tasks, lab and bench sit below the CLI: argv, printing and exit codes are the CLI\'s; hand them an injected IO instead.',
      from: { path: '^(tasks|lab|bench)/' },
      to: { path: above.middle },
    },
    {
      name: 'middle-floor-peers-apart',
      severity: 'error',
      comment: 'tasks, lab and bench are one floor: none imports another. What two of them share belongs below (balancer or core).',
      from: { path: '^(tasks|lab)/' },
      to: { path: '^(tasks|lab|bench)/', pathNot: '^$1/' },
    },
    {
      // The one allowed edge inside the floor: the benchmarks measure apply on
      // the lab (bench/apply.ts refuses any address the lab does not route, as
      // the lab's tests do), so bench may read the lab, never the reverse.
      name: 'bench-imports-only-the-lab',
      severity: 'error',
      comment: 'bench may import the lab (it measures apply there), not tasks.',
      from: { path: '^bench/' },
      to: { path: '^tasks/' },
    },
    {
      name: 'cli-not-up',
      severity: 'error',
      comment: 'The CLI is below bin/hvmctl.js, the launcher.',
      from: { path: '^cli/' },
      to: { path: above.cli },
    },
    {
      name: 'no-test-imports',
      severity: 'error',
      comment: 'Only tests import test support code.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    includeOnly: '^(bin|cli|src|tasks|lab|bench|balancer|test)/',
    // dist/ is the build's output (bin/hvmctl.js imports it when it is fresh).
    exclude: { path: '^(dist|node_modules)/' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
