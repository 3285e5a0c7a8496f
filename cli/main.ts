// The only module that reads argv, prints and sets the exit code. Each
// sub-command lives in its own file under cli/ and exports
//   run(argv: string[], io: CliIo): Promise<number>
// returning the exit code.
import { formatError, HvmError, UsageError } from '../src/errors.ts';
import type { CliIo } from './io.ts';
import { defaultIo } from './io.ts';

type CommandModule = { run(argv: string[], io: CliIo): Promise<number>; summary: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  apply: () => import('./apply.ts'),
  plan: () => import('./plan.ts'),
  render: () => import('./render.ts'),
  lab: () => import('./lab.ts'),
  balance: () => import('./balance.ts'),
};

export const usage = `usage: hvmctl <command> [options]

Commands:
  apply     make every host match the inventory (idempotent)
  plan      show what apply would change, change nothing (exit 2 on drift)
  render    write every managed file for every host into a directory
  lab       a local four-host cluster on this machine (up, down, status, ...)
  balance   the load balancer (status, once, run, log, drain, simulate, ...)

Run 'hvmctl <command> --help' for the options of one command.

Environment:
  HVMCTL_IDENTITY, HVMCTL_KNOWN_HOSTS
                    the SSH private key and known_hosts file to use instead of
                    the inventory's ssh.identity and ssh.known_hosts
  HVMCTL_LAB_ONLY=1 refuse every host whose address is not routed through the
                    local lab's bridge (the test suites set it)
  HVMCTL_NO_DIST=1  run the TypeScript sources through tsx instead of the
                    precompiled dist/ (which is rebuilt when a source changes)
  HVMCTL_DEBUG=1    say on stderr which of the two runs
  NO_COLOR          no colour, even on a terminal`;

export async function main(argv: string[] = process.argv.slice(2), io: CliIo = defaultIo()): Promise<void> {
  process.exitCode = await dispatch(argv, io);
}

export async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(usage);
    return 0;
  }
  if (name === undefined) {
    // no command is a usage error: the usage goes where errors go
    io.err(usage);
    return 64;
  }
  if (name === '--version') {
    io.out('hvmctl 0.1.0');
    return 0;
  }
  const load = commands[name];
  try {
    if (!load) throw new UsageError(`unknown command '${name}'`, "run 'hvmctl --help' to list the commands");
    const command = await load();
    return await command.run(rest, io);
  } catch (error) {
    io.err(formatError(error));
    return error instanceof HvmError ? error.exitCode : 70;
  }
}
