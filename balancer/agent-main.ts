// The bundle's entry (see bundle.ts): run the agent with the process's argv and
// set the exit code. Only the `run` loop traps SIGTERM/SIGINT (to finish the
// current cycle and stop); a one-shot command dies on them as usual.
import { agentMain, defaultAgentEnv, parseAgentArgs } from './agent.ts';

const argv = process.argv.slice(2);
let loop = false;
try {
  loop = parseAgentArgs(argv).command === 'run';
} catch {
  // agentMain reports the usage error
}
const stop = loop
  ? new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    })
  : undefined;
process.exitCode = await agentMain(argv, stop ? { ...defaultAgentEnv(), stop } : defaultAgentEnv());
