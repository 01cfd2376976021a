/** Splits `--name value`, `--name=value` and bare `--flag` arguments; positional words are kept in order. */
export interface ParsedArgs {
  readonly flags: Record<string, string | undefined>;
  readonly positional: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: readonly string[], known: Readonly<Record<string, 'value' | 'bool'>>): ParsedArgs {
  const flags: Record<string, string | undefined> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const kind = known[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') {
      flags[name] = eq >= 0 ? arg.slice(eq + 1) : 'true';
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new UsageError(`option --${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positional };
}
