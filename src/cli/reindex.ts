import { SlsClient } from '../client/sls-client.js';
import { parseArgs, UsageError } from './args.js';

export const REINDEX_USAGE = `Usage: sluice reindex --endpoint http://HOST:PORT --project P --logstore L [--from TIME] [--to TIME] [--wait]

Rebuilds the index of a logstore with its current index config for the logs received in [--from, --to), so logs
written before the index existed (or indexed under an older config) become searchable. Logs outside the range keep
their index entries as they are (none for logs written before the index existed). Prints the progress over the range.
  --endpoint   server URL
  --project    project name
  --logstore   logstore name
  --from       unix seconds or an ISO 8601 time (default 0: everything the shard logs still hold)
  --to         unix seconds or an ISO 8601 time, exclusive (default: no end, up to the logs still arriving)
  --wait       poll until the rebuild is done, printing progress
Environment: SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET.`;

interface RebuildStatus {
  status: string;
  indexedRecords: number;
  totalRecords: number;
  progress: number;
}

const POLL_MS = 500;

export async function reindex(argv: readonly string[]): Promise<number> {
  const { flags } = parseArgs(argv, {
    endpoint: 'value',
    project: 'value',
    logstore: 'value',
    from: 'value',
    to: 'value',
    wait: 'bool',
    help: 'bool',
  });
  if (flags['help']) {
    console.log(REINDEX_USAGE);
    return 0;
  }
  for (const name of ['endpoint', 'project', 'logstore'])
    if (!flags[name]) throw new UsageError(`--${name} is required`);
  const from = parseTime('from', flags['from'] ?? '0');
  const to = flags['to'] === undefined ? undefined : parseTime('to', flags['to']);
  if (to !== undefined && to <= from) throw new UsageError(`--to (${to}) must be after --from (${from})`);
  const keyId = process.env['SLUICE_ACCESS_KEY_ID'];
  const keySecret = process.env['SLUICE_ACCESS_KEY_SECRET'];
  if (!keyId || !keySecret) throw new UsageError('set SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET');
  const client = new SlsClient({ endpoint: flags['endpoint']!, accessKeyId: keyId, accessKeySecret: keySecret });
  const project = flags['project']!;
  const path = `/logstores/${encodeURIComponent(flags['logstore']!)}/index/rebuild`;
  try {
    let status = JSON.parse(
      (
        await client.call({
          method: 'POST',
          project,
          path,
          body: Buffer.from(JSON.stringify(to === undefined ? { from } : { from, to })),
        })
      ).body.toString('utf8'),
    ) as RebuildStatus;
    print(status);
    while (flags['wait'] && status.status !== 'Done') {
      await new Promise((r) => setTimeout(r, POLL_MS));
      status = JSON.parse((await client.call({ method: 'GET', project, path })).body.toString('utf8')) as RebuildStatus;
      print(status);
    }
    return 0;
  } finally {
    client.close();
  }
}

function print(s: RebuildStatus): void {
  console.log(`${s.status}: ${s.indexedRecords}/${s.totalRecords} LogGroups (${(s.progress * 100).toFixed(1)}%)`);
}

function parseTime(flag: string, text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(`--${flag} must be unix seconds or an ISO 8601 time, got ${JSON.stringify(text)}`);
  return Math.floor(ms / 1000);
}
