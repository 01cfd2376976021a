/*
 * validateLogGroup(bytes, limits, out) -> 1 when the serialized LogGroup passes every check of
 * src/protocol/log-group-validate.ts (then out = [logCount, minTime, maxTime]), else 0.
 *
 * The JS function stays the reference and the one that explains: on 0 the caller runs it to throw the exact
 * SlsError. So this only has to agree with it on accept / reject, check for check (a differential test feeds both
 * random and mutated LogGroups). Why native: it runs on the event loop for every PutLogs body before the ack, and
 * the JS scan tops out at ~1.4 GB/s (~300 ns per nginx log) on key bytes and varints; here keys are checked 8 bytes
 * per step and varints decode without a call.
 *
 * `limits` is a Float64Array [maxLogsPerGroup, maxKeyBytes, maxValueBytes, maxTopicBytes, maxSourceBytes, strict];
 * the byte limits become the largest length each accepts, so the scan compares integers.
 * Varints decode as the JS varintAt does: at most 10 bytes, not past the end of the enclosing message; values
 * saturate at 2^64 - 1 (JS gives Infinity above 2^53), which every range check below rejects alike.
 */
#include "validate.h"

#include <string.h>

#define TAG_LOGS 0x0a
#define TAG_TOPIC 0x1a
#define TAG_SOURCE 0x22
#define TAG_LOG_TAGS 0x32
#define MAX_TIME_NS 999999999u

/* Key bytes, as KEY_CLASS in the JS: lenient = not < 0x20 and not 0x7f; strict = [A-Za-z_] first, [A-Za-z0-9_] after. */
static inline int lenient_byte(uint8_t c) { return c >= 0x20 && c != 0x7f; }
static inline int strict_first(uint8_t c) { return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f; }
static inline int strict_rest(uint8_t c) { return strict_first(c) || (c >= 0x30 && c <= 0x39); }

typedef struct {
  const uint8_t* p;
  const uint8_t* end;
} cursor;

/* The varint at c->p of 2+ bytes (or truncated): 0 when it runs to `limit` or past 10 bytes. */
static __attribute__((noinline)) int varint_long(cursor* c, const uint8_t* limit, uint64_t* out) {
  const uint8_t* p = c->p;
  uint64_t v = 0;
  int sat = 0;
  for (int i = 0; i < 10; i++) {
    if (p >= limit) return 0;
    uint8_t b = *p++;
    uint64_t part = (uint64_t)(b & 0x7f);
    if (i == 9 && part > 1) sat = 1; /* bits past 2^64 */
    v |= part << (7 * i);
    if (b < 0x80) {
      *out = sat ? UINT64_MAX : v;
      c->p = p;
      return 1;
    }
  }
  return 0;
}

/* Reads a varint ending before `limit`; 0 when truncated or longer than 10 bytes. Nearly all are 1 byte. */
static inline __attribute__((always_inline)) int varint(cursor* c, const uint8_t* limit, uint64_t* out) {
  const uint8_t* p = c->p;
  if (__builtin_expect(p < limit && *p < 0x80, 1)) {
    *out = *p;
    c->p = p + 1;
    return 1;
  }
  if (limit - p >= 2 && p[1] < 0x80) {
    *out = (uint64_t)(p[0] & 0x7f) | ((uint64_t)p[1] << 7);
    c->p = p + 2;
    return 1;
  }
  return varint_long(c, limit, out);
}

/* checkTag: field tags are 8 .. 2^32 - 1. */
static inline int tag_ok(uint64_t tag) { return tag >= 8 && tag <= 0xffffffffu; }

/* skipAt: skips a field of `wire` type whose tag ended at c->p; 0 when malformed. */
static inline int skip(cursor* c, uint64_t wire, const uint8_t* limit) {
  uint64_t len;
  switch (wire) {
    case 0:
      return varint(c, limit, &len);
    case 1:
      if (limit - c->p < 8) return 0;
      c->p += 8;
      return 1;
    case 2:
      if (!varint(c, limit, &len) || len > (uint64_t)(limit - c->p)) return 0;
      c->p += len;
      return 1;
    case 5:
      if (limit - c->p < 4) return 0;
      c->p += 4;
      return 1;
    default:
      return 0;
  }
}

static inline int starts_with(const uint8_t* k, size_t len, const char* word) {
  size_t n = strlen(word);
  return len >= n && memcmp(k, word, n) == 0;
}

static int reserved(const uint8_t* k, size_t len) {
  static const char* const names[] = {"__time__", "__topic__", "__source__", "__time_ns_part__"};
  if (starts_with(k, len, "__tag__")) return 1;
  for (int i = 0; i < 4; i++)
    if (strlen(names[i]) == len && memcmp(k, names[i], len) == 0) return 1;
  return 0;
}

/* The lenient rule (no byte < 0x20, none 0x7f), 8 bytes a step: `(w - 0x20..) & ~w & 0x80..` is nonzero iff some
 * byte is < 0x20 (exact as a yes/no for thresholds up to 0x80); the same on `w ^ 0x7f..` against 0x01 finds 0x7f.
 * The last step loads the key's last 8 bytes (overlapping the one before), and a key under 8 bytes loads 8 bytes
 * when the buffer has them and masks the rest to 'A': no byte loop whose length the branch predictor must guess. */
static inline int lenient_word(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t x = w ^ (0x7f * ones);
  return ((((w - 0x20 * ones) & ~w) | ((x - ones) & ~x)) & highs) == 0;
}

static inline int lenient_key(const uint8_t* k, size_t len, const uint8_t* buf_end) {
  uint64_t w;
  if (len >= 8) {
    size_t i = 0;
    for (; i + 8 < len; i += 8) {
      memcpy(&w, k + i, 8);
      if (!lenient_word(w)) return 0;
    }
    memcpy(&w, k + len - 8, 8);
    return lenient_word(w);
  }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (buf_end - k >= 8) {
    memcpy(&w, k, 8);
    uint64_t keep = (1ull << (8 * len)) - 1; /* little-endian: the key's bytes are the low ones */
    return lenient_word((w & keep) | (0x4141414141414141ull & ~keep));
  }
#else
  (void)buf_end;
#endif
  for (size_t i = 0; i < len; i++)
    if (!lenient_byte(k[i])) return 0;
  return 1;
}

static inline int strict_key(const uint8_t* k, size_t len) {
  if (!strict_first(k[0])) return 0;
  for (size_t i = 0; i < len; i++)
    if (!strict_rest(k[i])) return 0;
  return 1;
}

/* A LogContent key of `len` bytes at `k`: not empty, within the limit, of the policy's bytes, not reserved. */
static inline int key_ok(const uint8_t* k, size_t len, const validate_limits* lim, const uint8_t* buf_end) {
  if (len == 0 || (int64_t)len > lim->key_max) return 0;
  if (lim->strict ? !strict_key(k, len) : !lenient_key(k, len, buf_end)) return 0;
  return !(len >= 7 && k[0] == 0x5f && k[1] == 0x5f && reserved(k, len));
}

/* One Log's fields from c->p to logEnd; on success, its Time in *time. */
static int validate_log(cursor* c, const uint8_t* log_end, const validate_limits* lim, uint32_t* time) {
  int64_t t_seen = -1;
  while (c->p < log_end) {
    uint64_t t;
    if (!varint(c, log_end, &t)) return 0;
    if (t == 0x12) {
      /* Contents = 2 */
      uint64_t clen;
      if (!varint(c, log_end, &clen) || clen > (uint64_t)(log_end - c->p)) return 0;
      const uint8_t* content_end = c->p + clen;
      /* The usual LogContent, a key of under 128 bytes then a value of under 16 KiB and nothing else, in one step:
       * the same checks as the loop below, which takes every other shape. */
      const uint8_t* k = c->p + 2;
      if (clen >= 4 && k[-2] == 0x0a && k[-1] < 0x80) {
        const uint8_t* v = k + k[-1];
        if (v + 2 <= content_end && v[0] == 0x12) {
          uint64_t vlen = v[1];
          const uint8_t* val = v + 2;
          if (vlen >= 0x80 && val < content_end && *val < 0x80) vlen = (vlen & 0x7f) | ((uint64_t)*val++ << 7);
          if (vlen < 0x80 || val - v == 3) {
            if (val + vlen == content_end) {
              if (!key_ok(k, k[-1], lim, c->end) || (int64_t)vlen > lim->value_max) return 0;
              c->p = content_end;
              continue;
            }
          }
        }
      }
      int saw_key = 0;
      while (c->p < content_end) {
        uint64_t ft;
        if (!varint(c, content_end, &ft)) return 0;
        if (ft == 0x0a || ft == 0x12) {
          uint64_t flen;
          if (!varint(c, content_end, &flen) || flen > (uint64_t)(content_end - c->p)) return 0;
          const uint8_t* f = c->p;
          c->p += flen;
          if (ft == 0x12) {
            if ((int64_t)flen > lim->value_max) return 0;
            continue;
          }
          if (!key_ok(f, flen, lim, c->end)) return 0;
          saw_key = 1;
        } else if (!tag_ok(ft) || !skip(c, ft & 7, content_end)) {
          return 0;
        }
      }
      if (!saw_key) return 0;
    } else if (t == 0x08) {
      /* Time = 1, uint32; a repeated Time keeps the last one. */
      uint64_t v;
      if (!varint(c, log_end, &v) || v > 0xffffffffu) return 0;
      t_seen = (int64_t)v;
    } else if (t == 0x25) {
      /* TimeNs = 4, fixed32 */
      if (log_end - c->p < 4) return 0;
      const uint8_t* p = c->p;
      uint32_t ns = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
      if (ns > MAX_TIME_NS) return 0;
      c->p += 4;
    } else if (!tag_ok(t) || !skip(c, t & 7, log_end)) {
      return 0;
    }
  }
  if (t_seen < 0) return 0;
  *time = (uint32_t)t_seen;
  return 1;
}

int validate_log_group(const uint8_t* buf, size_t n, const validate_limits* lim, validate_stats* out) {
  cursor c = {buf, buf + n};
  const uint8_t* end = buf + n;
  double logs = 0;
  uint32_t min_time = 0, max_time = 0;
  while (c.p < end) {
    uint64_t tag;
    if (!varint(&c, end, &tag) || !tag_ok(tag)) return 0;
    if (tag == TAG_LOGS) {
      uint64_t len;
      if (!varint(&c, end, &len) || len > (uint64_t)(end - c.p)) return 0;
      if (logs >= lim->max_logs) return 0;
      const uint8_t* log_end = c.p + len;
      uint32_t time;
      if (!validate_log(&c, log_end, lim, &time)) return 0;
      if (logs == 0) {
        min_time = time;
        max_time = time;
      } else if (time < min_time) {
        min_time = time;
      } else if (time > max_time) {
        max_time = time;
      }
      logs++;
    } else if (tag == TAG_TOPIC || tag == TAG_SOURCE) {
      uint64_t len;
      if (!varint(&c, end, &len) || len > (uint64_t)(end - c.p)) return 0;
      if ((int64_t)len > (tag == TAG_TOPIC ? lim->topic_max : lim->source_max)) return 0;
      c.p += len;
    } else if (tag == TAG_LOG_TAGS) {
      /* LogTags = 6: only value sizes are checked. */
      uint64_t len;
      if (!varint(&c, end, &len) || len > (uint64_t)(end - c.p)) return 0;
      const uint8_t* tag_end = c.p + len;
      while (c.p < tag_end) {
        uint64_t t;
        if (!varint(&c, tag_end, &t) || !tag_ok(t)) return 0;
        if (t == 0x12) {
          uint64_t vlen;
          if (!varint(&c, tag_end, &vlen) || vlen > (uint64_t)(tag_end - c.p)) return 0;
          if ((int64_t)vlen > lim->value_max) return 0;
          c.p += vlen;
        } else if (!skip(&c, t & 7, tag_end)) {
          return 0;
        }
      }
    } else if (!skip(&c, tag & 7, end)) {
      return 0;
    }
  }
  out->logs = logs;
  out->min_time = min_time;
  out->max_time = max_time;
  return 1;
}

/* The largest length a limit accepts, as an integer (lengths here are under 2^62): `nan` when the limit is NaN. */
static int64_t largest(double max, int64_t nan) {
  if (max != max) return nan;
  if (max < 0) return -1;
  if (max >= 4611686018427387904.0) return INT64_MAX;
  return (int64_t)max; /* floor: lengths are integers */
}

napi_value validate_napi(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_typedarray_type type;
  size_t len, lim_len, out_len;
  void *data, *lim_data, *out_data;
  napi_value ab;
  size_t off;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_typedarray_info(env, argv[0], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[1], &type, &lim_len, &lim_data, &ab, &off) != napi_ok ||
      type != napi_float64_array || lim_len < 6 ||
      napi_get_typedarray_info(env, argv[2], &type, &out_len, &out_data, &ab, &off) != napi_ok ||
      type != napi_float64_array || out_len < 3) {
    napi_throw_type_error(env, NULL, "validateLogGroup(bytes: Uint8Array, limits: Float64Array(6), out: Float64Array(3))");
    return NULL;
  }
  const double* l = (const double*)lim_data;
  /* maxKeyBytes: JS accepts `flen <= max` (NaN accepts none); the others reject `len > max` (NaN rejects none). */
  validate_limits lim = {l[0], largest(l[1], -1), largest(l[2], INT64_MAX), largest(l[3], INT64_MAX),
                         largest(l[4], INT64_MAX), l[5] != 0};
  validate_stats st;
  /* A zero-length Uint8Array may have no data pointer: an empty LogGroup passes with no logs. */
  int ok = len == 0 ? (st.logs = 0, st.min_time = 0, st.max_time = 0, 1) : validate_log_group((const uint8_t*)data, len, &lim, &st);
  if (ok) {
    double* o = (double*)out_data;
    o[0] = st.logs;
    o[1] = st.min_time;
    o[2] = st.max_time;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}
