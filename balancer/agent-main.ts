// The bundle's entry (see bundle.ts): run the agent with the process's argv and
// set the exit code. Only the `run` loop traps SIGTERM/SIGINT (to finish the
// current cycle and stop); a one-shot command dies on them as usual.
//
// Why the agent reads its own argv here and not in cli/: it is a program of
// its own, bundled alone into /opt/hvmctl/balancer.mjs and started by the
// timer on a hypervisor, where there is no cli/ (nor anything above the
// balancer). This file is that program's top floor, as cli/main.ts is
// hvmctl's; agent.ts takes argv and its IO as parameters, and cli/balance.ts
// hands it `hvmctl balance`'s argv and IO when it runs the agent in-process.
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
