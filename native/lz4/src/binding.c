/*
 * compress(src, dst, dstStart, dstEnd, acceleration) -> size of the raw LZ4 block written at dst[dstStart..], or 0
 * when it did not fit in dstEnd - dstStart bytes. `src` and `dst` are Uint8Arrays (Buffers included).
 *
 * LZ4_compress_fast with acceleration 1 is LZ4_compress_default; larger values skip ahead faster through
 * incompressible stretches (fewer hash probes) for a somewhat larger block. The output is a standard LZ4 block for
 * any acceleration: every LZ4 decoder reads it unchanged. The 16 KB compression state is allocated once per
 * loading of the module (the env's instance data) rather than a stack array per call: a thread calls this only from
 * its own JS, so each worker thread that loads the addon gets a state of its own.
 *
 * validateLogGroup (the server's PutLogs check, no state): see validate.c.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lz4.h"
#include "validate.h"

static void free_state(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  free(data);
}

static int typed_bytes(napi_env env, napi_value v, char** data, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* base;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &base, &buffer, &offset) != napi_ok || type != napi_uint8_array)
    return 0;
  *data = (char*)base;
  *len = length;
  return 1;
}

static napi_value fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value compress(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5)
    return fail(env, "compress(src, dst, dstStart, dstEnd, acceleration): 5 arguments");
  char* src;
  size_t src_len;
  char* dst;
  size_t dst_len;
  if (!typed_bytes(env, argv[0], &src, &src_len) || !typed_bytes(env, argv[1], &dst, &dst_len))
    return fail(env, "compress: src and dst must be Uint8Arrays");
  int64_t start, end;
  int32_t accel;
  if (napi_get_value_int64(env, argv[2], &start) != napi_ok || napi_get_value_int64(env, argv[3], &end) != napi_ok ||
      napi_get_value_int32(env, argv[4], &accel) != napi_ok)
    return fail(env, "compress: dstStart, dstEnd and acceleration must be numbers");
  if (start < 0 || end < start || (uint64_t)end > dst_len) return fail(env, "compress: bad dstStart/dstEnd");
  if (src_len > LZ4_MAX_INPUT_SIZE) return fail(env, "compress: input larger than LZ4_MAX_INPUT_SIZE");
  int64_t cap = end - start;
  if (cap > INT32_MAX) cap = INT32_MAX;
  void* state;
  if (napi_get_instance_data(env, &state) != napi_ok || state == NULL) return fail(env, "compress: no LZ4 state");
  int n = LZ4_compress_fast_extState(state, src, dst + start, (int)src_len, (int)cap, accel < 1 ? 1 : accel);
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

/*
 * frameLines(src, srcLen, flush, maxEntryBytes, maxLogs, dst, dstLimit, timeBytes, state) -> status
 *
 * The agent's line mode in one call: cuts src[state[0], srcLen) into lines (without their "\n" and a "\r" before it;
 * a line longer than maxEntryBytes keeps its first maxEntryBytes; an unterminated tail is taken only with `flush`
 * or once it reaches maxEntryBytes) and appends each as a LogGroup `Log { Time, Contents { "content": line } }` at
 * dst[state[1], dstLimit). `timeBytes` is the Log.Time field (tag and varint). The same bytes, byte for byte, as
 * src/agent/tail/entry-splitter.ts (no begin regex) feeding LogGroupWriter.addRaw, at a memchr and a memcpy per
 * line instead of a dozen JS operations.
 *
 * state (Int32Array, in/out): [0] where the next line starts in src, [1] the end of dst's content, [2] += logs
 * written, [3] += lines cut at maxEntryBytes, [4] out: bytes needed at dst[state[1]] (status 1).
 * Status: 0 = done (no further complete line), 1 = dst is full (grow it, call again), 2 = maxLogs logs were written
 * in this call and another line waits at state[0].
 */
static size_t varint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t* put_varint(uint8_t* p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static napi_value frame_lines(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 9)
    return fail(env, "frameLines: 9 arguments");
  char *src, *dst, *time;
  size_t src_cap, dst_cap, time_len;
  if (!typed_bytes(env, argv[0], &src, &src_cap) || !typed_bytes(env, argv[5], &dst, &dst_cap) ||
      !typed_bytes(env, argv[7], &time, &time_len))
    return fail(env, "frameLines: src, dst and timeBytes must be Uint8Arrays");
  napi_typedarray_type st_type;
  size_t st_len;
  void* st_data;
  if (napi_get_typedarray_info(env, argv[8], &st_type, &st_len, &st_data, NULL, NULL) != napi_ok ||
      st_type != napi_int32_array || st_len < 5)
    return fail(env, "frameLines: state must be an Int32Array of 5");
  int32_t* state = (int32_t*)st_data;
  int64_t src_len, max_entry, max_logs, dst_limit;
  bool flush;
  if (napi_get_value_int64(env, argv[1], &src_len) != napi_ok || napi_get_value_bool(env, argv[2], &flush) != napi_ok ||
      napi_get_value_int64(env, argv[3], &max_entry) != napi_ok ||
      napi_get_value_int64(env, argv[4], &max_logs) != napi_ok ||
      napi_get_value_int64(env, argv[6], &dst_limit) != napi_ok)
    return fail(env, "frameLines: bad number argument");
  if (src_len < 0 || (uint64_t)src_len > src_cap || dst_limit < 0 || (uint64_t)dst_limit > dst_cap ||
      state[0] < 0 || state[0] > src_len || state[1] < 0 || state[1] > dst_limit || max_entry < 1 ||
      max_entry > 0x7fffffff - 64 || time_len > 16)
    return fail(env, "frameLines: arguments out of range");

  const uint8_t* s = (const uint8_t*)src;
  size_t len = (size_t)src_len;
  size_t start = (size_t)state[0];
  size_t pos = (size_t)state[1];
  size_t limit = (size_t)dst_limit;
  int64_t logs = 0;
  int32_t status = 0;
  for (;;) {
    size_t end, next;
    int cut;
    int tail = 0;
    const uint8_t* nl = start < len ? memchr(s + start, 0x0a, len - start) : NULL;
    if (nl != NULL) {
      size_t at = (size_t)(nl - s);
      end = at > start && s[at - 1] == 0x0d ? at - 1 : at;
      cut = at - start > (size_t)max_entry;
      next = at + 1;
    } else if (start < len && (flush || len - start >= (size_t)max_entry)) {
      end = len;
      cut = len - start >= (size_t)max_entry;
      tail = 1;
    } else
      break;
    if (end - start > (size_t)max_entry) end = start + (size_t)max_entry;
    if (tail) next = end;
    if (logs >= max_logs) {
      status = 2;
      break;
    }
    uint32_t vlen = (uint32_t)(end - start);
    uint32_t pair = 10 + (uint32_t)varint_size(vlen) + vlen;
    uint32_t log_size = (uint32_t)time_len + 1 + (uint32_t)varint_size(pair) + pair;
    if (pos + log_size + 6 > limit) {
      state[4] = (int32_t)(log_size + 6);
      status = 1;
      break;
    }
    uint8_t* p = (uint8_t*)dst + pos;
    *p++ = 0x0a; /* LogGroup.Logs */
    p = put_varint(p, log_size);
    memcpy(p, time, time_len); /* Log.Time, tag included */
    p += time_len;
    *p++ = 0x12; /* Log.Contents */
    p = put_varint(p, pair);
    memcpy(p, "\x0a\x07" "content" "\x12", 10); /* key "content" (tag, length 7), then the value tag */
    p = put_varint(p + 10, vlen);
    memmove(p, s + start, vlen); /* src and dst may be two views of one arena (never overlapping ranges) */
    pos = (size_t)(p + vlen - (uint8_t*)dst);
    logs++;
    state[3] += cut;
    start = next;
    if (tail) break;
  }
  state[0] = (int32_t)start;
  state[1] = (int32_t)pos;
  state[2] += (int32_t)logs;
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  LZ4_stream_t* state = malloc(sizeof(LZ4_stream_t));
  if (state == NULL || napi_set_instance_data(env, state, free_state, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, NULL, "sluice-lz4: cannot allocate the LZ4 state");
    return NULL;
  }
  napi_value fn;
  napi_value version;
  if (napi_create_function(env, "compress", NAPI_AUTO_LENGTH, compress, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "compress", fn);
  if (napi_create_function(env, "frameLines", NAPI_AUTO_LENGTH, frame_lines, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "frameLines", fn);
  if (napi_create_function(env, "validateLogGroup", NAPI_AUTO_LENGTH, validate_napi, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "validateLogGroup", fn);
  napi_create_string_utf8(env, LZ4_versionString(), NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "lz4Version", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
