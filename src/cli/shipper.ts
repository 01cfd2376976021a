import { SlsClient, type SlsResponse } from '../client/sls-client.js';
import { parseArgs, UsageError } from './args.js';

export const SHIPPER_USAGE = `Usage: sluice shipper list --endpoint http://HOST:PORT --project P [--logstore L] [--json]

Lists the shippers of a logstore (or of every logstore of the project) with their progress and lag behind
ingestion: LogGroups received but not shipped yet, and the age of the oldest of them.
  --endpoint   server URL
  --project    project name
  --logstore   only this logstore
  --json       print JSON instead of a table
Environment: SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET.`;

interface ShipperRow {
  logstore: string;
  shipper: string;
  target: string;
  running: boolean;
  shipped: number;
  lagGroups: number;
  lagSeconds: number;
  failures: number;
  lastError: string;
}

interface ShipperJson {
  targetType: string;
  status: {
    running: boolean;
    logsShipped: number;
    lagGroups: number;
    lagSeconds: number;
    failures: number;
    lastError: string;
  };
}

export async function shipper(argv: readonly string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    endpoint: 'value',
    project: 'value',
    logstore: 'value',
    json: 'bool',
    help: 'bool',
  });
  if (flags['help']) {
    console.log(SHIPPER_USAGE);
    return 0;
  }
  if (positional[0] !== 'list') throw new UsageError('the only subcommand is "list"');
  for (const name of ['endpoint', 'project']) if (!flags[name]) throw new UsageError(`--${name} is required`);
  const keyId = process.env['SLUICE_ACCESS_KEY_ID'];
  const keySecret = process.env['SLUICE_ACCESS_KEY_SECRET'];
  if (!keyId || !keySecret) throw new UsageError('set SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET');
  const project = flags['project']!;
  const client = new SlsClient({ endpoint: flags['endpoint']!, accessKeyId: keyId, accessKeySecret: keySecret });
  try {
    const logstores = flags['logstore']
      ? [flags['logstore']]
      : body<{ logstores: string[] }>(
          await client.call({ method: 'GET', project, path: '/logstores', query: { offset: '0', size: '500' } }),
        ).logstores;
    const rows: ShipperRow[] = [];
    for (const ls of logstores) {
      const names = body<{ shipper: string[] }>(
        await client.call({ method: 'GET', project, path: `/logstores/${ls}/shipper` }),
      ).shipper;
      for (const name of names) {
        const doc = body<ShipperJson>(
          await client.call({ method: 'GET', project, path: `/logstores/${ls}/shipper/${name}` }),
        );
        rows.push({
          logstore: ls,
          shipper: name,
          target: doc.targetType,
          running: doc.status.running,
          shipped: doc.status.logsShipped,
          lagGroups: doc.status.lagGroups,
          lagSeconds: doc.status.lagSeconds,
          failures: doc.status.failures,
          lastError: doc.status.lastError,
        });
      }
    }
    if (flags['json']) console.log(JSON.stringify(rows, null, 2));
    else console.log(table(rows));
    return 0;
  } finally {
    client.close();
  }
}

function body<T>(res: SlsResponse): T {
  return JSON.parse(res.body.toString('utf8')) as T;
}

function table(rows: readonly ShipperRow[]): string {
  const head = ['LOGSTORE', 'SHIPPER', 'TARGET', 'STATE', 'SHIPPED', 'LAG(GROUPS)', 'LAG(S)', 'FAILURES', 'LAST ERROR'];
  const cells = rows.map((r) => [
    r.logstore,
    r.shipper,
    r.target,
    r.running ? 'running' : 'stopped',
    String(r.shipped),
    String(r.lagGroups),
    String(r.lagSeconds),
    String(r.failures),
    r.lastError.slice(0, 80),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}
