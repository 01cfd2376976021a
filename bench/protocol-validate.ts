/**
 * LogGroup wire-path throughput: the allocation-free ingest validator (with the C validator of the sluice-lz4 addon
 * when it loaded, and the JS one alone), our decoder/encoder, and protobufjs on the same schema for reference.
 * Input: one ~1 MB nginx-like LogGroup (bench/protocol-fixtures.ts).
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/protocol-validate.js
 * MB/s are of serialized protobuf bytes (1 MB = 1e6 bytes).
 */
import protobuf from 'protobufjs';
import { decodeLogGroup, encodeLogGroup } from '../src/protocol/log-group.js';
import { DEFAULT_LOG_GROUP_LIMITS, validateLogGroup, validateLogGroupJs } from '../src/protocol/log-group-validate.js';
import { nativeValidate } from '../src/protocol/native-validate.js';
import { mbPerSec, row } from './protocol-bench-util.js';
import { nginxGroup } from './protocol-fixtures.js';

const SCHEMA = `syntax = "proto2";
message LogContent { required string Key = 1; required string Value = 2; }
message Log { required uint32 Time = 1; repeated LogContent Contents = 2; optional fixed32 TimeNs = 4; }
message LogTag { required string Key = 1; required string Value = 2; }
message LogGroup { repeated Log Logs = 1; optional string Reserved = 2; optional string Topic = 3;
  optional string Source = 4; optional string MachineUUID = 5; repeated LogTag LogTags = 6; }`;
const PbLogGroup = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('LogGroup');

const group = nginxGroup(2800);
const bytes = encodeLogGroup(group);
const logs = group.logs.length;
console.log(
  `LogGroup: ${logs} logs, ${bytes.length} bytes (${(bytes.length / logs).toFixed(0)} B/log), node ${process.version}`,
);

const strict = { ...DEFAULT_LOG_GROUP_LIMITS, keyPolicy: 'strict' } as const;
const engine = nativeValidate() ? 'C' : 'JS: no addon';
const results: [string, number][] = [
  [`validateLogGroup (${engine}, lenient keys)`, mbPerSec(bytes.length, () => validateLogGroup(bytes))],
  [`validateLogGroup (${engine}, strict keys)`, mbPerSec(bytes.length, () => validateLogGroup(bytes, strict))],
  ['validateLogGroupJs (lenient keys)', mbPerSec(bytes.length, () => validateLogGroupJs(bytes))],
  ['validateLogGroupJs (strict keys)', mbPerSec(bytes.length, () => validateLogGroupJs(bytes, strict))],
  ['decodeLogGroup', mbPerSec(bytes.length, () => decodeLogGroup(bytes))],
  ['protobufjs decode', mbPerSec(bytes.length, () => PbLogGroup.decode(bytes))],
  ['encodeLogGroup', mbPerSec(bytes.length, () => encodeLogGroup(group))],
];
const pbObj = PbLogGroup.decode(bytes);
results.push(['protobufjs encode', mbPerSec(bytes.length, () => PbLogGroup.encode(pbObj).finish())]);
for (const [name, mbs] of results) console.log(row(name, mbs));
