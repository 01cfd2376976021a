/*
 * The rows of a search page, read from a segment's row groups in C++ (src/storage/segment/native-rows.ts; the JS
 * RowGroup path of segment-reader.ts stays the reference and the fallback, and a differential test checks both give
 * the same rows).
 *
 * Why native: a page of a rare term is one row from each of ~85 row groups. In JS each group cost an fs.read on the
 * thread pool (a thread woken per group), a RowGroup object, two zstd calls and a walk of every column's cells up to
 * the row, all running unoptimized for the first dozens of queries after a start while V8 compiled them on the other
 * core: ~85 % of a distinct needle's CPU. Here a job on the thread pool takes the groups of every segment of the page
 * (SegmentReader.pageRows splits a page into at most a job per core): it asks the kernel to read every group ahead
 * (POSIX_FADV_WILLNEED, so groups the page cache lost come from the disk side by side), then reads, decodes and walks
 * them, and the event loop only turns the cells into strings.
 *
 * Group layout (formats 3 and 4, segment-format.ts): varint(section length) per column, a bit mask of the columns in
 * the wide frame, varint(compressed length) of the narrow and of the wide frame, then the two zstd frames (against
 * the segment's dictionary in format 4); a frame is its columns' sections in column order, a section one cell per
 * row (varint(len + 1) + UTF-8, 0 = absent; rows past its end are absent).
 */
#include <node_api.h>

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace {

/** A sanity bound on a segment's column count (a key per column: thousands are possible). */
constexpr int MAX_COLUMNS = 1 << 24;
/** A group, a section or a frame longer than this is damaged (groups hold at most 128 rows). */
constexpr uint64_t MAX_SECTION = 1u << 30;

struct Dict {
  ZSTD_DDict* ddict = nullptr;
};

/** A cell of an output row: column, and where its bytes are in the job's arena. */
struct Cell {
  uint32_t column;
  uint32_t at;
  uint32_t len;
};

struct Job {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  /** Per segment of the job: its descriptor, its column count, its dictionary (and a reference keeping it alive). */
  std::vector<int> fds;
  std::vector<uint32_t> columns;
  std::vector<const ZSTD_DDict*> ddicts;
  std::vector<napi_ref> dicts;
  /** The largest column count of the job's segments (the walk's per-column scratch). */
  uint32_t maxColumns = 0;
  /** Per group: segment (index into fds), offset, length, rows asked. */
  std::vector<double> plan;
  /** Row within its group of every output row, group by group (ascending within a group). */
  std::vector<uint8_t> ats;
  /** Per output row, its first cell in `cells` (rows + 1 entries). */
  std::vector<uint32_t> rowStart;
  std::vector<Cell> cells;
  std::string arena;
  std::string error;
};

thread_local ZSTD_DCtx* dctx = nullptr;

bool varint(const uint8_t* p, size_t end, size_t& pos, uint64_t& out) {
  uint64_t x = 0;
  for (int shift = 0; shift < 63; shift += 7) {
    if (pos >= end) return false;
    uint8_t c = p[pos++];
    x |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (c < 0x80) {
      out = x;
      return true;
    }
  }
  return false;
}

bool readAll(int fd, uint8_t* buf, size_t len, off_t off, std::string& error) {
  size_t done = 0;
  while (done < len) {
    ssize_t got = pread(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      error = std::string("reading a row group: ") + strerror(errno);
      return false;
    }
    if (got == 0) {
      error = "row group at " + std::to_string(off) + " is truncated at " + std::to_string(off + done);
      return false;
    }
    done += static_cast<size_t>(got);
  }
  return true;
}

/** Reads, decodes and walks one group; appends its asked rows' cells. */
bool readGroup(Job& j, size_t g, size_t& atPos, std::vector<uint8_t>& in, std::vector<uint8_t> (&frames)[2],
               std::vector<uint64_t>& lens, std::vector<uint8_t>& frameOf, std::vector<uint64_t>& from,
               std::vector<size_t>& at, std::vector<uint32_t>& row) {
  const size_t seg = static_cast<size_t>(j.plan[4 * g]);
  const off_t off = static_cast<off_t>(j.plan[4 * g + 1]);
  const size_t len = static_cast<size_t>(j.plan[4 * g + 2]);
  const size_t count = static_cast<size_t>(j.plan[4 * g + 3]);
  const ZSTD_DDict* ddict = j.ddicts[seg];
  // Fails the job with `what` about this group (the message is only built on failure: this runs per group).
  auto fail = [&](const std::string& what) {
    j.error = "row group at " + std::to_string(off) + what;
    return false;
  };
  if (len > MAX_SECTION) return fail(" is " + std::to_string(len) + " bytes long");
  in.resize(len);
  if (!readAll(j.fds[seg], in.data(), len, off, j.error)) return false;
  const uint8_t* p = in.data();
  size_t pos = 0;
  const uint32_t C = j.columns[seg];
  uint64_t raw[2] = {0, 0};
  for (uint32_t c = 0; c < C; c++)
    if (!varint(p, len, pos, lens[c]) || lens[c] > MAX_SECTION)
      return fail(" has a malformed header");
  const size_t mask = pos;
  pos += (C + 7) / 8;
  if (pos > len) return fail(" has a malformed header");
  for (uint32_t c = 0; c < C; c++) {
    const uint8_t f = (p[mask + (c >> 3)] >> (c & 7)) & 1;
    frameOf[c] = f;
    from[c] = raw[f];
    raw[f] += lens[c];
  }
  uint64_t clen[2];
  for (int f = 0; f < 2; f++)
    if (!varint(p, len, pos, clen[f]) || clen[f] > len) return fail(" has a malformed header");
  if (pos + clen[0] + clen[1] != len)
    return fail(": frames end at " + std::to_string(pos + clen[0] + clen[1]) + ", not " + std::to_string(len));
  for (int f = 0; f < 2; f++) {
    if (raw[f] == 0) {
      pos += clen[f];
      continue;
    }
    // The frame's own header states its size (zstd-napi writes it): checked before allocating for it.
    const unsigned long long stated = ZSTD_getFrameContentSize(p + pos, clen[f]);
    if (raw[f] > MAX_SECTION || stated == ZSTD_CONTENTSIZE_ERROR ||
        (stated != ZSTD_CONTENTSIZE_UNKNOWN && stated != raw[f]))
      return fail(" has a malformed header");
    frames[f].resize(raw[f]);
    const size_t n = ddict ? ZSTD_decompress_usingDDict(dctx, frames[f].data(), raw[f], p + pos, clen[f], ddict)
                             : ZSTD_decompressDCtx(dctx, frames[f].data(), raw[f], p + pos, clen[f]);
    if (ZSTD_isError(n)) return fail(std::string(": ") + ZSTD_getErrorName(n));
    if (n != raw[f])
      return fail(": frame decoded to " + std::to_string(n) + " bytes, not " + std::to_string(raw[f]));
    pos += clen[f];
  }
  // Rows in order (ascending within the group), each column's cursor moving forward only: every column's cells are
  // walked once for all the asked rows, and a row's cells come out in column order.
  for (uint32_t c = 0; c < C; c++) {
    at[c] = 0;
    row[c] = 0;
  }
  for (size_t k = 0; k < count; k++) {
    const uint32_t want = j.ats[atPos + k];
    for (uint32_t c = 0; c < C; c++) {
      const size_t end = lens[c];
      if (end == 0) continue;
      const uint8_t* s = frames[frameOf[c]].data() + from[c];
      size_t a = at[c];
      uint32_t r = row[c];
      uint64_t l;
      while (r < want && a < end) {
        if (!varint(s, end, a, l) || (l > 0 && l - 1 > end - a)) return fail(" has a malformed cell");
        if (l > 0) a += l - 1;
        r++;
      }
      at[c] = a;
      row[c] = r;
      if (a >= end) continue;
      size_t q = a;
      if (!varint(s, end, q, l)) return fail(" has a malformed cell");
      if (l == 0) continue;
      if (l - 1 > end - q) return fail(" has a malformed cell");
      if (j.arena.size() + (l - 1) > UINT32_MAX) return j.error = "a page of over 4 GB of cells", false;
      j.cells.push_back({c, static_cast<uint32_t>(j.arena.size()), static_cast<uint32_t>(l - 1)});
      j.arena.append(reinterpret_cast<const char*>(s + q), l - 1);
    }
    j.rowStart.push_back(static_cast<uint32_t>(j.cells.size()));
  }
  atPos += count;
  return true;
}

void Execute(napi_env, void* data) {
  Job& j = *static_cast<Job*>(data);
  if (!dctx) dctx = ZSTD_createDCtx();
  if (!dctx) {
    j.error = "out of memory for a zstd context";
    return;
  }
  const size_t groups = j.plan.size() / 4;
  // Every group's bytes are asked for first: those the page cache lost are then read from the disk side by side.
  for (size_t g = 0; g < groups; g++)
    posix_fadvise(j.fds[static_cast<size_t>(j.plan[4 * g])], static_cast<off_t>(j.plan[4 * g + 1]),
                  static_cast<off_t>(j.plan[4 * g + 2]), POSIX_FADV_WILLNEED);
  std::vector<uint8_t> in;
  std::vector<uint8_t> frames[2];
  std::vector<uint64_t> lens(j.maxColumns), from(j.maxColumns);
  std::vector<uint8_t> frameOf(j.maxColumns);
  std::vector<size_t> at(j.maxColumns);
  std::vector<uint32_t> row(j.maxColumns);
  j.rowStart.assign(1, 0);
  size_t atPos = 0;
  try {
    for (size_t g = 0; g < groups; g++)
      if (!readGroup(j, g, atPos, in, frames, lens, frameOf, from, at, row)) return;
  } catch (const std::bad_alloc&) {
    j.error = "out of memory reading the row groups of a page";
  }
}

/**
 * The job's cells for JS: `meta` is a Uint32Array [rows, cells, rowStart (rows + 1), column (cells), at (cells + 1)],
 * row k's cells being [rowStart[k], rowStart[k + 1]) and cell i's bytes [at[i], at[i + 1]) of the job's arena;
 * `rows[k]` is row k's cells as one string when they are all ASCII (cell i is then its slice from
 * at[i] - at[rowStart[k]]), else an array of one string per cell. An N-API call per cell cost more than the rest of
 * the read; one string per page would make every cached row keep the whole page's text alive.
 */
napi_value Result(napi_env env, Job& j) {
  const size_t rows = j.rowStart.size() - 1;
  const size_t cells = j.cells.size();
  const size_t words = 2 + (rows + 1) + cells + (cells + 1);
  napi_value buffer, meta, result, texts;
  void* data;
  napi_create_arraybuffer(env, words * 4, &data, &buffer);
  uint32_t* m = static_cast<uint32_t*>(data);
  m[0] = static_cast<uint32_t>(rows);
  m[1] = static_cast<uint32_t>(cells);
  std::memcpy(m + 2, j.rowStart.data(), (rows + 1) * 4);
  uint32_t* col = m + 2 + rows + 1;
  uint32_t* at = col + cells;
  for (size_t i = 0; i < cells; i++) {
    col[i] = j.cells[i].column;
    at[i] = j.cells[i].at;
  }
  at[cells] = static_cast<uint32_t>(j.arena.size());
  napi_create_typedarray(env, napi_uint32_array, words, buffer, 0, &meta);
  napi_create_array_with_length(env, rows, &texts);
  const char* arena = j.arena.data();
  for (size_t k = 0; k < rows; k++) {
    const uint32_t first = j.rowStart[k], last = j.rowStart[k + 1];
    const uint32_t from = at[first], to = at[last];
    bool ascii = true;
    for (uint32_t b = from; b < to && ascii; b++) ascii = static_cast<unsigned char>(arena[b]) < 0x80;
    napi_value row;
    if (ascii) {
      napi_create_string_latin1(env, arena + from, to - from, &row);
    } else {
      napi_create_array_with_length(env, last - first, &row);
      for (uint32_t i = first; i < last; i++) {
        napi_value v;
        napi_create_string_utf8(env, arena + at[i], at[i + 1] - at[i], &v);
        napi_set_element(env, row, i - first, v);
      }
    }
    napi_set_element(env, texts, static_cast<uint32_t>(k), row);
  }
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "meta", meta);
  napi_set_named_property(env, result, "rows", texts);
  return result;
}

void Complete(napi_env env, napi_status status, void* data) {
  Job* j = static_cast<Job*>(data);
  if (status == napi_ok && j->error.empty()) {
    napi_resolve_deferred(env, j->deferred, Result(env, *j));
  } else {
    napi_value msg, err;
    const std::string text = j->error.empty() ? "row read cancelled" : j->error;
    napi_create_string_utf8(env, text.data(), text.size(), &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, j->deferred, err);
  }
  for (napi_ref r : j->dicts)
    if (r) napi_delete_reference(env, r);
  napi_delete_async_work(env, j->work);
  delete j;
}

napi_value throwError(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return nullptr;
}

void DictFinalize(napi_env, void* data, void*) {
  Dict* d = static_cast<Dict*>(data);
  ZSTD_freeDDict(d->ddict);
  delete d;
}

/** new GroupDict(raw: Uint8Array): a segment's raw-content dictionary, digested once. */
napi_value DictNew(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  napi_get_cb_info(env, info, &argc, argv, &self, nullptr);
  bool is = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is) != napi_ok || !is)
    return throwError(env, "GroupDict(raw): raw must be a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void* bytes;
  napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, nullptr, nullptr);
  if (type != napi_uint8_array) return throwError(env, "GroupDict(raw): raw must be a Uint8Array");
  Dict* d = new Dict();
  d->ddict = ZSTD_createDDict(bytes, length);
  if (!d->ddict) {
    delete d;
    return throwError(env, "GroupDict(raw): not a zstd dictionary");
  }
  napi_wrap(env, self, d, DictFinalize, nullptr, nullptr);
  return self;
}

/**
 * readRows(fds: Int32Array, columns: Uint32Array, dicts: (GroupDict | null)[], plan: Float64Array, ats: Uint8Array):
 * Promise of the asked rows' cells, in `ats` order (see Result). The job reads groups of one or more segments:
 * segment i is fds[i] with columns[i] columns and dictionary dicts[i]; `plan` holds [segment, offset, length, rows
 * asked] per group. A page's groups of every segment in one or a few jobs: a job per segment woke a pool thread per
 * segment while the event loop was still planning the others, and on two cores those threads took its core.
 */
napi_value ReadRows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 5) return throwError(env, "readRows(fds, columns, dicts, plan, ats)");
  napi_typedarray_type ft, ct, pt, at;
  size_t flen, clen, plen, alen;
  void *fdata, *cdata, *pdata, *adata;
  bool is = false;
  if (napi_is_typedarray(env, argv[0], &is) != napi_ok || !is) return throwError(env, "readRows: bad fds");
  napi_get_typedarray_info(env, argv[0], &ft, &flen, &fdata, nullptr, nullptr);
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is) return throwError(env, "readRows: bad columns");
  napi_get_typedarray_info(env, argv[1], &ct, &clen, &cdata, nullptr, nullptr);
  if (ft != napi_int32_array || ct != napi_uint32_array || clen != flen)
    return throwError(env, "readRows: fds must be an Int32Array and columns a Uint32Array of the same length");
  uint32_t dlen = 0;
  if (napi_is_array(env, argv[2], &is) != napi_ok || !is || napi_get_array_length(env, argv[2], &dlen) != napi_ok ||
      dlen != flen)
    return throwError(env, "readRows: dicts must be an array as long as fds");
  if (napi_is_typedarray(env, argv[3], &is) != napi_ok || !is) return throwError(env, "readRows: bad plan");
  napi_get_typedarray_info(env, argv[3], &pt, &plen, &pdata, nullptr, nullptr);
  if (napi_is_typedarray(env, argv[4], &is) != napi_ok || !is) return throwError(env, "readRows: bad ats");
  napi_get_typedarray_info(env, argv[4], &at, &alen, &adata, nullptr, nullptr);
  if (pt != napi_float64_array || plen % 4 != 0 || at != napi_uint8_array)
    return throwError(env, "readRows: plan must be a Float64Array of quadruples and ats a Uint8Array");
  const int32_t* fds = static_cast<const int32_t*>(fdata);
  const uint32_t* cols = static_cast<const uint32_t*>(cdata);
  for (size_t i = 0; i < flen; i++) {
    if (fds[i] < 0) return throwError(env, "readRows: bad fd");
    if (cols[i] > static_cast<uint32_t>(MAX_COLUMNS)) return throwError(env, "readRows: bad column count");
  }
  const double* plan = static_cast<const double*>(pdata);
  double asked = 0;
  for (size_t g = 0; g < plen / 4; g++) {
    const double seg = plan[4 * g];
    if (!(seg >= 0) || !(seg < static_cast<double>(flen)) || seg != static_cast<double>(static_cast<size_t>(seg)) ||
        !(plan[4 * g + 1] >= 0) || !(plan[4 * g + 2] >= 0) || !(plan[4 * g + 3] >= 0))
      return throwError(env, "readRows: bad plan entry");
    asked += plan[4 * g + 3];
  }
  if (asked != static_cast<double>(alen)) return throwError(env, "readRows: plan and ats disagree");
  std::vector<const ZSTD_DDict*> ddicts(flen, nullptr);
  std::vector<bool> hasDict(flen, false);
  for (uint32_t i = 0; i < dlen; i++) {
    napi_value d;
    napi_valuetype dt;
    napi_get_element(env, argv[2], i, &d);
    napi_typeof(env, d, &dt);
    if (dt == napi_object) {
      Dict* dict = nullptr;
      if (napi_unwrap(env, d, reinterpret_cast<void**>(&dict)) != napi_ok || !dict)
        return throwError(env, "readRows: each dict must be a GroupDict or null");
      ddicts[i] = dict->ddict;
      hasDict[i] = true;
    } else if (dt != napi_null && dt != napi_undefined) {
      return throwError(env, "readRows: each dict must be a GroupDict or null");
    }
  }

  Job* j = new Job();
  j->fds.assign(fds, fds + flen);
  j->columns.assign(cols, cols + flen);
  for (size_t i = 0; i < flen; i++)
    if (cols[i] > j->maxColumns) j->maxColumns = cols[i];
  j->ddicts = std::move(ddicts);
  j->dicts.assign(flen, nullptr);
  for (uint32_t i = 0; i < dlen; i++)
    if (hasDict[i]) {
      napi_value d;
      napi_get_element(env, argv[2], i, &d);
      napi_create_reference(env, d, 1, &j->dicts[i]);
    }
  j->plan.assign(plan, plan + plen);
  j->ats.assign(static_cast<const uint8_t*>(adata), static_cast<const uint8_t*>(adata) + alen);
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "sluice:readRows", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, Execute, Complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

/** willNeed(fd, ranges: Float64Array [offset, length] pairs): posix_fadvise(WILLNEED) of each, for read-ahead. */
napi_value WillNeed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd;
  bool is = false;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    return throwError(env, "willNeed(fd, ranges): bad fd");
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is) return throwError(env, "willNeed: bad ranges");
  napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr);
  if (type != napi_float64_array || length % 2 != 0)
    return throwError(env, "willNeed: ranges must be a Float64Array of pairs");
  const double* r = static_cast<const double*>(data);
  for (size_t i = 0; i < length; i += 2)
    if (r[i] >= 0 && r[i + 1] > 0)
      posix_fadvise(fd, static_cast<off_t>(r[i]), static_cast<off_t>(r[i + 1]), POSIX_FADV_WILLNEED);
  return nullptr;
}

}  // namespace

/** Adds GroupDict, readRows and willNeed to the addon's exports (build.cc's Init calls it). */
void InitRows(napi_env env, napi_value exports) {
  napi_value cls, fn;
  napi_define_class(env, "GroupDict", NAPI_AUTO_LENGTH, DictNew, nullptr, 0, nullptr, &cls);
  napi_set_named_property(env, exports, "GroupDict", cls);
  napi_create_function(env, "readRows", NAPI_AUTO_LENGTH, ReadRows, nullptr, &fn);
  napi_set_named_property(env, exports, "readRows", fn);
  napi_create_function(env, "willNeed", NAPI_AUTO_LENGTH, WillNeed, nullptr, &fn);
  napi_set_named_property(env, exports, "willNeed", fn);
}
