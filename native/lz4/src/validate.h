/* validateLogGroup in C: see validate.c. */
#ifndef SLUICE_VALIDATE_H
#define SLUICE_VALIDATE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  double max_logs; /* a LogGroup with this many logs already rejects one more */
  /* The largest key, value, topic and source length accepted (-1: none). */
  int64_t key_max;
  int64_t value_max;
  int64_t topic_max;
  int64_t source_max;
  int strict;
} validate_limits;

typedef struct {
  double logs;
  uint32_t min_time;
  uint32_t max_time;
} validate_stats;

/* 1 when `buf` passes every check of log-group-validate.ts (then `out` holds its stats), else 0. */
int validate_log_group(const uint8_t* buf, size_t n, const validate_limits* lim, validate_stats* out);

/* validateLogGroup(bytes: Uint8Array, limits: Float64Array(6), out: Float64Array(3)): boolean. */
napi_value validate_napi(napi_env env, napi_callback_info info);

#endif
