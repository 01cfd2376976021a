import { UsageError } from './args.js';

const USAGE = `Usage: sluice <command> [options]

Commands:
  serve     run the embedded server (API + storage in one process)
  agent     collect log files into a logstore ("agent status" shows its progress)
  shipper   list shippers and their lag ("shipper list")
  reindex   rebuild a logstore's index for a time range, with progress
  help      show this help

Run "sluice <command> --help" for a command's options.`;

interface Command {
  readonly run: (argv: readonly string[]) => Promise<number>;
  readonly usage: string;
}

/**
 * Commands load on demand: `sluice agent` must not pay for the server's modules (measured: ~0.5 s of CPU and
 * ~20 MiB of RSS at start), and `sluice serve` not for the agent's.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => {
    const m = await import('./serve.js');
    return { run: m.serve, usage: m.SERVE_USAGE };
  },
  agent: async () => {
    const m = await import('./agent.js');
    return { run: m.agent, usage: m.AGENT_USAGE };
  },
  shipper: async () => {
    const m = await import('./shipper.js');
    return { run: m.shipper, usage: m.SHIPPER_USAGE };
  },
  reindex: async () => {
    const m = await import('./reindex.js');
    return { run: m.reindex, usage: m.REINDEX_USAGE };
  },
};

/** The `sluice` command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load === undefined) {
    console.error(`sluice: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  const cmd = await load();
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`sluice ${command}: ${err.message}\n\n${cmd.usage}`);
      return 2;
    }
    throw err;
  }
}
