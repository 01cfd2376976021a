/*
 * The row build of a segment (src/index/segment-build.ts, SegmentBuild) in C++: staging serialized LogGroups, then
 * building their rows in time order into per-column cells, full-text / field tokens, numeric values and per-row token
 * lists, then the postings of every token. The JS class stays the reference: it decides when this path is used (ASCII
 * strings only, no JSON-indexed key: anything else falls back to JS for the whole build), writes the segment file
 * from what this returns, and a differential test checks that both paths write identical files.
 *
 * Why native: the JS build is byte loops over typed arrays (protobuf fields, cell copies, delimiter scans, FNV hashes
 * one multiply per byte, table probes) at ~8-10 us per nginx log; here the same work takes memcpy, memcmp and an
 * 8-bytes-per-multiply hash. One call stages a whole LogGroup and one builds a whole 128-row group, so N-API's cost
 * per call (~70 ns) is paid per group, not per value.
 *
 * Memory: the LogGroup bytes stay in the caller's buffers (the JS wrapper keeps them alive until the build is reset);
 * this keeps pointers into them. Everything else is owned here and reused across builds (reset keeps capacity).
 */
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <new>
#include <string>
#include <sys/mman.h>
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25  // Linux 6.1+; older kernels answer EINVAL and keep the hint alone
#endif
#include <unordered_map>
#include <unordered_set>
#include <vector>

void InitRows(napi_env env, napi_value exports);  // rows.cc

namespace {

constexpr int GROUP_ROWS = 128;
constexpr int MAX_TOKEN = 256;
constexpr int MAX_INDEXED_BYTES = 512 * 1024;
constexpr int VC_SLOTS = 1024;
constexpr int VC_BYTES = 128;
constexpr int VC_IDS = 48;
constexpr int MAX_CACHES = 64;
constexpr size_t DICT_BLOCK = 64;  // segment-format.ts

constexpr uint32_t TAG_LOG = (1 << 3) | 2;
constexpr uint32_t TAG_TOPIC = (3 << 3) | 2;
constexpr uint32_t TAG_SOURCE = (4 << 3) | 2;
constexpr uint32_t TAG_LOG_TAG = (6 << 3) | 2;
constexpr uint32_t TAG_TIME = (1 << 3) | 0;
constexpr uint32_t TAG_CONTENT = (2 << 3) | 2;
constexpr uint32_t TAG_KEY = (1 << 3) | 2;
constexpr uint32_t TAG_VALUE = (2 << 3) | 2;

enum FieldType { F_NONE = 0, F_TEXT = 1, F_LONG = 2, F_DOUBLE = 3 };

inline uint64_t mum(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/**
 * The `n` (< 8) bytes at `p` as a u64 whose low bytes they are (zero-padded), reading nothing past p + n. Assembled
 * in registers from overlapping loads: `uint64_t w = 0; memcpy(&w, p, n)` compiles to 4-, 2- and 1-byte stores into a
 * stack slot that an 8-byte load then reads back, a store-to-load forwarding stall on every short token or tail
 * (perf put ~10-25 % of index1's, flushBatch's and buildRows' samples on those reloads).
 */
inline uint64_t loadShort(const uint8_t* p, size_t n) {
  if (n >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + n - 4, 4);
    return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  return (uint64_t)p[0] | ((uint64_t)p[n / 2] << (8 * (n / 2))) | ((uint64_t)p[n - 1] << (8 * (n - 1)));
}

/** A fast 64-bit hash of bytes (8 bytes per multiply); only used inside one build, never stored. */
inline uint64_t hashBytes(const uint8_t* p, size_t n, uint64_t seed) {
  uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = mum(w ^ 0xa0761d6478bd642full, h ^ 0xe7037ed1a0b428dbull);
    p += 8;
    n -= 8;
  }
  return mum(loadShort(p, n) ^ 0x8ebc6af09c88c6e3ull, h ^ 0x589965cc75374cc3ull);
}

/** Protobuf reading with the rules of src/protocol/wire.ts (same accepts, same rejects). */
struct Reader {
  const uint8_t* b;
  size_t at = 0;
  const char* err = nullptr;

  /** A varint of at most 10 bytes ending before `end`; `big` when it is over 2^53 - 1 (JS's Infinity). */
  bool varint(size_t end, uint64_t& v, bool& big) {
    uint64_t r = 0;
    big = false;
    for (int i = 0; i < 10; i++) {
      if (at >= end) {
        err = "truncated varint";
        return false;
      }
      uint8_t c = b[at++];
      if (i < 9)
        r |= (uint64_t)(c & 0x7f) << (7 * i);
      else if ((c & 0x7f) != 0)
        big = true;
      if (c < 0x80) {
        if (r > 0x1FFFFFFFFFFFFFull) big = true;
        v = r;
        return true;
      }
    }
    err = "varint longer than 10 bytes";
    return false;
  }

  bool tag(size_t end, uint32_t& t) {
    uint64_t v;
    bool big;
    if (!varint(end, v, big)) return false;
    if (big || v < 8 || v > 0xffffffffull) {
      err = "invalid field tag";
      return false;
    }
    t = (uint32_t)v;
    return true;
  }

  bool lenEnd(size_t end, size_t& e) {
    uint64_t v;
    bool big;
    if (!varint(end, v, big)) return false;
    if (big || v > end - at) {
      err = "length-delimited field runs past the end of its message";
      return false;
    }
    e = at + (size_t)v;
    return true;
  }

  bool skip(uint32_t wt, size_t end) {
    uint64_t v;
    bool big;
    size_t e;
    switch (wt) {
      case 0:
        return varint(end, v, big);
      case 1:
        if (end - at < 8) {
          err = "truncated fixed64";
          return false;
        }
        at += 8;
        return true;
      case 2:
        if (!lenEnd(end, e)) return false;
        at = e;
        return true;
      case 5:
        if (end - at < 4) {
          err = "truncated fixed32";
          return false;
        }
        at += 4;
        return true;
      default:
        err = "unsupported wire type";
        return false;
    }
  }
};

inline bool asciiBytes(const uint8_t* p, size_t n) {
  if (n < 8) return (loadShort(p, n) & 0x8080808080808080ull) == 0;
  // 8-byte words, the last one ending at p + n (overlapping the one before it): no byte loop for the tail.
  uint64_t acc = 0, w;
  for (size_t i = 0; i + 8 < n; i += 8) {
    memcpy(&w, p + i, 8);
    acc |= w;
  }
  memcpy(&w, p + n - 8, 8);
  return ((acc | w) & 0x8080808080808080ull) == 0;
}

struct Delims {
  uint8_t d[256];
  bool lower;
};

struct FieldCfg {
  FieldType type;
  std::string dict;
  int delims = -1;
};

/**
 * One value cache entry: what a lookup reads first (hash, length, count, the value's first 48 bytes) in one line, the
 * line buildRows prefetches. Aligned to lines for that (384 bytes instead of 336): unaligned, most entries began
 * mid-line, so the prefetched line held only part of that head and the compare of the value waited on the next one.
 */
struct alignas(64) VSlot {
  uint64_t hash;
  int32_t len;
  int32_t count;
  uint8_t bytes[VC_BYTES];
  int32_t ids[VC_IDS];
};

struct ValueCache {
  VSlot slots[VC_SLOTS];
  int lookups = 0;
  int hits = 0;
  bool on = true;
  void clear() {
    for (int i = 0; i < VC_SLOTS; i++) slots[i].len = -1;
    lookups = 0;
    hits = 0;
    on = true;
  }
};

inline uint64_t valueHash(const uint8_t* p, size_t len) { return hashBytes(p, len, 0x2d358dccaa6c78a5ull); }
inline int valueSlot(uint64_t h) { return (int)((h ^ (h >> 29)) & (VC_SLOTS - 1)); }

struct KeyInfo {
  std::string name;
  int col = -1;
  bool line = false;
  FieldType type = F_NONE;
  const FieldCfg* field = nullptr;
  int dict = -1;
  bool json = false;
  ValueCache* cache = nullptr;
};

struct Tag {
  int col;
  size_t ks, ke, vs, ve;
};

struct Group {
  const uint8_t* buf;
  int64_t topicS = -1, topicE = -1, sourceS = -1, sourceE = -1;
  int topicCol = -1, sourceCol = -1;
  std::vector<Tag> tags;
  int topicTok = -1, sourceTok = -1;
  std::vector<int> tagToks;
  bool tagToksSet = false;
};

struct Token {
  int dict;
  int start;
  int len;  // -1: numeric
};

/** A text token with its sort key: its first 8 bytes, big-endian, zero-padded (see Finish). */
struct KeyedToken {
  uint64_t key;
  int32_t tok;
};

/** `v`'s bytes reversed on little-endian hosts: a u64 loaded from memory then compares as the bytes do. */
inline uint64_t bigEndian64(uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return v;
#else
  return __builtin_bswap64(v);
#endif
}

/** Per token: the last row that holds it and how many rows do (apart from Token: touched once per occurrence). */
struct RowState {
  int32_t lastRow;
  int32_t count;
};

/**
 * A token table slot (32 bytes, one probe one cache line): the hash, the token's first 8 bytes (zero-padded), its
 * dictionary and length, so a token of at most 8 bytes is matched without reading the arena.
 */
struct Slot {
  uint64_t hash;
  uint64_t prefix;
  int32_t tok1;  // token + 1, 0 = empty
  int32_t start;
  int32_t dict;
  int32_t len;
};

inline uint64_t prefix8(const uint8_t* p, size_t len) {
  if (len < 8) return loadShort(p, len);
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/**
 * A numeric dictionary's values: open addressing over the doubles' bits (std::unordered_map measured ~3% of a
 * loading server's CPU: a division per lookup and a node per entry).
 */
struct NumMap {
  std::vector<uint64_t> keys;
  std::vector<int32_t> toks;  // token + 1, 0 = empty
  size_t count = 0;

  static inline uint64_t bits(double v) {
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
  }

  /** Token of `v` (never -0: callers pass +0), or -1 with `slot` where to insert it. */
  inline int find(double v, size_t& slot) const {
    uint64_t b = bits(v);
    size_t mask = keys.size() - 1;
    size_t q = mum(b, 0x9E3779B97F4A7C15ull) & mask;
    while (toks[q] != 0) {
      if (keys[q] == b) return toks[q] - 1;
      q = (q + 1) & mask;
    }
    slot = q;
    return -1;
  }

  void insert(size_t slot, double v, int tok) {
    keys[slot] = bits(v);
    toks[slot] = tok + 1;
    if (++count * 2 > keys.size()) grow();
  }

  void grow() {
    std::vector<uint64_t> k(keys.size() * 2);
    std::vector<int32_t> t(keys.size() * 2, 0);
    size_t mask = k.size() - 1;
    for (size_t i = 0; i < keys.size(); i++) {
      if (toks[i] == 0) continue;
      size_t q = mum(keys[i], 0x9E3779B97F4A7C15ull) & mask;
      while (t[q] != 0) q = (q + 1) & mask;
      k[q] = keys[i];
      t[q] = toks[i];
    }
    keys.swap(k);
    toks.swap(t);
  }

  NumMap() : keys(64), toks(64, 0) {}
};

struct Dict {
  std::string name;
  bool numeric;
  NumMap nums;
};

/**
 * An allocator of transparent huge pages for the tables that rows reach at random (the token table, the staged
 * contents and log refs): from 2 MB up, 2 MB-aligned and madvise(MADV_HUGEPAGE)'d, so that a row's random reads miss
 * the TLB less (rows are built in time order, their logs staged in arrival order; nested paging makes a VM's TLB
 * misses dear). Below 2 MB, or where the hint does not exist, plain memory. Native-only A/B: ~6 % less CPU per log.
 */
template <typename T>
struct HugeAlloc {
  using value_type = T;
  static constexpr size_t HUGE_PAGE = 2u << 20;
  HugeAlloc() = default;
  template <typename U>
  HugeAlloc(const HugeAlloc<U>&) {}
  T* allocate(size_t count) {
    size_t bytes = count * sizeof(T);
    void* p;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_PAGE) {
      bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
      p = aligned_alloc(HUGE_PAGE, bytes);
      if (p) madvise(p, bytes, MADV_HUGEPAGE);
    } else
#endif
      p = aligned_alloc(alignof(T) > 16 ? alignof(T) : 16, (bytes + 15) & ~(size_t)15);
    if (!p) throw std::bad_alloc();
    return (T*)p;
  }
  void deallocate(T* p, size_t) { free(p); }
  template <typename U>
  bool operator==(const HugeAlloc<U>&) const { return true; }
  template <typename U>
  bool operator!=(const HugeAlloc<U>&) const { return false; }
};
template <typename T>
using HugeVector = std::vector<T, HugeAlloc<T>>;

/**
 * push_back growing by a quarter, not doubling: builds keep their vectors' capacity for the next build, so capacity is
 * what stays resident per builder thread.
 */
template <typename V, typename T>
inline void pushGrow(V& v, const T& x) {
  if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 1024);
  v.push_back(x);
}

/** A growable byte buffer that keeps its capacity across resets. */
struct Bytes {
  std::vector<uint8_t> v;
  size_t n = 0;
  inline uint8_t* reserve(size_t extra) {
    if (n + extra > v.size()) v.resize(std::max(v.size() * 2, n + extra + 64));
    return v.data() + n;
  }
  inline void varint(uint64_t x) {
    uint8_t* o = reserve(10);
    size_t k = 0;
    while (x >= 0x80) {
      o[k++] = (uint8_t)(x | 0x80);
      x >>= 7;
    }
    o[k++] = (uint8_t)x;
    n += k;
  }
};

class Build {
 public:
  // Config.
  bool hasLine = false;
  int lineDelims = -1;
  bool lineInclude = false;
  std::unordered_set<std::string> include, exclude;
  std::unordered_map<std::string, FieldCfg> fields;
  std::unordered_set<std::string> jsonKeys;
  std::vector<Delims> delims;

  // Staging.
  int n = 0;
  std::vector<uint32_t> times;
  /** Per staged log (arrival order): its group and its staged contents [first, end). */
  struct LogRef {
    int32_t group, first, end;
  };
  /** Per staged content: its value's bytes in its group's buffer (vs = -1: no value) and its key (infos index). */
  struct Staged {
    int32_t vs, ve, info;
  };
  HugeVector<LogRef> logRefs;
  HugeVector<Staged> staged;
  std::vector<Group> groups;
  std::vector<KeyInfo> infos;
  std::unordered_map<std::string, int> keyIds;
  std::vector<std::pair<std::string, int>> memo;
  std::vector<ValueCache*> cachePool;
  int cachesUsed = 0;
  std::unordered_map<std::string, ValueCache*> cacheByKey;

  // Per-group parse scratch.
  std::vector<size_t> cKS, cKE, cVS, cVE;
  std::vector<uint32_t> logTime;
  std::vector<int> logFirst, cInfo;

  // Columns.
  std::vector<std::string> colNames;
  std::unordered_map<std::string, int> colIds;
  std::vector<Bytes> colData;
  std::vector<std::vector<int32_t>> colStart;
  std::vector<int> colLast;
  int groupBase = 0;
  int built = 0;  // rows built so far
  bool pendingOut = false;

  // Dictionaries and tokens.
  std::vector<Dict> dicts;
  std::unordered_map<std::string, int> dictIds;
  std::vector<Token> toks;
  std::vector<uint8_t> arena;
  size_t arenaUsed = 0;
  std::vector<RowState> rs;
  HugeVector<Slot> slots;
  size_t slotMask = 0;
  std::vector<int32_t> occ;
  std::vector<int32_t> rowOcc;
  /** Row ids per token when finish() gets no scratch large enough. */
  std::vector<uint32_t> postBuf;
  /** finish()'s outputs, handed to JS as views (valid until the next reset or finish). */
  std::vector<int32_t> outTokStart, outTokLen, outEncStart, outPst;
  std::vector<uint8_t> outEnc;
  /** finish()'s bitsets of the dense tokens (see Finish), one after the other. */
  std::vector<uint8_t> denseBits;
  /** The token sort's buckets (by a token's first two bytes) and its output (see Finish). */
  std::vector<uint32_t> sortStart, sortAt;
  std::vector<KeyedToken> sortOut;
  int row = 0;
  /** The caller's buffer last given huge pages (see hugeBacking). */
  void* advisedBase = nullptr;
  size_t advisedLen = 0;

  Build() {
    slots.assign(1 << 15, Slot{});
    slotMask = (1 << 15) - 1;
    arena.resize(1 << 16);
  }

  ~Build() {
    for (ValueCache* c : cachePool) delete c;
  }

  void reset() {
    n = 0;
    times.clear();
    logRefs.clear();
    staged.clear();
    groups.clear();
    infos.clear();
    keyIds.clear();
    memo.clear();
    for (int i = 0; i < cachesUsed; i++) cachePool[i]->clear();
    cachesUsed = 0;
    cacheByKey.clear();
    colNames.clear();
    colIds.clear();
    for (Bytes& b : colData) b.n = 0;
    colLast.clear();
    groupBase = 0;
    built = 0;
    pendingOut = false;
    dicts.clear();
    dictIds.clear();
    toks.clear();
    rs.clear();
    arenaUsed = 0;
    for (Slot& sl : slots) sl.tok1 = 0;
    occ.clear();
    rowOcc.clear();
    row = 0;
    lineDictId = -1;
  }

  // --- staging ---

  int keyInfo(const uint8_t* buf, int64_t ks, int64_t ke, size_t slot) {
    size_t len = ks < 0 ? 0 : (size_t)(ke - ks);
    const uint8_t* kp = ks < 0 ? buf : buf + ks;
    if (slot < memo.size()) {
      const auto& m = memo[slot];
      if (m.first.size() == len && memcmp(m.first.data(), kp, len) == 0) return m.second;
    }
    std::string name((const char*)kp, len);
    int idx;
    auto it = keyIds.find(name);
    if (it != keyIds.end())
      idx = it->second;
    else {
      KeyInfo info;
      info.name = name;
      auto f = fields.find(name);
      info.line = hasLine && (lineInclude ? include.count(name) > 0 : exclude.count(name) == 0);
      if (f != fields.end()) {
        info.field = &f->second;
        info.type = f->second.type;
      }
      info.json = info.field == nullptr && jsonKeys.count(name) > 0;
      if ((info.line || info.field) && !info.json) {
        auto c = cacheByKey.find(name);
        if (c != cacheByKey.end())
          info.cache = c->second;
        else if (cachesUsed < MAX_CACHES) {
          if ((size_t)cachesUsed == cachePool.size()) {
            ValueCache* vc = new ValueCache();
            vc->clear();
            cachePool.push_back(vc);
          }
          info.cache = cachePool[cachesUsed++];
          cacheByKey.emplace(name, info.cache);
        }
      }
      idx = (int)infos.size();
      infos.push_back(std::move(info));
      keyIds.emplace(std::move(name), idx);
    }
    if (slot < 256) {
      if (slot >= memo.size()) memo.resize(slot + 1);
      memo[slot].first.assign((const char*)kp, len);
      memo[slot].second = idx;
    }
    return idx;
  }

  int colId(const std::string& name) {
    auto it = colIds.find(name);
    if (it != colIds.end()) return it->second;
    int c = (int)colNames.size();
    colIds.emplace(name, c);
    colNames.push_back(name);
    if ((size_t)c >= colData.size()) {
      colData.emplace_back();
      colStart.emplace_back(GROUP_ROWS, -1);
    } else {
      colData[c].n = 0;
      std::fill(colStart[c].begin(), colStart[c].end(), -1);
    }
    colLast.push_back(groupBase - 1);
    return c;
  }

  /**
   * Reads log `l` of a group (its bytes up to `le`, from r.at): its time and its contents' key and value bounds (and
   * the keys' KeyInfos) into the per-group scratch. False with r.err set when malformed.
   */
  bool parseLog(Reader& r, const uint8_t* buf, size_t le, size_t l, size_t& contents, bool& ascii, bool& json) {
    if (logFirst.size() < l + 2) logFirst.resize(l * 2 + 64);
    if (logTime.size() < l + 1) logTime.resize(l * 2 + 64);
    uint32_t t;
    uint32_t time = 0;
    logFirst[l] = (int)contents;
    while (r.at < le) {
      if (!r.tag(le, t)) return false;
      if (t == TAG_CONTENT) {
        size_t ce;
        if (!r.lenEnd(le, ce)) return false;
        if (contents >= cKS.size()) {
          size_t size = contents * 2 + 256;
          cKS.resize(size);
          cKE.resize(size);
          cVS.resize(size);
          cVE.resize(size);
          cInfo.resize(size);
        }
        int64_t ks = -1, ke = -1, vs = -1, ve = -1;
        while (r.at < ce) {
          uint32_t u;
          if (!r.tag(ce, u)) return false;
          if (u == TAG_KEY) {
            size_t x;
            if (!r.lenEnd(ce, x)) return false;
            ks = (int64_t)r.at;
            ke = (int64_t)x;
            r.at = x;
          } else if (u == TAG_VALUE) {
            size_t x;
            if (!r.lenEnd(ce, x)) return false;
            vs = (int64_t)r.at;
            ve = (int64_t)x;
            r.at = x;
          } else if (!r.skip(u & 7, ce))
            return false;
        }
        cKS[contents] = (size_t)ks;
        cKE[contents] = (size_t)ke;
        cVS[contents] = (size_t)vs;
        cVE[contents] = (size_t)ve;
        cInfo[contents] = keyInfo(buf, ks, ks < 0 ? -1 : ke, contents - (size_t)logFirst[l]);
        json = json || infos[cInfo[contents]].json;
        if (ks >= 0) ascii = ascii && asciiBytes(buf + ks, (size_t)(ke - ks));
        if (vs >= 0) ascii = ascii && asciiBytes(buf + vs, (size_t)(ve - vs));
        contents++;
        r.at = ce;
      } else if (t == TAG_TIME) {
        uint64_t v;
        bool big;
        if (!r.varint(le, v, big)) return false;
        time = big ? 0 : (uint32_t)(v & 0xffffffffull);
      } else if (!r.skip(t & 7, le))
        return false;
    }
    logTime[l] = time;
    return true;
  }

  /**
   * Stages one LogGroup. Returns the logs staged, -1 when the group needs the JS path (a non-ASCII string or a
   * JSON-indexed key; nothing staged), or -2 with `err` set when the bytes are malformed (nothing staged).
   */
  int addGroup(const uint8_t* buf, size_t end, const char*& err) {
    Reader r{buf};
    int64_t topicS = -1, topicE = -1, sourceS = -1, sourceE = -1;
    std::vector<Tag> tags;
    size_t logs = 0, contents = 0;
    bool ascii = true, json = false;
    uint32_t t;
    size_t e;
    while (r.at < end) {
      if (!r.tag(end, t)) goto bad;
      if (t == TAG_LOG) {
        if (!r.lenEnd(end, e)) goto bad;
        // Read as it is met: one pass over the group's bytes (larger than L2), not one for the logs' bounds and
        // another for their contents.
        if (!parseLog(r, buf, e, logs, contents, ascii, json)) goto bad;
        logs++;
        r.at = e;
      } else if (t == TAG_TOPIC || t == TAG_SOURCE) {
        if (!r.lenEnd(end, e)) goto bad;
        if (t == TAG_TOPIC) {
          topicS = (int64_t)r.at;
          topicE = (int64_t)e;
        } else {
          sourceS = (int64_t)r.at;
          sourceE = (int64_t)e;
        }
        ascii = ascii && asciiBytes(buf + r.at, e - r.at);
        r.at = e;
      } else if (t == TAG_LOG_TAG) {
        if (!r.lenEnd(end, e)) goto bad;
        Tag tag{-1, 0, 0, 0, 0};
        while (r.at < e) {
          uint32_t u;
          if (!r.tag(e, u)) goto bad;
          if (u == TAG_KEY || u == TAG_VALUE) {
            size_t ve;
            if (!r.lenEnd(e, ve)) goto bad;
            if (u == TAG_KEY) {
              tag.ks = r.at;
              tag.ke = ve;
            } else {
              tag.vs = r.at;
              tag.ve = ve;
            }
            r.at = ve;
          } else if (!r.skip(u & 7, e))
            goto bad;
        }
        tags.push_back(tag);
        r.at = e;
      } else if (!r.skip(t & 7, end))
        goto bad;
    }
    if (logFirst.size() < logs + 1) logFirst.resize(logs + 1);
    logFirst[logs] = (int)contents;
    for (const Tag& tg : tags) {
      ascii = ascii && asciiBytes(buf + tg.ks, tg.ke - tg.ks) && asciiBytes(buf + tg.vs, tg.ve - tg.vs);
    }
    // (KeyInfos made for a group that is then rejected or goes to JS have no effect on the output.)
    if (!ascii || json) return -1;
    // Stage: columns created in arrival order (topic, source, the first log's keys, tags, later logs' new keys).
    {
      int g = (int)groups.size();
      Group grp;
      grp.buf = buf;
      bool hasTopic = topicS >= 0 && topicE > topicS;
      bool hasSource = sourceS >= 0 && sourceE > sourceS;
      if (hasTopic) {
        grp.topicS = topicS;
        grp.topicE = topicE;
      }
      if (hasSource) {
        grp.sourceS = sourceS;
        grp.sourceE = sourceE;
      }
      if (logs > 0) {
        if (hasTopic) grp.topicCol = colId("__topic__");
        if (hasSource) grp.sourceCol = colId("__source__");
      }
      for (size_t l = 0; l < logs; l++) {
        times.push_back(logTime[l]);
        int32_t first = (int32_t)staged.size();
        for (int c = logFirst[l], ce = logFirst[l + 1]; c < ce; c++) {
          KeyInfo& info = infos[cInfo[c]];
          if (info.col < 0) info.col = colId(info.name);
          pushGrow(staged, Staged{cVS[c] == (size_t)-1 ? -1 : (int32_t)cVS[c],
                                  cVE[c] == (size_t)-1 ? -1 : (int32_t)cVE[c], cInfo[c]});
        }
        pushGrow(logRefs, LogRef{g, first, (int32_t)staged.size()});
        if (l == 0) {
          for (Tag& tg : tags) {
            std::string name = "__tag__:";
            name.append((const char*)buf + tg.ks, tg.ke - tg.ks);
            tg.col = colId(name);
          }
        }
        n++;
      }
      if (logs > 0) {
        grp.tags = std::move(tags);
        groups.push_back(std::move(grp));
      }
    }
    return (int)logs;
  bad:
    err = r.err;
    return -2;
  }

  // --- dictionaries and tokens ---

  int dictId(const std::string& name, bool numeric) {
    std::string key = numeric ? std::string(1, '\0') + name : name;
    auto it = dictIds.find(key);
    if (it != dictIds.end()) return it->second;
    int d = (int)dicts.size();
    dicts.push_back(Dict{name, numeric, {}});
    dictIds.emplace(std::move(key), d);
    return d;
  }

  int newToken(int d, int start, int len) {
    int t = (int)toks.size();
    toks.push_back(Token{d, start, len});
    rs.push_back(RowState{-1, 0});
    return t;
  }

  void rehash() {
    size_t size = slots.size() * 2;
    HugeVector<Slot> next(size, Slot{});
    size_t mask = size - 1;
    for (const Slot& sl : slots) {
      if (sl.tok1 == 0) continue;
      size_t p = sl.hash & mask;
      while (next[p].tok1 != 0) p = (p + 1) & mask;
      next[p] = sl;
    }
    slots.swap(next);
    slotMask = mask;
  }

  static inline uint64_t tokenHash(int d, const uint8_t* p, size_t len) {
    return hashBytes(p, len, (uint64_t)(d + 1) * 0xff51afd7ed558ccdull);
  }

  /** Token id of the (already folded) bytes `p[0, len)` in dictionary `d`. */
  int find(int d, const uint8_t* p, size_t len) { return findHashed(d, p, len, tokenHash(d, p, len)); }

  int findHashed(int d, const uint8_t* p, size_t len, uint64_t h) {
    size_t q = h & slotMask;
    uint64_t pre = prefix8(p, len);
    for (;;) {
      const Slot& sl = slots[q];
      if (sl.tok1 == 0) break;
      if (sl.hash == h && sl.prefix == pre && sl.dict == d && (size_t)sl.len == len &&
          (len <= 8 || memcmp(arena.data() + sl.start, p, len) == 0))
        return sl.tok1 - 1;
      q = (q + 1) & slotMask;
    }
    if (arenaUsed + len > arena.size()) {
      size_t size = arena.size() * 2;
      while (size < arenaUsed + len) size *= 2;
      arena.resize(size);
    }
    memcpy(arena.data() + arenaUsed, p, len);
    int tok = newToken(d, (int)arenaUsed, (int)len);
    slots[q] = Slot{h, pre, tok + 1, (int32_t)arenaUsed, d, (int32_t)len};
    arenaUsed += len;
    // Load factor at most 3/4: linear probing stays short, and the table (32 bytes a slot) half the size of 1/2's.
    if (toks.size() * 4 > slots.size() * 3) rehash();
    return tok;
  }

  inline void push(int tok) {
    RowState& st = rs[tok];
    if (st.lastRow == row) return;
    st.lastRow = row;
    st.count++;
    pushGrow(occ, tok);
  }

  void numberIn(int d, double v) {
    if (v == 0) v = 0;  // a JS Map key: -0 is +0
    NumMap& m = dicts[d].nums;
    size_t slot = 0;
    int tok = m.find(v, slot);
    if (tok < 0) {
      tok = newToken(d, 0, -1);
      m.insert(slot, v, tok);
    }
    pendId(tok);
  }

  /**
   * The row's tokens waiting to be found (see textBytes): resolved in one pass at the end of the row (or when the
   * batch is full), after their table slots were prefetched as they were scanned, so the table's cache misses
   * overlap instead of following one another. An entry's `dict` < 0 marks a token id already known (a number).
   */
  struct Pending {
    const uint8_t* p;
    uint64_t hash;
    int32_t dict;
    int32_t len;
  };
  static constexpr int BATCH = 512;
  Pending batch[BATCH];
  int32_t batchIds[BATCH];
  int nb = 0;
  /** Folded (lowercased) token bytes of the batch. */
  uint8_t fold[BATCH * MAX_TOKEN];
  size_t foldUsed = 0;
  /** Values whose tokens are to be stored in their key's value cache once found: batch range and cache slot. */
  struct Capture {
    ValueCache* vc;
    int slot;
    int from, to;
    uint64_t hash;
    const uint8_t* bytes;
    int32_t len;
  };
  std::vector<Capture> captures;

  inline void pendToken(int d, const uint8_t* p, size_t len) {
    if (nb == BATCH) flushBatch();
    uint64_t h = tokenHash(d, p, len);
    __builtin_prefetch(&slots[h & slotMask]);
    batch[nb++] = Pending{p, h, d, (int32_t)len};
  }

  inline void pendId(int tok) {
    if (nb == BATCH) flushBatch();
    batch[nb].dict = -1;
    batchIds[nb++] = tok;
  }

  /** Finds the batch's tokens, pushes them, and fills the value caches waiting for them; empties the batch. */
  size_t flushCount = 0;
  void flushBatch() {
    flushCount++;
    // Find every token first (their slots were prefetched), prefetching each one's row state, then push them.
    for (int k = 0; k < nb; k++) {
      const Pending& e = batch[k];
      int tok = e.dict < 0 ? batchIds[k] : findHashed(e.dict, e.p, (size_t)e.len, e.hash);
      batchIds[k] = tok;
      __builtin_prefetch(&rs[tok]);
    }
    for (int k = 0; k < nb; k++) push(batchIds[k]);
    for (const Capture& c : captures) {
      ValueCache* vc = c.vc;
      int count = c.to - c.from;
      // (A value whose tokens spanned a flush of a full batch was not captured: see content().)
      if (count <= VC_IDS) {
        VSlot& vs = vc->slots[c.slot];
        vs.hash = c.hash;
        vs.len = c.len;
        vs.count = count;
        memcpy(vs.bytes, c.bytes, (size_t)c.len);
        memcpy(vs.ids, batchIds + c.from, sizeof(int32_t) * count);
      }
    }
    captures.clear();
    nb = 0;
    foldUsed = 0;
  }

  /** Tokens of ASCII bytes: runs between delimiters, cut at MAX_TOKEN, lowercased when `lower`. */
  void textBytes(int d, const uint8_t* buf, size_t s, size_t e, const Delims& dl) {
    const uint8_t* delim = dl.d;
    size_t i = s;
    while (i < e) {
      while (i < e && delim[buf[i]]) i++;
      if (i >= e) break;
      size_t start = i;
      while (i < e && !delim[buf[i]]) i++;
      size_t len = i - start;
      if (len > (size_t)MAX_TOKEN) len = MAX_TOKEN;
      const uint8_t* p = buf + start;
      if (dl.lower) {
        if (nb == BATCH) flushBatch();
        uint8_t* f = fold + foldUsed;
        bool any = false;
        for (size_t k = 0; k < len; k++) {
          uint8_t c = p[k];
          if (c >= 65 && c <= 90) {
            c += 32;
            any = true;
          }
          f[k] = c;
        }
        if (any) {
          p = f;
          foldUsed += len;
        }
      }
      pendToken(d, p, len);
    }
  }

  // --- rows ---

  /** Stores column c's cell for `row` unless it has one; returns false when it had (nothing stored). */
  inline bool setCell(int c, const uint8_t* p, size_t len) {
    int32_t* starts = colStart[c].data();
    int r = row - groupBase;
    if (starts[r] >= 0) return false;
    Bytes& w = colData[c];
    if (colLast[c] < row - 1) fillAbsent(c, row);
    colLast[c] = row;
    starts[r] = (int32_t)w.n;
    w.varint(len + 1);
    uint8_t* o = w.reserve(len);
    memcpy(o, p, len);
    w.n += len;
    return true;
  }

  void fillAbsent(int c, int upto) {
    int32_t* starts = colStart[c].data();
    Bytes& w = colData[c];
    int from = colLast[c] + 1;
    uint8_t* o = w.reserve((size_t)(upto - from));
    for (int r = from; r < upto; r++) {
      starts[r - groupBase] = (int32_t)w.n;
      *o++ = 0;
      w.n++;
    }
    colLast[c] = upto - 1;
  }

  /** Parses a numeric field's value as row-indexer's parseNumber (trim, the long / double syntax, finite). */
  static bool number(const uint8_t* p, size_t len, bool isLong, double& out) {
    size_t s = 0, e = len;
    while (s < e && (p[s] == ' ' || (p[s] >= 9 && p[s] <= 13))) s++;
    while (e > s && (p[e - 1] == ' ' || (p[e - 1] >= 9 && p[e - 1] <= 13))) e--;
    if (s == e) return false;
    size_t i = s;
    bool neg = p[i] == '-';
    if (p[i] == '+' || p[i] == '-') i++;
    const size_t first = i;
    size_t digits = 0, frac = 0;
    bool exponent = false;
    while (i < e && p[i] >= '0' && p[i] <= '9') i++, digits++;
    if (isLong) {
      if (digits == 0 || i != e) return false;
    } else {
      if (i < e && p[i] == '.') {
        i++;
        while (i < e && p[i] >= '0' && p[i] <= '9') i++, frac++;
      }
      if (digits == 0 && frac == 0) return false;
      if (i < e && (p[i] == 'e' || p[i] == 'E')) {
        exponent = true;
        i++;
        if (i < e && (p[i] == '+' || p[i] == '-')) i++;
        size_t exp = 0;
        while (i < e && p[i] >= '0' && p[i] <= '9') i++, exp++;
        if (exp == 0) return false;
      }
      if (i != e) return false;
    }
    if (!exponent && digits + frac <= 15) {
      // Clinger's fast path: at most 15 digits make an integer m < 2^53 and 10^frac (frac <= 15) is exact, so
      // m / 10^frac is one correctly rounded division, the double strtod returns (without its copy and its general
      // algorithm: strtod was ~0.5 % of a loading server's CPU).
      static constexpr double POW10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
      uint64_t m = 0;
      for (size_t k = first; k < e; k++)
        if (p[k] != '.') m = m * 10 + (uint64_t)(p[k] - '0');
      double v = (double)m / POW10[frac];
      out = neg ? -v : v;
      return true;
    }
    char small[64];
    std::string big;
    const char* z;
    size_t n = e - s;
    if (n < sizeof small) {
      memcpy(small, p + s, n);
      small[n] = 0;
      z = small;
    } else {
      big.assign((const char*)p + s, n);
      z = big.c_str();
    }
    static locale_t cLocale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    double v = strtod_l(z, nullptr, cLocale);
    // parseNumber: a double must be finite; a long of many digits is Number()'s Infinity, kept as it is.
    if (!isLong && !std::isfinite(v)) return false;
    out = v;
    return true;
  }

  void index1(KeyInfo& info, const uint8_t* buf, size_t vs, size_t ve0) {
    size_t ve = std::min(ve0, vs + (size_t)MAX_INDEXED_BYTES);
    if (info.line && hasLine) textBytes(lineDict(), buf, vs, ve, delims[lineDelims]);
    const FieldCfg* f = info.field;
    if (!f) return;
    if (f->type == F_TEXT) {
      if (info.dict < 0) info.dict = dictId(f->dict, false);
      textBytes(info.dict, buf, vs, ve, delims[f->delims]);
    } else {
      double v;
      if (number(buf + vs, ve0 - vs, f->type == F_LONG, v)) {
        if (info.dict < 0) info.dict = dictId(info.name, true);
        numberIn(info.dict, v);
      }
    }
  }

  int lineDictId = -1;
  int lineDict() {
    if (lineDictId < 0) lineDictId = dictId("", false);
    return lineDictId;
  }

  /** `h`: the value's valueHash when its key's cache is on and the value fits it (see buildRows). */
  void content(const uint8_t* buf, KeyInfo& info, int32_t vs0, int32_t ve0, uint64_t h) {
    size_t vs = vs0 < 0 ? 0 : (size_t)vs0;
    size_t ve = vs0 < 0 ? 0 : (size_t)ve0;
    size_t len = ve - vs;
    setCell(info.col, buf + vs, len);
    ValueCache* vc = info.cache;
    if (vc && vc->on && len <= (size_t)VC_BYTES) {
      int slot = valueSlot(h);
      vc->lookups++;
      const VSlot& e = vc->slots[slot];
      if (e.hash == h && e.len == (int32_t)len && memcmp(e.bytes, buf + vs, len) == 0) {
        vc->hits++;
        for (int k = 0, ke = e.count; k < ke; k++) push(e.ids[k]);
        return;
      }
      if (vc->lookups == 4096 && vc->hits < 1024) vc->on = false;
      // The slot is emptied now and filled once the value's tokens are found (flushBatch), unless a full batch
      // was flushed in between.
      vc->slots[slot].len = -1;
      int before = nb;
      size_t flushes = flushCount;
      index1(info, buf, vs, ve);
      if (flushCount == flushes) captures.push_back(Capture{vc, slot, before, nb, h, buf + vs, (int32_t)len});
      return;
    }
    index1(info, buf, vs, ve);
  }

  int tokenOf(int d, const uint8_t* p, size_t len) { return find(d, p, len); }

  /** Value hashes of the row being built and of the next one (filled a row ahead, with prefetches). */
  std::vector<uint64_t> rowHash, nextHash;

  /** Fills nextHash for log j (the first row of a buildRows call: no row before it did). */
  void prepareHashes(uint32_t j) {
    const LogRef& a = logRefs[j];
    const uint8_t* b = groups[a.group].buf;
    int cnt = a.end - a.first;
    if ((int)nextHash.size() < cnt) nextHash.resize(cnt);
    for (int k = 0; k < cnt; k++) {
      const Staged& st = staged[a.first + k];
      size_t len = st.vs < 0 ? 0 : (size_t)(st.ve - st.vs);
      nextHash[k] = valueHash(b + (st.vs < 0 ? 0 : st.vs), len);
    }
  }

  /** Builds rows [from, to) of `order` (the next ones); the row group ends at `to`. */
  void buildRows(const uint32_t* order, int from, int to) {
    if (rowOcc.empty()) rowOcc.push_back(0);
    const int n = (int)logRefs.size();
    for (int i = from; i < to; i++) {
      // Rows are built in time order, their logs staged in arrival order: fetch ahead what the next rows read.
      if (i + 8 < n) __builtin_prefetch(&logRefs[order[i + 8]]);
      if (i + 4 < n) {
        const LogRef& a = logRefs[order[i + 4]];
        const char* p = (const char*)&staged[a.first];
        const char* e = (const char*)&staged[a.end];
        for (; p < e; p += 64) __builtin_prefetch(p);
      }
      if (i + 2 < n) {
        // The log's bytes (up to 1 KB of them).
        const LogRef& a = logRefs[order[i + 2]];
        if (a.first < a.end) {
          const uint8_t* b = groups[a.group].buf;
          int32_t s0 = staged[a.first].vs, s1 = staged[a.end - 1].ve;
          if (s0 >= 0 && s1 > s0) {
            for (int32_t o = s0 & ~63; o < s1 && o < s0 + 1024; o += 64) __builtin_prefetch(b + o);
          }
        }
      }
      if (i == from) prepareHashes(order[i]);
      rowHash.swap(nextHash);
      if (i + 1 < n) {
        // The next row's value-cache slots: its values are hashed now, looked up in the next iteration.
        const LogRef& a = logRefs[order[i + 1]];
        const uint8_t* b = groups[a.group].buf;
        int cnt = a.end - a.first;
        if ((int)nextHash.size() < cnt) nextHash.resize(cnt);
        for (int k = 0; k < cnt; k++) {
          const Staged& st = staged[a.first + k];
          ValueCache* vc = infos[st.info].cache;
          size_t len = st.vs < 0 ? 0 : (size_t)(st.ve - st.vs);
          if (vc && vc->on && len <= (size_t)VC_BYTES) {
            uint64_t h = valueHash(b + (st.vs < 0 ? 0 : st.vs), len);
            nextHash[k] = h;
            __builtin_prefetch(&vc->slots[valueSlot(h)]);
          }
        }
      }

      int j = (int)order[i];
      row = i;
      const LogRef& lr = logRefs[j];
      Group& g = groups[lr.group];
      const uint8_t* buf = g.buf;
      if (g.topicS >= 0) setCell(g.topicCol, buf + g.topicS, (size_t)(g.topicE - g.topicS));
      if (g.sourceS >= 0) setCell(g.sourceCol, buf + g.sourceS, (size_t)(g.sourceE - g.sourceS));
      for (int k = lr.first; k < lr.end; k++) {
        const Staged& st = staged[k];
        content(buf, infos[st.info], st.vs, st.ve, rowHash[k - lr.first]);
      }
      for (const Tag& t : g.tags) setCell(t.col, buf + t.vs, t.ve - t.vs);
      if (g.topicS >= 0) {
        if (g.topicTok < 0)
          g.topicTok = tokenOf(dictId("f:__topic__", false), buf + g.topicS, (size_t)(g.topicE - g.topicS));
        push(g.topicTok);
      }
      if (g.sourceS >= 0) {
        if (g.sourceTok < 0)
          g.sourceTok = tokenOf(dictId("f:__source__", false), buf + g.sourceS, (size_t)(g.sourceE - g.sourceS));
        push(g.sourceTok);
      }
      if (!g.tags.empty()) {
        if (!g.tagToksSet) {
          g.tagToksSet = true;
          for (const Tag& t : g.tags) {
            std::string name = "f:__tag__:";
            name.append((const char*)buf + t.ks, t.ke - t.ks);
            g.tagToks.push_back(tokenOf(dictId(name, false), buf + t.vs, t.ve - t.vs));
          }
        }
        for (int tok : g.tagToks) push(tok);
      }
      if (nb > 0) flushBatch();
      rowOcc.push_back((int32_t)occ.size());
    }
  }

  /** Size of the row group [groupBase, end) as `take` writes it. */
  size_t groupSize(int end) {
    size_t total = 0;
    for (size_t c = 0; c < colNames.size(); c++) {
      if (colLast[c] < end - 1) fillAbsent((int)c, end);
      total += colData[c].n;
    }
    return total;
  }

  /** Copies the group's columns to `out` (lens[c] = -1: no cell present), then starts the next group. */
  size_t take(uint8_t* out, int32_t* lens, int end) {
    size_t at = 0;
    int rows = end - groupBase;
    for (size_t c = 0; c < colNames.size(); c++) {
      Bytes& w = colData[c];
      bool any = w.n > (size_t)rows;
      for (size_t k = 0; !any && k < w.n; k++)
        if (w.v[k] != 0) any = true;
      if (any) {
        memcpy(out + at, w.v.data(), w.n);
        at += w.n;
        lens[c] = (int32_t)w.n;
      } else
        lens[c] = -1;
      w.n = 0;
      std::fill(colStart[c].begin(), colStart[c].end(), -1);
    }
    groupBase = end;
    return at;
  }
};

// --- N-API glue ---

napi_value throwError(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

bool getString(napi_env env, napi_value v, std::string& out) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out.resize(len);
  size_t got;
  if (napi_get_value_string_utf8(env, v, &out[0], len + 1, &got) != napi_ok) return false;
  out.resize(got);
  return true;
}

napi_value prop(napi_env env, napi_value obj, const char* name) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return nullptr;
  return v;
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (v == nullptr || napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

bool bytesOf(napi_env env, napi_value v, uint8_t*& data, size_t& len) {
  napi_typedarray_type type;
  size_t length;
  void* base;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &base, &ab, &off) != napi_ok) return false;
  size_t elem = type == napi_int32_array || type == napi_uint32_array || type == napi_float32_array ? 4
                : type == napi_float64_array                                                         ? 8
                : type == napi_int16_array || type == napi_uint16_array                              ? 2
                                                                                                     : 1;
  data = (uint8_t*)base;
  len = length * elem;
  return true;
}

bool delimsOf(napi_env env, napi_value v, Build& b, int& idx) {
  Delims d;
  uint8_t* data;
  size_t len;
  if (!bytesOf(env, prop(env, v, "delim"), data, len) || len < 128) return false;
  memset(d.d, 0, sizeof d.d);
  for (int i = 0; i < 128; i++) d.d[i] = data[i] == 1 ? 1 : 0;
  bool lower;
  if (napi_get_value_bool(env, prop(env, v, "lower"), &lower) != napi_ok) return false;
  d.lower = lower;
  idx = (int)b.delims.size();
  b.delims.push_back(d);
  return true;
}

bool stringSet(napi_env env, napi_value arr, std::unordered_set<std::string>& out) {
  uint32_t len;
  if (napi_get_array_length(env, arr, &len) != napi_ok) return false;
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    std::string s;
    if (napi_get_element(env, arr, i, &e) != napi_ok || !getString(env, e, s)) return false;
    out.insert(s);
  }
  return true;
}

/**
 * A build's finalizer: it runs when the builder's worker stops (at the latest when the worker's environment is torn
 * down). The thread's malloc arena keeps what builds freed (vectors outgrown, finish()'s scratch) and what the delete
 * frees: its free pages go back to the system here, once, so a stopped builder leaves nothing resident. Trimming after
 * every finish() instead (malloc_trim walks every arena of the process) made ~80 madvise calls a build, each flushing
 * the other core's TLB, then page faults zeroing the same pages again in the next build: ~9 % of a build's CPU in
 * bench:build-ab, and 24 % of a whole 5M load's server CPU in bench:search, where the flushes interrupted the event
 * loop and the other builder too (docs/benchmarks.md, session 16).
 */
void finalize(napi_env, void* data, void*) {
  delete static_cast<Build*>(data);
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

Build* self(napi_env env, napi_callback_info info, size_t& argc, napi_value* argv) {
  napi_value thisArg;
  if (napi_get_cb_info(env, info, &argc, argv, &thisArg, nullptr) != napi_ok) return nullptr;
  void* p;
  if (napi_unwrap(env, thisArg, &p) != napi_ok) return nullptr;
  return static_cast<Build*>(p);
}

/**
 * new Build({ line: {delim, lower, include: string[] | null, exclude: string[]} | null,
 *             fields: [{name, type: 1 text | 2 long | 3 double, dict, delim?, lower?}], json: string[] })
 */
napi_value New(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value thisArg;
  if (napi_get_cb_info(env, info, &argc, argv, &thisArg, nullptr) != napi_ok || argc < 1)
    return throwError(env, "Build(config): 1 argument");
  Build* b = new Build();
  napi_value cfg = argv[0];
  bool ok = true;
  napi_value line = prop(env, cfg, "line");
  if (!isNullish(env, line)) {
    b->hasLine = true;
    ok = ok && delimsOf(env, line, *b, b->lineDelims);
    napi_value inc = prop(env, line, "include");
    if (!isNullish(env, inc)) {
      b->lineInclude = true;
      ok = ok && stringSet(env, inc, b->include);
    }
    ok = ok && stringSet(env, prop(env, line, "exclude"), b->exclude);
  }
  napi_value fields = prop(env, cfg, "fields");
  uint32_t nf = 0;
  ok = ok && napi_get_array_length(env, fields, &nf) == napi_ok;
  for (uint32_t i = 0; ok && i < nf; i++) {
    napi_value f;
    std::string name;
    int32_t type;
    FieldCfg fc;
    ok = napi_get_element(env, fields, i, &f) == napi_ok && getString(env, prop(env, f, "name"), name) &&
         napi_get_value_int32(env, prop(env, f, "type"), &type) == napi_ok &&
         getString(env, prop(env, f, "dict"), fc.dict);
    if (!ok) break;
    fc.type = type == 1 ? F_TEXT : type == 2 ? F_LONG : F_DOUBLE;
    if (fc.type == F_TEXT) ok = delimsOf(env, f, *b, fc.delims);
    b->fields.emplace(name, fc);
  }
  ok = ok && stringSet(env, prop(env, cfg, "json"), b->jsonKeys);
  if (!ok) {
    delete b;
    return throwError(env, "Build: bad config");
  }
  if (napi_wrap(env, thisArg, b, finalize, nullptr, nullptr) != napi_ok) {
    delete b;
    return throwError(env, "Build: wrap failed");
  }
  return thisArg;
}

napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/**
 * Asks for huge pages under the ArrayBuffer that holds a staged group: the builder worker's arena of decoded LogGroups,
 * reused by its builds, which rows then read at random (see HugeAlloc). Once per buffer: the hint (for pages faulted
 * later), then a synchronous collapse of the pages it already has (the worker's LZ4 decode touched them first). Only
 * the 2 MB-aligned part of the buffer is advised; a smaller buffer gets nothing. The bytes are left as they are.
 * bench:build-ab --arena: ~0-8 % less CPU per log (copying the groups into huge pages of our own measured about the
 * same at the price of ~16-32 MB more resident per builder).
 */
void hugeBacking(napi_env env, napi_value v, Build& b) {
#ifdef MADV_HUGEPAGE
  napi_typedarray_type type;
  size_t length, off;
  void* data;
  napi_value ab;
  void* base;
  size_t abLen;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok ||
      napi_get_arraybuffer_info(env, ab, &base, &abLen) != napi_ok)
    return;
  if (base == b.advisedBase && abLen == b.advisedLen) return;
  b.advisedBase = base;
  b.advisedLen = abLen;
  constexpr uintptr_t HUGE_PAGE = 2u << 20;
  uintptr_t s = ((uintptr_t)base + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t e = ((uintptr_t)base + abLen) & ~(HUGE_PAGE - 1);
  if (e <= s) return;
  madvise((void*)s, e - s, MADV_HUGEPAGE);
  madvise((void*)s, e - s, MADV_COLLAPSE);
#endif
}

napi_value AddGroup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Build* b = self(env, info, argc, argv);
  uint8_t* data;
  size_t len;
  if (!b || argc < 1 || !bytesOf(env, argv[0], data, len)) return throwError(env, "addGroup(bytes)");
  if (b->built > 0) return throwError(env, "addGroup after rows were built");
  hugeBacking(env, argv[0], *b);
  const char* err = nullptr;
  int r = b->addGroup(data, len, err);
  if (r == -2) {
    std::string msg = std::string("malformed protobuf: ") + (err ? err : "?");
    return throwError(env, msg.c_str());
  }
  return num(env, r);
}

napi_value Times(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Build* b = self(env, info, argc, argv);
  uint8_t* data;
  size_t len;
  if (!b || argc < 1 || !bytesOf(env, argv[0], data, len) || len < b->times.size() * 4)
    return throwError(env, "times(out: Uint32Array of n)");
  if (!b->times.empty()) memcpy(data, b->times.data(), b->times.size() * 4);
  return num(env, (double)b->n);
}

napi_value Columns(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Build* b = self(env, info, argc, nullptr);
  if (!b) return throwError(env, "columns()");
  napi_value arr;
  napi_create_array_with_length(env, b->colNames.size(), &arr);
  for (size_t i = 0; i < b->colNames.size(); i++) {
    napi_value s;
    napi_create_string_utf8(env, b->colNames[i].data(), b->colNames[i].size(), &s);
    napi_set_element(env, arr, (uint32_t)i, s);
  }
  return arr;
}

/**
 * buildGroup(order, from, to, out, lens): builds rows [from, to) (the next ones, one row group) and copies the
 * group's columns into `out` (lens: Int32Array of the column count). Returns the bytes written, or -needed when
 * `out` is too small: then grow it and call takeGroup(out, lens).
 */
napi_value BuildGroup(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  Build* b = self(env, info, argc, argv);
  uint8_t *ord, *out, *lens;
  size_t ordLen, outLen, lensLen;
  int32_t from, to;
  if (!b || argc < 5 || !bytesOf(env, argv[0], ord, ordLen) || napi_get_value_int32(env, argv[1], &from) != napi_ok ||
      napi_get_value_int32(env, argv[2], &to) != napi_ok || !bytesOf(env, argv[3], out, outLen) ||
      !bytesOf(env, argv[4], lens, lensLen))
    return throwError(env, "buildGroup(order, from, to, out, lens)");
  if (b->pendingOut) return throwError(env, "buildGroup: takeGroup first");
  if (from != b->built || to < from || to > b->n || to - from > GROUP_ROWS || ordLen < (size_t)b->n * 4 ||
      lensLen < b->colNames.size() * 4)
    return throwError(env, "buildGroup: bad range");
  const uint32_t* order = (const uint32_t*)ord;
  for (int i = from; i < to; i++)
    if (order[i] >= (uint32_t)b->n) return throwError(env, "buildGroup: bad order");
  b->buildRows(order, from, to);
  b->built = to;
  size_t need = b->groupSize(to);
  if (need > outLen) {
    b->pendingOut = true;
    return num(env, -(double)need);
  }
  return num(env, (double)b->take(out, (int32_t*)lens, to));
}

napi_value TakeGroup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Build* b = self(env, info, argc, argv);
  uint8_t *out, *lens;
  size_t outLen, lensLen;
  if (!b || argc < 2 || !bytesOf(env, argv[0], out, outLen) || !bytesOf(env, argv[1], lens, lensLen))
    return throwError(env, "takeGroup(out, lens)");
  if (!b->pendingOut) return throwError(env, "takeGroup: nothing pending");
  size_t need = b->groupSize(b->built);
  if (need > outLen || lensLen < b->colNames.size() * 4) return throwError(env, "takeGroup: out too small");
  b->pendingOut = false;
  return num(env, (double)b->take(out, (int32_t*)lens, b->built));
}

napi_value typed(napi_env env, napi_typedarray_type type, size_t count, size_t elem, void** data) {
  napi_value ab, arr;
  napi_create_arraybuffer(env, count * elem, data, &ab);
  napi_create_typedarray(env, type, count, ab, 0, &arr);
  return arr;
}

void noFree(napi_env, void*, void*) {}

/**
 * A typed array over memory this build owns (no copy, nothing left for the GC to free): the caller must not use it
 * after the build's next reset() or finish(). SegmentBuild.writeNative uses them only before it returns.
 */
napi_value view(napi_env env, napi_typedarray_type type, void* data, size_t count, size_t elem) {
  static uint8_t empty[8];
  napi_value ab, arr;
  if (napi_create_external_arraybuffer(env, count ? data : empty, count * elem, noFree, nullptr, &ab) != napi_ok) {
    // Where external buffers are not allowed: a copy.
    void* p;
    napi_create_arraybuffer(env, count * elem, &p, &ab);
    if (count) memcpy(p, data, count * elem);
  }
  napi_create_typedarray(env, type, count, ab, 0, &arr);
  return arr;
}

/**
 * finish(scratch?) once every row is built: { arena: Uint8Array (token bytes), tokStart / tokLen: Int32Array,
 * dictBytes: Uint8Array and text: [{name, tokens, at, blocks: Int32Array}] (each text dictionary's blocks written as
 * DictAppender writes them, back to back from dictBytes[at]: per block its postings' length, its entries' length and
 * its first token), enc / encStart / encSize (a numeric token t's posting, encoded as writePosting does, is
 * enc[encStart[t], encStart[t] + encSize[t])) and num: [{name, values: Float64Array ascending, toks: Int32Array}] }.
 * `scratch`: memory the caller no longer needs, used for the row ids when it is large enough (4 bytes per token
 * occurrence) and 4-aligned. The arrays are views of the build's memory: valid until its next reset() or finish().
 */
napi_value Finish(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Build* b = self(env, info, argc, argv);
  if (!b) return throwError(env, "finish()");
  if (b->built != b->n || b->pendingOut) return throwError(env, "finish: rows not all built");
  if (b->rowOcc.empty()) b->rowOcc.push_back(0);
  size_t T = b->toks.size();
  size_t occN = b->occ.size();
  napi_value res;
  napi_create_object(env, &res);
  napi_set_named_property(env, res, "arena", view(env, napi_uint8_array, b->arena.data(), b->arenaUsed, 1));
  b->outTokStart.resize(T);
  b->outTokLen.resize(T);
  int32_t* ts = b->outTokStart.data();
  int32_t* tl = b->outTokLen.data();
  b->outPst.resize(T);
  b->outPst.push_back(0);
  int32_t* ps = b->outPst.data();
  const uint32_t n = (uint32_t)b->n;
  const size_t words = (n + 31) / 32;
  // A token in more than 1 row in DENSE_POSTING_ROWS (8) is written as a bitset: its rows are set straight into one
  // (n bits, a few KB each, all of them together in cache) instead of being scattered among the row ids of the other
  // tokens (an array of 4 bytes an occurrence, ~9 MB for a 16 MB build) and read back. Such tokens are few but hold
  // most occurrences ("GET", "200", a user agent's words). cursor[t] < 0 names a dense token's bitset: -1 - slot.
  std::vector<int32_t> cursor(T);
  ps[0] = 0;
  size_t dense = 0;
  for (size_t t = 0; t < T; t++) {
    ts[t] = b->toks[t].start;
    tl[t] = b->toks[t].len;
    uint32_t c = (uint32_t)b->rs[t].count;
    if ((uint64_t)c * 8 > n) {
      cursor[t] = -1 - (int32_t)dense++;
      ps[t + 1] = ps[t];
    } else {
      cursor[t] = ps[t];
      ps[t + 1] = ps[t] + (int32_t)c;
    }
  }
  const size_t bitsetBytes = words * 4;
  if (b->denseBits.size() < dense * bitsetBytes) b->denseBits.resize(dense * bitsetBytes);
  uint8_t* bits = b->denseBits.data();
  memset(bits, 0, dense * bitsetBytes);
  // Row ids per token (in the caller's scratch when it is large enough: the builder's arena of LogGroups, no longer
  // needed once rows are built), then each token's posting encoded as postings.ts writePosting does.
  uint32_t* post = nullptr;
  uint8_t* scratch = nullptr;
  size_t scratchLen = 0;
  if (argc >= 1 && !isNullish(env, argv[0])) {
    uint8_t* sd;
    size_t sl;
    if (bytesOf(env, argv[0], sd, sl) && ((uintptr_t)sd & 3) == 0 && sl >= occN * 4) {
      post = (uint32_t*)sd;
      scratch = sd;
      scratchLen = sl;
    }
  }
  if (!post) {
    if (b->postBuf.size() < occN) b->postBuf.resize(occN);
    post = b->postBuf.data();
  }
  const int32_t* occ = b->occ.data();
  int32_t* cur = cursor.data();
  for (int i = 0; i < b->n; i++) {
    const uint8_t bit = (uint8_t)(1u << (i & 7));
    const size_t byte = (size_t)i >> 3;
    for (int k = b->rowOcc[i], ke = b->rowOcc[i + 1]; k < ke; k++) {
      int32_t c = cur[occ[k]];
      if (c >= 0) {
        post[c] = (uint32_t)i;
        cur[occ[k]] = c + 1;
      } else
        bits[(size_t)(-1 - c) * bitsetBytes + byte] |= bit;
    }
  }
  auto vsize = [](uint32_t v) -> size_t {
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
  };
  auto putVarint = [](uint8_t* o, uint32_t v) {
    while (v >= 0x80) {
      *o++ = (uint8_t)(v | 0x80);
      v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
  };
  // A token's posting as postings.ts writePosting encodes it: kind 1 = a bitset of n bits (little-endian 32-bit
  // words) when more than 1 row in DENSE_POSTING_ROWS (8) holds it, else kind 0 = the count and delta varints.
  std::vector<int32_t> encSize(T);
  for (size_t t = 0; t < T; t++) {
    uint32_t c = (uint32_t)(ps[t + 1] - ps[t]);
    size_t sz;
    if (cursor[t] < 0)
      sz = 1 + bitsetBytes;
    else {
      sz = 1 + vsize(c);
      uint32_t prev = 0;
      for (int k = ps[t]; k < ps[t + 1]; k++) {
        sz += vsize(post[k] - prev);
        prev = post[k];
      }
    }
    encSize[t] = (int32_t)sz;
  }
  auto encode = [&](uint8_t* o, size_t t) {
    uint32_t c = (uint32_t)(ps[t + 1] - ps[t]);
    if (cursor[t] < 0) {
      *o++ = 1;
      memcpy(o, bits + (size_t)(-1 - cursor[t]) * bitsetBytes, bitsetBytes);
      return o + bitsetBytes;
    }
    *o++ = 0;
    o = putVarint(o, c);
    uint32_t prev = 0;
    for (int k = ps[t]; k < ps[t + 1]; k++) {
      o = putVarint(o, post[k] - prev);
      prev = post[k];
    }
    return o;
  };
  std::vector<std::vector<int32_t>> byDict(b->dicts.size());
  for (size_t t = 0; t < T; t++) byDict[b->toks[t].dict].push_back((int32_t)t);
  const uint8_t* a = b->arena.data();
  // Text dictionaries: tokens in byte order, then written as DictAppender's blocks of DICT_BLOCK tokens, each its
  // postings (pw) followed by its entries (kw: varint length, bytes, varint offset of the posting in pw, varint
  // length), all dictionaries back to back in `dictBytes`. Numeric ones: postings in `enc`, token by token.
  size_t blobTotal = 0, encTotal = 0;
  std::vector<KeyedToken> keyed;
  for (size_t d = 0; d < b->dicts.size(); d++) {
    std::vector<int32_t>& list = byDict[d];
    if (b->dicts[d].numeric) {
      for (int32_t t : list) encTotal += encSize[t];
      continue;
    }
    // Byte order (memcmp, then the shorter first) by each token's first 8 bytes as a big-endian u64, zero-padded:
    // keys that differ order as the bytes do (a zero pad sorts first, as the shorter token must), so memcmp runs
    // only on ties, on the bytes after the 8th. Sorting 16-byte (key, token) pairs also keeps the compares in cache
    // instead of chasing each token into the arena (memcmp in this sort was ~3.6 % of the server's ingest CPU).
    keyed.resize(list.size());
    for (size_t q = 0; q < list.size(); q++) {
      const Token& tk = b->toks[list[q]];
      uint64_t k = 0;
      memcpy(&k, a + tk.start, (size_t)std::min(tk.len, 8));
      keyed[q] = {bigEndian64(k), list[q]};
    }
    auto tie = [&](const KeyedToken& x, const KeyedToken& y) {
      const Token& tx = b->toks[x.tok];
      const Token& ty = b->toks[y.tok];
      int m = std::min(tx.len, ty.len);
      if (m > 8) {
        int c = memcmp(a + tx.start + 8, a + ty.start + 8, (size_t)(m - 8));
        if (c != 0) return c < 0;
      }
      return tx.len < ty.len;
    };
    auto less = [&](const KeyedToken& x, const KeyedToken& y) { return x.key != y.key ? x.key < y.key : tie(x, y); };
    if (keyed.size() < 4096)
      std::sort(keyed.begin(), keyed.end(), less);
    else {
      // Into buckets by the key's top 16 bits (a token's first two bytes) with one counting pass and one scatter,
      // then each bucket sorted alone: the big dictionaries (100k+ tokens) sort in a fraction of std::sort's time
      // over the whole of them, which was ~3 % of a build.
      std::vector<uint32_t>& start = b->sortStart;
      std::vector<uint32_t>& at = b->sortAt;
      std::vector<KeyedToken>& out = b->sortOut;
      start.assign(65537, 0);
      for (const KeyedToken& k : keyed) start[(k.key >> 48) + 1]++;
      for (size_t i = 1; i < start.size(); i++) start[i] += start[i - 1];
      at.assign(start.begin(), start.end() - 1);
      out.resize(keyed.size());
      for (const KeyedToken& k : keyed) out[at[k.key >> 48]++] = k;
      for (size_t i = 0; i + 1 < start.size(); i++)
        if (start[i + 1] - start[i] > 1) std::sort(out.begin() + start[i], out.begin() + start[i + 1], less);
      keyed.swap(out);
    }
    for (size_t q = 0; q < list.size(); q++) list[q] = keyed[q].tok;
    for (size_t k = 0; k < list.size(); k += DICT_BLOCK) {
      uint32_t off = 0;
      for (size_t q = k; q < list.size() && q < k + DICT_BLOCK; q++) {
        int32_t t = list[q];
        uint32_t len = (uint32_t)b->toks[t].len;
        blobTotal += encSize[t] + vsize(len) + len + vsize(off) + vsize((uint32_t)encSize[t]);
        off += (uint32_t)encSize[t];
      }
    }
  }
  // The encoded dictionaries go after the row ids in the scratch when they fit there too (memory the builder keeps
  // anyway), else in a buffer of the build's own.
  uint8_t* blob;
  if (scratch && scratchLen - occN * 4 >= blobTotal + encTotal)
    blob = scratch + occN * 4;
  else {
    if (b->outEnc.size() < blobTotal + encTotal) b->outEnc.resize(blobTotal + encTotal + (blobTotal + encTotal) / 4);
    blob = b->outEnc.data();
  }
  uint8_t* enc = blob + blobTotal;
  b->outEncStart.assign(T, 0);
  b->outEncStart.push_back(0);
  int32_t* es = b->outEncStart.data();
  napi_value text, nums;
  napi_create_array(env, &text);
  napi_create_array(env, &nums);
  uint32_t nt = 0, nn = 0;
  uint8_t* bo = blob;
  size_t encAt = 0;
  for (size_t d = 0; d < b->dicts.size(); d++) {
    Dict& dict = b->dicts[d];
    std::vector<int32_t>& list = byDict[d];
    napi_value o, name;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, dict.name.data(), dict.name.size(), &name);
    napi_set_named_property(env, o, "name", name);
    int32_t* out;
    if (!dict.numeric) {
      // blocks: per block [pw bytes, kw bytes, its first token], in dictBytes from `at`.
      size_t nBlocks = (list.size() + DICT_BLOCK - 1) / DICT_BLOCK;
      napi_value at;
      napi_create_double(env, (double)(bo - blob), &at);
      napi_set_named_property(env, o, "at", at);
      napi_set_named_property(env, o, "blocks", typed(env, napi_int32_array, nBlocks * 3, 4, (void**)&out));
      for (size_t k = 0, blk = 0; k < list.size(); k += DICT_BLOCK, blk++) {
        size_t e = std::min(list.size(), k + DICT_BLOCK);
        uint8_t* start = bo;
        for (size_t q = k; q < e; q++) bo = encode(bo, (size_t)list[q]);
        uint8_t* kwStart = bo;
        uint32_t off = 0;
        for (size_t q = k; q < e; q++) {
          const Token& tk = b->toks[list[q]];
          bo = putVarint(bo, (uint32_t)tk.len);
          memcpy(bo, a + tk.start, (size_t)tk.len);
          bo += tk.len;
          bo = putVarint(bo, off);
          bo = putVarint(bo, (uint32_t)encSize[list[q]]);
          off += (uint32_t)encSize[list[q]];
        }
        out[3 * blk] = (int32_t)(kwStart - start);
        out[3 * blk + 1] = (int32_t)(bo - kwStart);
        out[3 * blk + 2] = list[k];
      }
      napi_value count;
      napi_create_double(env, (double)list.size(), &count);
      napi_set_named_property(env, o, "tokens", count);
      napi_set_element(env, text, nt++, o);
    } else {
      std::vector<std::pair<double, int32_t>> vals;
      vals.reserve(dict.nums.count);
      for (size_t k = 0; k < dict.nums.keys.size(); k++) {
        if (dict.nums.toks[k] == 0) continue;
        double v;
        memcpy(&v, &dict.nums.keys[k], 8);
        vals.emplace_back(v, dict.nums.toks[k] - 1);
      }
      std::sort(vals.begin(), vals.end());
      double* vo;
      napi_set_named_property(env, o, "values", typed(env, napi_float64_array, vals.size(), 8, (void**)&vo));
      napi_set_named_property(env, o, "toks", typed(env, napi_int32_array, vals.size(), 4, (void**)&out));
      for (size_t k = 0; k < vals.size(); k++) {
        int32_t t = vals[k].second;
        vo[k] = vals[k].first;
        out[k] = t;
        es[t] = (int32_t)encAt;
        encode(enc + encAt, (size_t)t);
        encAt += encSize[t];
      }
      napi_set_element(env, nums, nn++, o);
    }
  }
  // A numeric token's posting is enc[encStart[t], encStart[t] + encSize[t]).
  std::vector<int32_t>& sizes = b->outPst;  // reused: the postings' row starts are no longer needed
  sizes.assign(encSize.begin(), encSize.end());
  napi_set_named_property(env, res, "tokStart", view(env, napi_int32_array, ts, T, 4));
  napi_set_named_property(env, res, "tokLen", view(env, napi_int32_array, tl, T, 4));
  napi_set_named_property(env, res, "encStart", view(env, napi_int32_array, es, T, 4));
  napi_set_named_property(env, res, "encSize", view(env, napi_int32_array, sizes.data(), T, 4));
  napi_set_named_property(env, res, "enc", view(env, napi_uint8_array, enc, encTotal, 1));
  napi_set_named_property(env, res, "dictBytes", view(env, napi_uint8_array, blob, blobTotal, 1));
  napi_set_named_property(env, res, "text", text);
  napi_set_named_property(env, res, "num", nums);
  return res;
}

napi_value Reset(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Build* b = self(env, info, argc, nullptr);
  if (!b) return throwError(env, "reset()");
  b->reset();
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"addGroup", nullptr, AddGroup, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"times", nullptr, Times, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"columns", nullptr, Columns, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"buildGroup", nullptr, BuildGroup, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"takeGroup", nullptr, TakeGroup, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finish", nullptr, Finish, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reset", nullptr, Reset, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  napi_define_class(env, "Build", NAPI_AUTO_LENGTH, New, nullptr, sizeof methods / sizeof methods[0], methods, &cls);
  napi_set_named_property(env, exports, "Build", cls);
  InitRows(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
