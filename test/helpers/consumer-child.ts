/**
 * A consumer-group member in its own process, so a test can SIGKILL it: it consumes with the real ConsumerWorker over
 * HTTP and prints one JSON line per processed batch (before the checkpoint is committed) and per held-shard change.
 *
 * argv: <endpoint> <project> <logstore> <group> <consumer>
 */
import { SlsClient } from '../../src/client/sls-client.js';
import { ConsumerWorker } from '../../src/consumer/consumer-worker.js';
import { HttpConsumerSource } from '../../src/consumer/http-source.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server-process.js';

const [endpoint, project, logstore, group, consumer] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const client = new SlsClient({ endpoint, accessKeyId: TEST_ACCESS_KEY_ID, accessKeySecret: TEST_ACCESS_KEY_SECRET });
const worker = new ConsumerWorker({
  source: new HttpConsumerSource(client, project, logstore, group),
  consumer,
  timeoutSec: 2,
  heartbeatIntervalMs: 200,
  batchMaxWaitMs: 50,
  idleWaitMs: 50,
  processor: {
    async process(batch) {
      const ids = batch.groups.flatMap((g) => g.group.logs.map((l) => l.contents.find((c) => c.key === 'id')!.value));
      process.stdout.write(`${JSON.stringify({ shard: batch.shard, from: batch.from, to: batch.to, ids })}\n`);
    },
  },
});
await worker.start();
let held = '';
setInterval(() => {
  const now = JSON.stringify(worker.held());
  if (now !== held) {
    held = now;
    process.stdout.write(`${JSON.stringify({ held: worker.held() })}\n`);
  }
}, 50);
