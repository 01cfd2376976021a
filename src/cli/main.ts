import { AGENT_USAGE, agent } from './agent.js';
import { UsageError } from './args.js';
import { REINDEX_USAGE, reindex } from './reindex.js';
import { SERVE_USAGE, serve } from './serve.js';
import { SHIPPER_USAGE, shipper } from './shipper.js';

const USAGE = `Usage: sluice <command> [options]

Commands:
  serve     run the embedded server (API + storage in one process)
  agent     collect log files into a logstore ("agent status" shows its progress)
  shipper   list shippers and their lag ("shipper list")
  reindex   rebuild a logstore's index from a time, with progress
  help      show this help

Run "sluice <command> --help" for a command's options.`;

/** The `sluice` command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'agent':
        return await agent(rest);
      case 'shipper':
        return await shipper(rest);
      case 'reindex':
        return await reindex(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        console.error(`sluice: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `sluice ${command}: ${err.message}\n\n${command === 'serve' ? SERVE_USAGE : command === 'agent' ? AGENT_USAGE : command === 'shipper' ? SHIPPER_USAGE : command === 'reindex' ? REINDEX_USAGE : USAGE}`,
      );
      return 2;
    }
    throw err;
  }
}
