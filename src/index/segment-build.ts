import { at, readLenEnd, readTag, readVarint, seek, skipField } from '../protocol/wire.js';
import { ByteWriter } from '../storage/segment/bytes.js';
import { MAX_GROUP_ROWS, type SegmentFooter } from '../storage/segment/segment-format.js';
import {
  compareTokens,
  type GroupAppender,
  SegmentFileWriter,
  type SegmentWriterOptions,
  timeOrder,
} from '../storage/segment/segment-writer.js';
import type { CompiledField, CompiledIndex } from './index-config.js';
import { createNativeBuild, type NativeBuild } from './native-build.js';
import { type IndexSink, indexLog, parseNumber } from './row-indexer.js';
import { MAX_INDEXED_BYTES, Tokenizer } from './tokenizer.js';

const TAG_LOG = (1 << 3) | 2;
const TAG_TOPIC = (3 << 3) | 2;
const TAG_SOURCE = (4 << 3) | 2;
const TAG_LOG_TAG = (6 << 3) | 2;
const TAG_TIME = (1 << 3) | 0;
const TAG_CONTENT = (2 << 3) | 2;
const TAG_KEY = (1 << 3) | 2;
const TAG_VALUE = (2 << 3) | 2;
const FNV_BASIS = -2128831035;
const MAX_TOKEN = Tokenizer.MAX_TOKEN;

interface KeyInfo {
  /** Position in SegmentBuild.infoList (staged contents refer to their key by it). */
  readonly idx: number;
  readonly name: string;
  col: number;
  readonly line: boolean;
  readonly field: CompiledField | undefined;
  /** Dictionary id of a text field, or of a numeric field (-1 until first used). */
  dict: number;
  readonly json: boolean;
  /** Delimiter table and case folding of a text field. */
  readonly delim: Uint8Array | undefined;
  readonly lower: boolean;
  /** Token ids of recent values of this key (undefined when the key is not indexed or is JSON). */
  readonly cache: ValueCache | undefined;
}

/** A staged LogGroup: its bytes (read again when its rows are built) and what its rows share. */
interface StagedGroup {
  readonly buf: Buffer;
  readonly topicCell: Buffer | undefined;
  readonly sourceCell: Buffer | undefined;
  readonly topicCol: number;
  readonly sourceCol: number;
  readonly tagKeys: readonly string[];
  readonly tagCells: readonly Buffer[];
  readonly tagCols: readonly number[];
  /** Token ids of topic, source and tags: computed by the first of the group's rows built (-1 until then). */
  topicTok: number;
  sourceTok: number;
  tagToks: number[] | undefined;
}

const VC_SLOTS = 1024;
const VC_BYTES = 128;
const VC_IDS = 48;

/**
 * Values repeat (user agents, paths, methods, statuses, referers, hosts): a direct-mapped cache per key from a
 * value's bytes to the token ids it produced (full-text, field and numeric) replaces tokenizing and probing the
 * token table with one hash and one comparison. A key whose values rarely repeat (timestamps, ids) turns its cache
 * off after a few thousand lookups. Token ids belong to one build, so reset() clears every cache.
 */
class ValueCache {
  readonly hash = new Int32Array(VC_SLOTS);
  readonly len = new Int32Array(VC_SLOTS).fill(-1);
  readonly count = new Int32Array(VC_SLOTS);
  readonly bytes = new Uint8Array(VC_SLOTS * VC_BYTES);
  readonly ids = new Int32Array(VC_SLOTS * VC_IDS);
  lookups = 0;
  hits = 0;
  on = true;

  clear(): void {
    this.len.fill(-1);
    this.lookups = 0;
    this.hits = 0;
    this.on = true;
  }
}

export interface SegmentBuildOptions {
  /** false: always the JS path. Default: the native addon (native-build.ts) when it loaded. */
  readonly native?: boolean;
}

/**
 * Builds one segment straight from serialized LogGroups, at the byte level: the same rows, columns, dictionaries and
 * postings as the in-memory head followed by `writeSegment` (a test checks the files are identical), at a fraction of
 * the CPU. Where the head decodes every key and value into a JS string and keeps a posting list per token, this
 * reads the protobuf in place, copies ASCII values into per-column cell buffers as they are, tokenizes their bytes
 * with the index's delimiter table (hashing and lowercasing in the same scan) into one byte-keyed table for all
 * dictionaries, and only records, per row, the ids of the tokens it holds.
 *
 * Rows are built in time order: `addGroup` only stages a LogGroup (its structure is read and checked, its keys are
 * resolved and new columns created in arrival order, so column order is the head's), and `write` orders the staged
 * logs by time (a stable counting sort) and builds them in that order. Cells, per-row token lists and postings are
 * then appended in their final order, so writing copies them front to back; building in arrival order and permuting
 * at write measured ~6 µs per log more (random reads over the whole build, ~40k logs of random times per build).
 * Dictionaries are written in name order (the head does the same), which does not depend on the order rows are built.
 *
 * Values holding non-ASCII bytes (or JSON fields) take the string path of the head (decoded, tokenized by the
 * Tokenizer, re-encoded), so Unicode lowercasing, invalid UTF-8 (U+FFFD) and non-ASCII delimiters stay exact.
 *
 * When the native addon loaded (native-build.ts, native/build), builds whose strings are all ASCII and that hold no
 * JSON-indexed key run there instead (about half the CPU); this class stays the reference it is tested against
 * (segment-build-native.test.ts: identical files) and writes the file from what the addon returns.
 */
export class SegmentBuild implements IndexSink {
  /** Logs staged so far. */
  n = 0;
  /** Which path built the last segment written: the native addon or this class's JS. */
  engine: 'native' | 'js' = 'js';
  /**
   * The native build (native/build): used while every staged group suits it (ASCII strings, no JSON-indexed key).
   * The first group that does not moves the whole build to the JS path: the groups staged natively so far (kept in
   * `kept`, which also keeps their bytes alive for the native side) are staged again here.
   */
  private readonly nat: NativeBuild | undefined;
  private natOn = true;
  private readonly kept: Buffer[] = [];
  private natOut = Buffer.alloc(0);
  private natLens = new Int32Array(0);
  private minTime = Number.POSITIVE_INFINITY;
  private maxTime = 0;
  private readonly shards = new Map<string, [number, number]>();
  private cap = 1024;
  /** Per staged log (arrival order): its time, group, and first staged content. */
  private times = new Uint32Array(1024);
  private lGroup = new Int32Array(1024);
  private lFirst = new Int32Array(1025);
  /** Per staged content: its value's bytes in its group's buffer (-1 = no value) and its key (infoList index). */
  private sVS = new Int32Array(1 << 14);
  private sVE = new Int32Array(1 << 14);
  private sInfo = new Int32Array(1 << 14);
  private staged = 0;
  private readonly groups: StagedGroup[] = [];
  private readonly infoList: KeyInfo[] = [];
  /** Rows built (write() builds the staged logs once, in time order). */
  private built = false;
  /** Per row, its first entry in `occ` (rows' token ids, in row order). */
  private rowOcc = new Int32Array(1025);
  private occ = new Int32Array(1 << 16);
  private occUsed = 0;

  // Columns: per column the cells of the row group being built, in row order, as a row group stores them
  // (varint(len+1) + bytes, 0 = absent: rows without a cell are filled in when the column's next cell comes, or when
  // the group ends), and each of the group's rows' cell start (-1 = not reached yet). Rows are built in time order,
  // so a group's cells of a column are one contiguous run: each group is compressed and written as soon as its last
  // row is built, and only one group's cells are held (holding a whole build's cells measured ~15 MB per worker).
  private readonly colNames: string[] = [];
  private readonly colIds = new Map<string, number>();
  private colData: ByteWriter[] = [];
  private colStart: Int32Array[] = [];
  /** Per column, the last row whose cell (or absence) is stored. */
  private colLast: number[] = [];
  /** First row of the row group being built (colStart is indexed by row - groupBase). */
  private groupBase = 0;

  // Dictionaries: text ones and numeric ones, each in order of first use (the head's order).
  private readonly dictIds = new Map<string, number>();
  private readonly textDicts: number[] = [];
  private readonly textNames: string[] = [];
  private readonly numDicts: number[] = [];
  private readonly numNames: string[] = [];
  private readonly numMaps: Map<number, number>[] = [];
  private dictCount = 0;

  // Tokens of every dictionary in one open-addressing table keyed by (dictionary, bytes). A slot holds token + 1, its
  // hash, (dictionary << 16 | length) and its bytes' start in the arena, so a probe reads one 16-byte slot and, on a
  // match, the bytes; `meta` keeps the same per token (hash, dictionary, start, length) and `lc` its last row and
  // row count.
  private slots = new Int32Array(4 << 14);
  private meta = new Int32Array(4 * 4096);
  private lc = new Int32Array(2 * 4096);
  private tokAscii = new Uint8Array(4096);
  private tokens = 0;
  private arena = Buffer.allocUnsafe(1 << 16);
  private arenaUsed = 0;
  // Scratch of write(): postings start per token, fill cursors, and the postings of all tokens.
  private pStart = new Int32Array(0);
  private cursor = new Int32Array(0);
  private post = new Uint32Array(0);

  // Per-group parse state (reused).
  private logStart = new Int32Array(4096);
  private logEnd = new Int32Array(4096);
  private logTime = new Float64Array(4096);
  private logFirst = new Int32Array(4097);
  private cKS = new Int32Array(4096);
  private cKE = new Int32Array(4096);
  private cVS = new Int32Array(4096);
  private cVE = new Int32Array(4096);
  private readonly keyMemo: { bytes: Uint8Array; info: KeyInfo }[] = [];
  private readonly keyInfos = new Map<string, KeyInfo>();
  private readonly valueCaches = new Map<string, ValueCache>();
  /** While a value's tokens are computed for the cache, push() also records them here. */
  private capturing = false;
  private readonly captured = new Int32Array(VC_IDS);
  private capLen = 0;
  /** FNV-1a of the last value setCell stored. */
  private valueHash = 0;
  private readonly lineDict: { delim: Uint8Array; lower: boolean } | undefined;
  private row = 0;

  constructor(
    private readonly index: CompiledIndex,
    options: SegmentBuildOptions = {},
  ) {
    this.lineDict = index.line
      ? { delim: index.line.tokenizer.delim, lower: !index.line.tokenizer.caseSensitive }
      : undefined;
    this.nat = options.native === false ? undefined : createNativeBuild(index);
  }

  /**
   * Empties the build for the next segment but keeps its grown buffers: a worker reuses one build per index config,
   * so steady-state building allocates almost nothing (large typed-array allocations cost full GCs).
   */
  reset(): void {
    this.nat?.reset();
    this.natOn = true;
    this.kept.length = 0;
    this.n = 0;
    this.staged = 0;
    this.groups.length = 0;
    this.infoList.length = 0;
    this.built = false;
    this.groupBase = 0;
    this.minTime = Number.POSITIVE_INFINITY;
    this.maxTime = 0;
    this.shards.clear();
    this.occUsed = 0;
    this.colNames.length = 0;
    this.colIds.clear();
    this.dictIds.clear();
    this.textDicts.length = 0;
    this.textNames.length = 0;
    this.numDicts.length = 0;
    this.numNames.length = 0;
    this.numMaps.length = 0;
    this.dictCount = 0;
    this.slots.fill(0);
    this.tokens = 0;
    this.arenaUsed = 0;
    this.keyMemo.length = 0;
    this.keyInfos.clear();
    for (const vc of this.valueCaches.values()) vc.clear();
  }

  /** Marks record `seq` of `shardKey` as held without logs (it could not be read). */
  skip(shardKey: string, seq: number): void {
    this.range(shardKey, seq);
  }

  /**
   * Adds the logs of one serialized LogGroup. Malformed bytes throw before anything is added (the structure is read
   * completely first).
   */
  addGroup(shardKey: string, seq: number, bytes: Uint8Array): void {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.nat && this.natOn) {
      const logs = this.nat.addGroup(buf);
      if (logs >= 0) {
        this.kept.push(buf);
        this.n += logs;
        this.range(shardKey, seq);
        return;
      }
      // This group needs the JS path: so does the whole build (one segment, one path).
      this.natOn = false;
      this.n = 0;
      for (const k of this.kept) this.stage(k);
      this.kept.length = 0;
      this.nat.reset();
    }
    this.stage(buf);
    this.range(shardKey, seq);
  }

  /** Stages one LogGroup on the JS path (throws on malformed bytes before anything is staged). */
  private stage(buf: Buffer): void {
    // Pass 1: structure (throws on malformed input).
    let topic = '';
    let source = '';
    const tags: { key: string; value: string }[] = [];
    let logs = 0;
    let contents = 0;
    const end = buf.length;
    seek(0);
    while (at < end) {
      const tag = readTag(buf, end);
      if (tag === TAG_LOG) {
        const e = readLenEnd(buf, end);
        if (logs >= this.logStart.length) this.growLogs();
        this.logStart[logs] = at;
        this.logEnd[logs] = e;
        logs++;
        seek(e);
      } else if (tag === TAG_TOPIC || tag === TAG_SOURCE) {
        const e = readLenEnd(buf, end);
        const s = buf.toString('utf8', at, e);
        if (tag === TAG_TOPIC) topic = s;
        else source = s;
        seek(e);
      } else if (tag === TAG_LOG_TAG) {
        const e = readLenEnd(buf, end);
        let key = '';
        let value = '';
        while (at < e) {
          const t = readTag(buf, e);
          if (t === TAG_KEY || t === TAG_VALUE) {
            const ve = readLenEnd(buf, e);
            const s = buf.toString('utf8', at, ve);
            if (t === TAG_KEY) key = s;
            else value = s;
            seek(ve);
          } else skipField(buf, t & 7, e);
        }
        tags.push({ key, value });
        seek(e);
      } else skipField(buf, tag & 7, end);
    }
    for (let l = 0; l < logs; l++) {
      const le = this.logEnd[l]!;
      seek(this.logStart[l]!);
      let time = 0;
      this.logFirst[l] = contents;
      while (at < le) {
        const tag = readTag(buf, le);
        if (tag === TAG_CONTENT) {
          const ce = readLenEnd(buf, le);
          if (contents >= this.cKS.length) this.growContents();
          let ks = -1;
          let ke = -1;
          let vs = -1;
          let ve = -1;
          while (at < ce) {
            const t = readTag(buf, ce);
            if (t === TAG_KEY) {
              ke = readLenEnd(buf, ce);
              ks = at;
              seek(ke);
            } else if (t === TAG_VALUE) {
              ve = readLenEnd(buf, ce);
              vs = at;
              seek(ve);
            } else skipField(buf, t & 7, ce);
          }
          this.cKS[contents] = ks;
          this.cKE[contents] = ke;
          this.cVS[contents] = vs;
          this.cVE[contents] = ve;
          contents++;
          seek(ce);
        } else if (tag === TAG_TIME) {
          // uint32: protobuf parsers keep the low 32 bits of an over-long varint.
          const v = readVarint(buf, le);
          time = v <= 0xffffffff ? v : Number.isFinite(v) ? v % 0x100000000 : 0;
        } else skipField(buf, tag & 7, le);
      }
      this.logTime[l] = time;
    }
    this.logFirst[logs] = contents;

    // Stage: keys resolved and new columns created in arrival order (the head's column order: per row topic, source,
    // its keys, then tags), value positions kept for the row build in write().
    const g = this.groups.length;
    const topicCell = topic === '' ? undefined : Buffer.from(topic, 'utf8');
    const sourceCell = source === '' ? undefined : Buffer.from(source, 'utf8');
    let topicCol = -1;
    let sourceCol = -1;
    let tagCols: number[] = [];
    if (logs > 0) {
      if (topicCell) topicCol = this.colId('__topic__');
      if (sourceCell) sourceCol = this.colId('__source__');
    }
    if (this.staged + contents > this.sVS.length) this.growStaged(this.staged + contents);
    let k = this.staged;
    for (let l = 0; l < logs; l++) {
      const j = this.n;
      if (j >= this.cap) this.growRows();
      const time = this.logTime[l]!;
      this.times[j] = time;
      if (time < this.minTime) this.minTime = time;
      if (time > this.maxTime) this.maxTime = time;
      this.lGroup[j] = g;
      this.lFirst[j] = k;
      const first = this.logFirst[l]!;
      for (let c = first, ce = this.logFirst[l + 1]!; c < ce; c++) {
        const info = this.keyInfo(buf, this.cKS[c]!, this.cKE[c]!, c - first);
        if (info.col < 0) info.col = this.colId(info.name);
        this.sVS[k] = this.cVS[c]!;
        this.sVE[k] = this.cVE[c]!;
        this.sInfo[k] = info.idx;
        k++;
      }
      if (l === 0) tagCols = tags.map((t) => this.colId(`__tag__:${t.key}`));
      this.n = j + 1;
    }
    this.lFirst[this.n] = k;
    this.staged = k;
    if (logs > 0) {
      this.groups.push({
        buf,
        topicCell,
        sourceCell,
        topicCol,
        sourceCol,
        tagKeys: tags.map((t) => t.key),
        tagCells: tags.map((t) => Buffer.from(t.value, 'utf8')),
        tagCols,
        topicTok: -1,
        sourceTok: -1,
        tagToks: undefined,
      });
    }
  }

  /**
   * Builds the staged logs as rows in `order` (time order, stable: ties keep arrival order), handing each row group
   * to `groups` as soon as its last row is built.
   */
  private buildRows(order: Uint32Array, groups: GroupAppender): void {
    const n = this.n;
    if (this.built) throw new Error('SegmentBuild: write() called twice without reset()');
    this.built = true;
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      this.row = i;
      this.rowOcc[i] = this.occUsed;
      const g = this.groups[this.lGroup[j]!]!;
      const buf = g.buf;
      const topicCell = g.topicCell;
      const sourceCell = g.sourceCell;
      if (topicCell) this.setCell(g.topicCol, i, topicCell, 0, topicCell.length);
      if (sourceCell) this.setCell(g.sourceCol, i, sourceCell, 0, sourceCell.length);
      for (let k = this.lFirst[j]!, ke = this.lFirst[j + 1]!; k < ke; k++) {
        this.content(buf, this.infoList[this.sInfo[k]!]!, this.sVS[k]!, this.sVE[k]!);
      }
      const tagCells = g.tagCells;
      for (let t = 0; t < tagCells.length; t++) this.setCell(g.tagCols[t]!, i, tagCells[t]!, 0, tagCells[t]!.length);
      // Reserved fields as whole values, case-sensitively (row-indexer's order: topic, source, tags).
      if (topicCell) {
        if (g.topicTok < 0)
          g.topicTok = this.tokenOf(this.dictId('f:__topic__', false), topicCell, 0, topicCell.length);
        this.push(g.topicTok);
      }
      if (sourceCell) {
        if (g.sourceTok < 0)
          g.sourceTok = this.tokenOf(this.dictId('f:__source__', false), sourceCell, 0, sourceCell.length);
        this.push(g.sourceTok);
      }
      if (tagCells.length > 0) {
        g.tagToks ??= g.tagKeys.map((key, t) =>
          this.tokenOf(this.dictId(`f:__tag__:${key}`, false), tagCells[t]!, 0, tagCells[t]!.length),
        );
        for (const tok of g.tagToks) this.push(tok);
      }
      if (i + 1 === n || i + 1 - this.groupBase === groups.rows) this.endRowGroup(groups, i + 1);
    }
    this.rowOcc[n] = this.occUsed;
    // The value bytes are no longer needed (cells hold copies).
    this.groups.length = 0;
  }

  /** Appends the cells of rows [groupBase, end) of every column as one row group, then starts the next group. */
  private endRowGroup(groups: GroupAppender, end: number): void {
    const cw = groups.out;
    const rows = end - this.groupBase;
    for (let c = 0; c < this.colNames.length; c++) {
      if (this.colLast[c]! < end - 1) this.fillAbsent(c, end);
      const w = this.colData[c]!;
      const col = w.finish();
      // More bytes than rows: some cell holds a value; as many: each is 0 (absent) or 1 (an empty value).
      let any = col.length > rows;
      for (let k = 0; !any && k < col.length; k++) if (col[k] !== 0) any = true;
      if (any) cw.bytesOf(col, 0, col.length);
      groups.endColumn(any);
      w.reset();
      this.colStart[c]!.fill(-1);
    }
    groups.endGroup();
    this.groupBase = end;
  }

  private range(shardKey: string, seq: number): void {
    const r = this.shards.get(shardKey);
    if (r) r[1] = seq + 1;
    else this.shards.set(shardKey, [seq, seq + 1]);
  }

  /** One key/value of the current row: its cell, then its index entries (row-indexer's rules). */
  private content(buf: Buffer, info: KeyInfo, vs: number, ve: number): void {
    if (vs < 0) {
      vs = 0;
      ve = 0;
    }
    let ascii = this.setCell(info.col, this.row, buf, vs, ve);
    if (ascii < 0) {
      ascii = isAscii(buf, vs, ve) ? 1 : 0;
      let h = FNV_BASIS;
      for (let i = vs; i < ve; i++) h = Math.imul(h ^ buf[i]!, 16777619);
      this.valueHash = h;
    }
    if (ascii === 0 || info.json) {
      indexLog(this.index, [{ key: info.name, value: buf.toString('utf8', vs, ve) }], '', '', [], this);
      return;
    }
    const vc = info.cache;
    const len = ve - vs;
    if (vc?.on && len <= VC_BYTES) {
      const h = this.valueHash;
      const slot = (h ^ (h >>> 13)) & (VC_SLOTS - 1);
      vc.lookups++;
      if (vc.hash[slot] === h && vc.len[slot] === len) {
        const bytes = vc.bytes;
        let o = slot * VC_BYTES;
        let i = vs;
        for (; i < ve; i++, o++) if (bytes[o] !== buf[i]) break;
        if (i === ve) {
          vc.hits++;
          const ids = vc.ids;
          for (let k = slot * VC_IDS, ke = k + vc.count[slot]!; k < ke; k++) this.push(ids[k]!);
          return;
        }
      }
      if (vc.lookups === 4096 && vc.hits < 1024) vc.on = false;
      this.capturing = true;
      this.capLen = 0;
      this.index1(info, buf, vs, ve);
      this.capturing = false;
      if (this.capLen <= VC_IDS) {
        vc.hash[slot] = h;
        vc.len[slot] = len;
        vc.count[slot] = this.capLen;
        const bytes = vc.bytes;
        for (let i = vs, o = slot * VC_BYTES; i < ve; i++) bytes[o++] = buf[i]!;
        const ids = vc.ids;
        const cap = this.captured;
        for (let k = 0, o = slot * VC_IDS; k < this.capLen; k++) ids[o++] = cap[k]!;
      } else vc.len[slot] = -1;
      return;
    }
    this.index1(info, buf, vs, ve);
  }

  /** The index entries of one ASCII value (row-indexer's rules). */
  private index1(info: KeyInfo, buf: Buffer, vs: number, ve0: number): void {
    // Only the first MAX_INDEXED_BYTES of a value are searchable (row-indexer's indexedPart; ASCII here: bytes = chars).
    const ve = Math.min(ve0, vs + MAX_INDEXED_BYTES);
    const line = this.lineDict;
    if (info.line && line) this.textBytes(this.dictId('', false), buf, vs, ve, line.delim, line.lower);
    const field = info.field;
    if (!field) return;
    if (field.type === 'text') {
      if (info.dict < 0) info.dict = this.dictId(field.dict, false);
      this.textBytes(info.dict, buf, vs, ve, info.delim!, info.lower);
    } else {
      const v = numberOf(buf, vs, ve0, field.type === 'long');
      if (v !== undefined) {
        if (info.dict < 0) info.dict = this.dictId(info.name, true);
        this.numberIn(info.dict, v);
      }
    }
  }

  private keyInfo(buf: Buffer, ks: number, ke: number, slot: number): KeyInfo {
    const len = ks < 0 ? 0 : ke - ks;
    const memo = this.keyMemo[slot];
    if (memo && memo.bytes.length === len) {
      const b = memo.bytes;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== buf[ks + i]) {
          same = false;
          break;
        }
      }
      if (same) return memo.info;
    }
    const name = len === 0 ? '' : buf.toString('utf8', ks, ke);
    let info = this.keyInfos.get(name);
    if (!info) {
      const line = this.index.line;
      const field = this.index.fields.get(name);
      const inLine = line !== undefined && (line.include ? line.include.has(name) : !line.exclude.has(name));
      const json = field === undefined && this.index.json.has(name);
      let cache: ValueCache | undefined;
      if ((inLine || field !== undefined) && !json) {
        cache = this.valueCaches.get(name);
        if (!cache && this.valueCaches.size < 64) {
          cache = new ValueCache();
          this.valueCaches.set(name, cache);
        }
      }
      info = {
        idx: this.infoList.length,
        name,
        col: -1,
        line: inLine,
        field,
        dict: -1,
        json,
        cache,
        delim: field?.tokenizer?.delim,
        lower: field?.tokenizer ? !field.tokenizer.caseSensitive : false,
      };
      this.keyInfos.set(name, info);
      this.infoList.push(info);
    }
    if (slot < 256) this.keyMemo[slot] = { bytes: Uint8Array.from(len === 0 ? [] : buf.subarray(ks, ke)), info };
    return info;
  }

  // --- IndexSink (the string path: non-ASCII values and JSON fields) ---

  text(dict: string, text: string, tokenizer: Tokenizer): void {
    const d = this.dictId(dict, false);
    tokenizer.each(text, (t) => this.push(this.tokenOfString(d, t)));
  }

  raw(dict: string, token: string): void {
    this.push(this.tokenOfString(this.dictId(dict, false), token));
  }

  number(field: string, value: number): void {
    this.numberIn(this.dictId(field, true), value);
  }

  private numberIn(d: number, value: number): void {
    const map = this.numMaps[d]!;
    let tok = map.get(value);
    if (tok === undefined) {
      tok = this.newToken(d, 0, 0, -1, 1);
      map.set(value, tok);
    }
    this.push(tok);
  }

  private dictId(name: string, numeric: boolean): number {
    const key = numeric ? `\u0000${name}` : name;
    let d = this.dictIds.get(key);
    if (d === undefined) {
      d = this.dictCount++;
      this.dictIds.set(key, d);
      if (numeric) {
        this.numDicts.push(d);
        this.numNames.push(name);
      } else {
        this.textDicts.push(d);
        this.textNames.push(name);
      }
      this.numMaps[d] = new Map();
    }
    return d;
  }

  private colId(name: string): number {
    let c = this.colIds.get(name);
    if (c === undefined) {
      c = this.colNames.length;
      this.colIds.set(name, c);
      this.colNames.push(name);
      if (c < this.colData.length) {
        // A column buffer kept by reset().
        this.colData[c]!.reset();
        this.colStart[c]!.fill(-1);
      } else {
        this.colData.push(new ByteWriter(1 << 12));
        const start = new Int32Array(MAX_GROUP_ROWS);
        start.fill(-1);
        this.colStart.push(start);
      }
      this.colLast[c] = this.groupBase - 1;
    }
    return c;
  }

  /**
   * Stores the cell of column `c` for `row` unless the row has one (the first value of a duplicated key wins).
   * Returns 1 when the bytes are ASCII (and leaves their FNV-1a hash in `valueHash`), 0 when not (then the cell holds
   * the UTF-8 of their decoded string), -1 when the row already had a value (nothing stored, nothing checked).
   */
  private setCell(c: number, row: number, buf: Uint8Array, s: number, e: number): number {
    const starts = this.colStart[c]!;
    const r = row - this.groupBase;
    if (starts[r]! >= 0) return -1;
    const w = this.colData[c]!;
    if (this.colLast[c]! < row - 1) this.fillAbsent(c, row);
    this.colLast[c] = row;
    const at0 = w.length;
    starts[r] = at0;
    const len = e - s;
    w.varint(len + 1);
    const out = w.reserve(len);
    let o = w.length;
    let or = 0;
    let h = FNV_BASIS;
    for (let i = s; i < e; i++) {
      const b = buf[i]!;
      or |= b;
      h = Math.imul(h ^ b, 16777619);
      out[o++] = b;
    }
    this.valueHash = h;
    w.length = o;
    if (or < 0x80) return 1;
    // Non-ASCII: store what a decode + encode gives (invalid UTF-8 becomes U+FFFD, as in the head).
    const enc = Buffer.from(Buffer.from(buf.buffer, buf.byteOffset + s, len).toString('utf8'), 'utf8');
    w.length = at0;
    w.varint(enc.length + 1);
    w.bytesOf(enc, 0, enc.length);
    return 0;
  }

  /** Rows after column `c`'s last stored one and before `row` (in the current group) have no cell: a 0 byte each. */
  private fillAbsent(c: number, row: number): void {
    const starts = this.colStart[c]!;
    const w = this.colData[c]!;
    const from = this.colLast[c]! + 1;
    const base = this.groupBase;
    const out = w.reserve(row - from);
    let o = w.length;
    for (let r = from; r < row; r++) {
      starts[r - base] = o;
      out[o++] = 0;
    }
    w.length = o;
    this.colLast[c] = row - 1;
  }

  /** Tokens of ASCII bytes `buf[s, e)`: runs between delimiters, cut at MAX_TOKEN, lowercased when `lower`. */
  private textBytes(d: number, buf: Uint8Array, s: number, e: number, delim: Uint8Array, lower: boolean): void {
    const seed = FNV_BASIS ^ Math.imul(d + 1, 0x9e3779b1);
    let i = s;
    while (i < e) {
      while (i < e && delim[buf[i]!] === 1) i++;
      if (i >= e) return;
      const start = i;
      let h = seed;
      if (lower) {
        for (; i < e; i++) {
          let c = buf[i]!;
          if (delim[c] === 1) break;
          if (c >= 65 && c <= 90) c += 32;
          h = Math.imul(h ^ c, 16777619);
        }
      } else {
        for (; i < e; i++) {
          const c = buf[i]!;
          if (delim[c] === 1) break;
          h = Math.imul(h ^ c, 16777619);
        }
      }
      let stop = i;
      if (stop - start > MAX_TOKEN) {
        stop = start + MAX_TOKEN;
        h = seed;
        for (let j = start; j < stop; j++) {
          let c = buf[j]!;
          if (lower && c >= 65 && c <= 90) c += 32;
          h = Math.imul(h ^ c, 16777619);
        }
      }
      this.push(this.find(d, h, buf, start, stop, lower));
    }
  }

  /** Token id of the whole bytes `buf[s, e)` (no folding). */
  private tokenOf(d: number, buf: Uint8Array, s: number, e: number): number {
    let h = FNV_BASIS ^ Math.imul(d + 1, 0x9e3779b1);
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 16777619);
    return this.find(d, h, buf, s, e, false);
  }

  private tokenOfString(d: number, token: string): number {
    const b = Buffer.from(token, 'utf8');
    return this.tokenOf(d, b, 0, b.length);
  }

  private find(d: number, h: number, buf: Uint8Array, s: number, e: number, lower: boolean): number {
    const slots = this.slots;
    const mask = (slots.length >> 2) - 1;
    const len = e - s;
    const dl = (d << 16) | len;
    let p = h & mask;
    for (;;) {
      const q = 4 * p;
      const v = slots[q]!;
      if (v === 0) break;
      if (
        slots[q + 1] === h &&
        slots[q + 2] === dl &&
        (len < 0x10000 || (this.meta[4 * (v - 1) + 3] === len && this.meta[4 * (v - 1) + 1] === d))
      ) {
        const a = this.arena;
        let o = slots[q + 3]!;
        let i = s;
        if (lower) {
          for (; i < e; i++, o++) {
            let c = buf[i]!;
            if (c >= 65 && c <= 90) c += 32;
            if (a[o] !== c) break;
          }
        } else {
          for (; i < e; i++, o++) if (a[o] !== buf[i]) break;
        }
        if (i === e) return v - 1;
      }
      p = (p + 1) & mask;
    }
    // New token: copy its (folded) bytes to the arena.
    if (this.arenaUsed + len > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < this.arenaUsed + len) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.arena.copy(next, 0, 0, this.arenaUsed);
      this.arena = next;
    }
    const a = this.arena;
    const start = this.arenaUsed;
    let o = start;
    let ascii = 1;
    for (let i = s; i < e; i++) {
      let c = buf[i]!;
      if (lower && c >= 65 && c <= 90) c += 32;
      if (c >= 0x80) ascii = 0;
      a[o++] = c;
    }
    const tok = this.newToken(d, h, start, len, ascii);
    this.arenaUsed = o;
    const q = 4 * p;
    slots[q] = tok + 1;
    slots[q + 1] = h;
    // (dictionary, length) packed; tokens of 65,536 bytes or more (whole raw values) are checked against `meta`.
    slots[q + 2] = dl;
    slots[q + 3] = start;
    if (this.tokens * 8 > slots.length) this.rehash();
    return tok;
  }

  private newToken(d: number, h: number, start: number, len: number, ascii: number): number {
    const tok = this.tokens++;
    if (tok >= this.tokAscii.length) {
      const size = this.tokAscii.length * 2;
      this.meta = growI32(this.meta, 4 * size);
      this.lc = growI32(this.lc, 2 * size);
      const a = new Uint8Array(size);
      a.set(this.tokAscii);
      this.tokAscii = a;
    }
    const m = 4 * tok;
    this.meta[m] = h;
    this.meta[m + 1] = d;
    this.meta[m + 2] = start;
    this.meta[m + 3] = len;
    this.lc[2 * tok] = -1;
    this.lc[2 * tok + 1] = 0;
    this.tokAscii[tok] = ascii;
    return tok;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = (slots.length >> 2) - 1;
    const meta = this.meta;
    for (let tok = 0; tok < this.tokens; tok++) {
      const m = 4 * tok;
      if (meta[m + 3]! < 0) continue; // numeric: found through its dictionary's map, not the table
      const h = meta[m]!;
      let p = h & mask;
      while (slots[4 * p] !== 0) p = (p + 1) & mask;
      const q = 4 * p;
      slots[q] = tok + 1;
      slots[q + 1] = h;
      slots[q + 2] = (meta[m + 1]! << 16) | meta[m + 3]!;
      slots[q + 3] = meta[m + 2]!;
    }
    this.slots = slots;
  }

  /** Row `row` holds token `tok` (once per row). */
  private push(tok: number): void {
    if (this.capturing) {
      if (this.capLen < VC_IDS) this.captured[this.capLen] = tok;
      this.capLen++;
    }
    const lc = this.lc;
    if (lc[2 * tok] === this.row) return;
    lc[2 * tok] = this.row;
    lc[2 * tok + 1]!++;
    if (this.occUsed >= this.occ.length) this.occ = growI32(this.occ, Math.ceil(this.occ.length * 1.5));
    this.occ[this.occUsed++] = tok;
  }

  private growRows(): void {
    const cap = this.cap * 2;
    const t = new Uint32Array(cap);
    t.set(this.times);
    this.times = t;
    this.lGroup = growI32(this.lGroup, cap);
    this.lFirst = growI32(this.lFirst, cap + 1);
    this.rowOcc = growI32(this.rowOcc, cap + 1);
    this.cap = cap;
  }

  private growLogs(): void {
    const size = this.logStart.length * 2;
    this.logStart = growI32(this.logStart, size);
    this.logEnd = growI32(this.logEnd, size);
    const t = new Float64Array(size);
    t.set(this.logTime);
    this.logTime = t;
    this.logFirst = growI32(this.logFirst, size + 1);
  }

  private growStaged(min: number): void {
    let size = this.sVS.length;
    while (size < min) size = Math.ceil(size * 1.5);
    this.sVS = growI32(this.sVS, size);
    this.sVE = growI32(this.sVE, size);
    this.sInfo = growI32(this.sInfo, size);
  }

  private growContents(): void {
    const size = this.cKS.length * 2;
    this.cKS = growI32(this.cKS, size);
    this.cKE = growI32(this.cKE, size);
    this.cVS = growI32(this.cVS, size);
    this.cVE = growI32(this.cVE, size);
  }

  /**
   * Writes the segment atomically to `path` (rows in time order) and returns its footer. `scratch`: memory the caller
   * no longer needs once rows are built (the builder's arena of decoded LogGroups), used for the postings of all
   * tokens when it is large enough, instead of a buffer of the build's own (~4 bytes per token occurrence).
   * `options`: how the file is written (builder workers pass YOUNG_SEGMENT: a faster level, larger groups, no
   * dictionary; merges rewrite those files soon).
   */
  write(
    path: string,
    id: string,
    configVersion: number,
    scratch?: Buffer,
    options: SegmentWriterOptions = {},
  ): SegmentFooter {
    if (this.nat && this.natOn) {
      this.engine = 'native';
      return this.writeNative(this.nat, path, id, configVersion, scratch, options);
    }
    this.engine = 'js';
    const n = this.n;
    const { order: timeOrdered, sorted: sortedTimes } = byTime(this.times, n);
    const w = new SegmentFileWriter(path, options);
    try {
      w.times(sortedTimes, n);
      const groups = w.rowGroups(this.colNames);
      this.buildRows(timeOrdered, groups);
      groups.end();
      // Postings in time order straight from the rows' token lists: one counting pass, nothing sorted per token.
      const T = this.tokens;
      if (this.pStart.length < T + 1) {
        this.pStart = new Int32Array(Math.ceil((T + 1) * 1.25));
        this.cursor = new Int32Array(this.pStart.length);
      }
      let post: Uint32Array;
      if (scratch && scratch.byteOffset % 4 === 0 && scratch.byteLength >= 4 * this.occUsed) {
        post = new Uint32Array(scratch.buffer, scratch.byteOffset, this.occUsed);
      } else {
        if (this.post.length < this.occUsed) this.post = new Uint32Array(Math.ceil(this.occUsed * 1.25));
        post = this.post;
      }
      const pStart = this.pStart;
      const cursor = this.cursor;
      pStart[0] = 0;
      for (let t = 0; t < T; t++) {
        cursor[t] = pStart[t]!;
        pStart[t + 1] = pStart[t]! + this.lc[2 * t + 1]!;
      }
      const occ = this.occ;
      const rowOcc = this.rowOcc;
      for (let i = 0; i < n; i++) {
        for (let k = rowOcc[i]!, ke = rowOcc[i + 1]!; k < ke; k++) post[cursor[occ[k]!]!++] = i;
      }
      const byDict: number[][] = Array.from({ length: this.dictCount }, () => []);
      for (let t = 0; t < T; t++) byDict[this.meta[4 * t + 1]!]!.push(t);
      // Dictionaries in name order (as the head writes them): independent of the order rows were built in.
      for (const i of namesOrder(this.textNames)) {
        const toks = byDict[this.textDicts[i]!]!;
        const dw = w.dict(this.textNames[i]!);
        const arena = this.arena;
        const meta = this.meta;
        for (const t of sortTokens(toks, arena, meta, this.tokAscii)) {
          const ts = meta[4 * t + 2]!;
          dw.addBytes(arena, ts, ts + meta[4 * t + 3]!, post, pStart[t]!, pStart[t + 1]!);
        }
        dw.end();
      }
      for (const i of namesOrder(this.numNames)) {
        const map = this.numMaps[this.numDicts[i]!]!;
        const nw = w.numbers(this.numNames[i]!);
        for (const v of Float64Array.from(map.keys()).sort()) {
          const t = map.get(v)!;
          nw.add(v, post, pStart[t]!, pStart[t + 1]!);
        }
        nw.end();
      }
      return w.finish(this.footerMeta(id, configVersion));
    } catch (err) {
      w.abort();
      throw err;
    }
  }

  /** What the footer records besides the sections: the shard-log records this segment holds. */
  private footerMeta(id: string, configVersion: number) {
    const shards: Record<string, [number, number][]> = {};
    for (const [k, r] of this.shards) shards[k] = [[r[0], r[1]]];
    return { id, shards, replaces: [], configVersion };
  }

  /** write() over the native build: same sections, same order, same bytes as the JS path. */
  private writeNative(
    nat: NativeBuild,
    path: string,
    id: string,
    configVersion: number,
    scratch: Buffer | undefined,
    options: SegmentWriterOptions,
  ): SegmentFooter {
    const n = this.n;
    if (this.built) throw new Error('SegmentBuild: write() called twice without reset()');
    this.built = true;
    const times = new Uint32Array(n);
    nat.times(times);
    const { order, sorted: sortedTimes } = byTime(times, n);
    const w = new SegmentFileWriter(path, options);
    try {
      w.times(sortedTimes, n);
      const names = nat.columns();
      const groups = w.rowGroups(names);
      if (this.natLens.length < names.length) this.natLens = new Int32Array(names.length);
      const lens = this.natLens;
      if (this.natOut.length === 0) this.natOut = Buffer.allocUnsafe(1 << 18);
      for (let from = 0; from < n; from += groups.rows) {
        const to = Math.min(n, from + groups.rows);
        let len = nat.buildGroup(order, from, to, this.natOut, lens);
        if (len < 0) {
          this.natOut = Buffer.allocUnsafe(Math.max(-len, this.natOut.length * 2));
          len = nat.takeGroup(this.natOut, lens);
        }
        groups.putCells(this.natOut, lens);
      }
      groups.end();
      this.kept.length = 0;
      const r = nat.finish(scratch);
      const { arena, tokStart, tokLen, enc, encStart, encSize, dictBytes } = r;
      const text = [...r.text].sort((a, b) => compareTokens(a.name, b.name));
      for (const d of text) {
        const dw = w.dict(d.name);
        dw.addBlocks(dictBytes, d.at, d.blocks, d.tokens, arena, tokStart, tokLen);
        dw.end();
      }
      const nums = [...r.num].sort((a, b) => compareTokens(a.name, b.name));
      for (const d of nums) {
        const nw = w.numbers(d.name);
        nw.addAllEncoded(d.values, d.toks, enc, encStart, encSize);
        nw.end();
      }
      return w.finish(this.footerMeta(id, configVersion));
    } catch (err) {
      w.abort();
      throw err;
    }
  }
}

/**
 * Token ids in `compareTokens` order (UTF-16 code units) of their bytes. ASCII tokens without NUL (the usual case)
 * sort by their bytes (sortAsciiTokens); otherwise the decoded strings are sorted and mapped back through a Map.
 */
function sortTokens(toks: readonly number[], arena: Buffer, meta: Int32Array, ascii: Uint8Array): number[] {
  let simple = toks.length < 1 << 24;
  for (let j = 0; j < toks.length && simple; j++) {
    const t = toks[j]!;
    if (!ascii[t]) simple = false;
    const s = meta[4 * t + 2]!;
    const e = s + meta[4 * t + 3]!;
    for (let k = s; k < e; k++) if (arena[k] === 0) simple = false;
  }
  if (!simple) {
    const strs = toks.map((t) =>
      arena.toString(ascii[t] ? 'latin1' : 'utf8', meta[4 * t + 2]!, meta[4 * t + 2]! + meta[4 * t + 3]!),
    );
    const byStr = new Map<string, number>();
    for (let j = 0; j < toks.length; j++) byStr.set(strs[j]!, toks[j]!);
    strs.sort();
    return strs.map((x) => byStr.get(x)!);
  }
  return sortAsciiTokens(toks, arena, meta);
}

const PREFIX_SCALE = 2 ** 21;

/**
 * ASCII tokens without NUL in byte order (= UTF-16 order for them; a shorter token before its extensions): one native
 * numeric sort of `first 4 bytes (NUL-padded) * 2^21 + index` as doubles (exact below 2^53), then the runs that share
 * their first 4 bytes (numbers with a common prefix, mostly) sorted by the rest of their bytes. Measured ~3x faster
 * than sorting one latin1 string per token, which also left every string to the GC.
 */
function sortAsciiTokens(toks: readonly number[], arena: Buffer, meta: Int32Array): number[] {
  const n = toks.length;
  if (n >= PREFIX_SCALE) return sortTokenStrings(toks, arena, meta);
  const keys = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const t = toks[j]!;
    const s = meta[4 * t + 2]!;
    const len = meta[4 * t + 3]!;
    const p =
      (len > 0 ? arena[s]! * 0x1000000 : 0) +
      (len > 1 ? arena[s + 1]! << 16 : 0) +
      (len > 2 ? arena[s + 2]! << 8 : 0) +
      (len > 3 ? arena[s + 3]! : 0);
    keys[j] = p * PREFIX_SCALE + j;
  }
  keys.sort();
  const out: number[] = new Array(n);
  let run: number[] | undefined;
  for (let i = 0; i < n; ) {
    const p = Math.floor(keys[i]! / PREFIX_SCALE);
    let e = i + 1;
    while (e < n && Math.floor(keys[e]! / PREFIX_SCALE) === p) e++;
    if (e === i + 1) out[i] = toks[keys[i]! - p * PREFIX_SCALE]!;
    else {
      run ??= [];
      run.length = 0;
      for (let k = i; k < e; k++) run.push(toks[keys[k]! - p * PREFIX_SCALE]!);
      run.sort((a, b) => compareTail(arena, meta, a, b));
      for (let k = i; k < e; k++) out[k] = run[k - i]!;
    }
    i = e;
  }
  return out;
}

/** Byte order of tokens `a` and `b` past their (equal) first 4 bytes; a shorter token first. */
function compareTail(arena: Buffer, meta: Int32Array, a: number, b: number): number {
  const as = meta[4 * a + 2]!;
  const al = meta[4 * a + 3]!;
  const bs = meta[4 * b + 2]!;
  const bl = meta[4 * b + 3]!;
  const m = Math.min(al, bl);
  for (let k = 4; k < m; k++) {
    const d = arena[as + k]! - arena[bs + k]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

/** The same order through one latin1 string per token (`token + "\0" + 3 bytes of id`), for huge dictionaries. */
function sortTokenStrings(toks: readonly number[], arena: Buffer, meta: Int32Array): number[] {
  let bytes = 0;
  for (const t of toks) bytes += meta[4 * t + 3]! + 4;
  const buf = Buffer.allocUnsafe(bytes);
  const keys: string[] = new Array(toks.length);
  let o = 0;
  for (let j = 0; j < toks.length; j++) {
    const t = toks[j]!;
    const start = o;
    const s = meta[4 * t + 2]!;
    const e = s + meta[4 * t + 3]!;
    for (let k = s; k < e; k++) buf[o++] = arena[k]!;
    buf[o++] = 0;
    buf[o++] = t >>> 16;
    buf[o++] = (t >>> 8) & 0xff;
    buf[o++] = t & 0xff;
    keys[j] = buf.toString('latin1', start, o);
  }
  keys.sort();
  const out: number[] = new Array(keys.length);
  for (let j = 0; j < keys.length; j++) {
    const x = keys[j]!;
    const l = x.length;
    out[j] = (x.charCodeAt(l - 3) << 16) | (x.charCodeAt(l - 2) << 8) | x.charCodeAt(l - 1);
  }
  return out;
}

/** The stable time order of the first `n` logs (timeOrder) and their times in that order. */
function byTime(times: Uint32Array, n: number): { order: Uint32Array; sorted: Uint32Array } {
  const order = timeOrder(times, n);
  const sorted = new Uint32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = times[order[i]!]!;
  return { order, sorted };
}

/** Indexes of `names` in ascending (UTF-16) name order. */
function namesOrder(names: readonly string[]): number[] {
  return names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
}

function isAscii(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * parseNumber over ASCII bytes. Plain digits (with one '.' for a double) of at most 15 digits are computed directly:
 * both the integer mantissa and the power of ten are exact doubles, so their quotient is correctly rounded, the same
 * double `Number()` gives. Anything else goes through parseNumber.
 */
function numberOf(buf: Uint8Array, s: number, e: number, long: boolean): number | undefined {
  let m = 0;
  let digits = 0;
  let dot = -1;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0 && !long) dot = i;
    else return parseNumber(latin1(buf, s, e), long ? 'long' : 'double');
  }
  if (digits === 0 || digits > 15) return parseNumber(latin1(buf, s, e), long ? 'long' : 'double');
  return dot < 0 ? m : m / POW10[e - dot - 1]!;
}

function latin1(buf: Uint8Array, s: number, e: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1');
}

function growI32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a.subarray(0, Math.min(a.length, size)));
  return b;
}
