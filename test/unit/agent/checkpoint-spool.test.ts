import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointStore, type FileRecord } from '../../../src/agent/checkpoint/checkpoint-store.js';
import { Spool } from '../../../src/agent/spool/spool.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-agent-unit-'));
  dirs.push(d);
  return d;
}

const file = (fileId: string): FileRecord => ({
  fileId,
  path: `/x/${fileId}`,
  dev: 1,
  ino: 2,
  fpLen: 0,
  fpHash: '',
  committed: 0,
  config: 'c',
});

test('checkpoint: acks out of order advance only the contiguous prefix; pending intents survive a reopen', () => {
  const dir = temp();
  const s = CheckpointStore.open(dir);
  s.putFile(file('f'));
  s.addIntent({ id: 'i1', ranges: [{ fileId: 'f', start: 0, end: 10 }] });
  s.addIntent({ id: 'i2', ranges: [{ fileId: 'f', start: 10, end: 20 }] });
  s.addIntent({ id: 'i3', ranges: [{ fileId: 'f', start: 20, end: 30 }] });
  s.ack('i2');
  assert.equal(s.files.get('f')!.committed, 0);
  s.ack('i1');
  assert.equal(s.files.get('f')!.committed, 20);
  s.flush(true);
  // Reopen without close(): the journal is replayed (as after a crash).
  const r = CheckpointStore.open(dir);
  assert.equal(r.files.get('f')!.committed, 20);
  assert.deepEqual([...r.pending.keys()], ['i3']);
  r.close();
});

test('checkpoint: ranges acknowledged ahead of committed survive snapshots; the frontier is past them', () => {
  const dir = temp();
  const s = CheckpointStore.open(dir);
  s.putFile(file('h'));
  s.addIntent({ id: 'h1', ranges: [{ fileId: 'h', start: 0, end: 10 }] });
  s.addIntent({ id: 'h2', ranges: [{ fileId: 'h', start: 10, end: 20 }] });
  s.addIntent({ id: 'h3', ranges: [{ fileId: 'h', start: 20, end: 30 }] });
  s.ack('h2');
  s.ack('h3');
  s.flush(true);
  assert.equal(s.frontier('h'), 30);
  // Two crashes in a row: the first reopen folds the journal into a snapshot, the second starts from that alone.
  const r1 = CheckpointStore.open(dir);
  assert.equal(r1.frontier('h'), 30, 'after the journal replay');
  const r2 = CheckpointStore.open(dir);
  assert.deepEqual([...r2.pending.keys()], ['h1']);
  assert.equal(r2.frontier('h'), 30, 'after a snapshot: [10, 30) was acknowledged, not to be read again');
  r2.ack('h1');
  assert.equal(r2.files.get('h')!.committed, 30);
  r2.close();
  const r3 = CheckpointStore.open(dir);
  assert.equal(r3.files.get('h')!.committed, 30);
  r3.close();
});

test('checkpoint: a torn journal tail is ignored', () => {
  const dir = temp();
  const s = CheckpointStore.open(dir);
  s.putFile(file('g'));
  s.addIntent({ id: 'a', ranges: [{ fileId: 'g', start: 0, end: 5 }] });
  s.ack('a');
  s.flush(true);
  const journal = readdirSync(dir).find((n) => n.startsWith('journal-'))!;
  // A torn write right after the last record (the journal is preallocated with zeros).
  const path = join(dir, journal);
  const bytes = readFileSync(path);
  const end = bytes.indexOf(0);
  assert.ok(end > 0, 'the journal holds records');
  const fd = openSync(path, 'r+');
  writeSync(fd, '1234abcd {"t":"a","id":"x"', end);
  closeSync(fd);
  const r = CheckpointStore.open(dir);
  assert.equal(r.files.get('g')!.committed, 5);
  r.close();
});

test('spool: oldest first, cap, CRC-checked; a corrupt record is set aside and reported', () => {
  const dir = temp();
  const reports: string[] = [];
  const sp = Spool.open(dir, 500, (m) => reports.push(m));
  const batch = (id: string) => ({
    id,
    logstore: 'ls',
    ranges: [{ fileId: 'f', start: 0, end: 1 }],
    body: Buffer.alloc(100, id),
    rawSize: 100,
    logCount: 1,
  });
  assert.ok(sp.put(batch('a')));
  assert.ok(sp.put(batch('b')));
  assert.equal(sp.put(batch('c')), false, 'over the cap');
  assert.equal(sp.peek()!.batch.id, 'a');
  const reopened = Spool.open(dir, 500, (m) => reports.push(m));
  assert.equal(reopened.count, 2);
  const head = reopened.peek()!;
  reopened.remove(head.entry);
  assert.equal(reopened.peek()!.batch.id, 'b');
  const name = readdirSync(dir).find((n) => n.endsWith('.batch'))!;
  writeFileSync(join(dir, name), Buffer.from('garbage that fails the crc'));
  const third = Spool.open(dir, 500, (m) => reports.push(m));
  assert.equal(third.count, 0);
  assert.equal(third.corrupt, 1);
  assert.match(reports.join('\n'), /corrupt/);
});
