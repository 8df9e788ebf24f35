/* An example batchq handler plugin, in plain C: job type "vector_stats".
 * Input: a JSON array of numbers. Result: {"count","sum","mean","min","max"}.
 * Anything else fails that item alone with invalid_input.
 *
 * Build:  cc -shared -fPIC -I<batchq>/gpu_worker/include vector_stats.c -o libvector_stats.so
 * Run:    gpu_worker --handler-lib ./libvector_stats.so --handler-config "max_len=1000"
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchq_handler.h"

struct state {
  size_t max_len; /* longest array accepted */
};

static void* create(const char* config, char* error, size_t error_size) {
  struct state* s = malloc(sizeof *s);
  if (s == NULL) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  s->max_len = 100000;
  if (strncmp(config, "max_len=", 8) == 0) {
    char* end = NULL;
    unsigned long n = strtoul(config + 8, &end, 10);
    if (*end != '\0' || n == 0) {
      snprintf(error, error_size, "max_len must be a positive integer, not '%s'", config + 8);
      free(s);
      return NULL;
    }
    s->max_len = n;
  } else if (config[0] != '\0') {
    snprintf(error, error_size, "unknown config '%s' (expected max_len=N)", config);
    free(s);
    return NULL;
  }
  return s;
}

static void destroy(void* state) { free(state); }

static const char* skip_space(const char* p, const char* end) {
  while (p < end && isspace((unsigned char)*p)) ++p;
  return p;
}

/* Parses one item; returns NULL on success or a sentence saying what is wrong. */
static const char* stats(const struct state* s, const char* p, const char* end, size_t* count,
                         double* sum, double* lo, double* hi) {
  char number[64];
  p = skip_space(p, end);
  if (p == end || *p != '[') return "The input must be a JSON array of numbers.";
  p = skip_space(p + 1, end);
  *count = 0;
  *sum = 0;
  if (p < end && *p == ']') return skip_space(p + 1, end) == end ? NULL : "Trailing bytes.";
  for (;;) {
    size_t n = 0;
    while (p + n < end && n < sizeof number - 1 && strchr("+-.eE0123456789", p[n])) ++n;
    if (n == 0) return "The input must be a JSON array of numbers.";
    memcpy(number, p, n);
    number[n] = '\0';
    char* stop = NULL;
    errno = 0;
    double v = strtod(number, &stop);
    if (*stop != '\0' || errno != 0 || !isfinite(v)) return "An array entry is not a number.";
    if (++*count > s->max_len) return "The array is longer than this handler's max_len.";
    *sum += v;
    if (*count == 1 || v < *lo) *lo = v;
    if (*count == 1 || v > *hi) *hi = v;
    p = skip_space(p + n, end);
    if (p < end && *p == ',') {
      p = skip_space(p + 1, end);
      continue;
    }
    if (p < end && *p == ']') return skip_space(p + 1, end) == end ? NULL : "Trailing bytes.";
    return "The input must be a JSON array of numbers.";
  }
}

static int run(void* state, const batchq_item* items, size_t count, batchq_results* results,
               const batchq_host_api* host, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  for (size_t i = 0; i < count; ++i) {
    /* ABI 2: a job cancelled while its batch runs is skipped. */
    if (host->cancelled(results, i)) {
      host->set_error(results, i, "cancelled", "The job was cancelled while it ran.");
      continue;
    }
    size_t n = 0;
    double sum = 0, lo = 0, hi = 0;
    const char* bad =
        stats(state, items[i].input, items[i].input + items[i].input_len, &n, &sum, &lo, &hi);
    if (bad != NULL) {
      host->set_error(results, i, "invalid_input", bad);
      continue;
    }
    char json[256];
    int len = n == 0 ? snprintf(json, sizeof json, "{\"count\":0,\"sum\":0}")
                     : snprintf(json, sizeof json,
                                "{\"count\":%zu,\"sum\":%.17g,\"mean\":%.17g,\"min\":%.17g,"
                                "\"max\":%.17g}",
                                n, sum, sum / (double)n, lo, hi);
    host->set_json(results, i, json, (size_t)len);
  }
  return 0;
}

static const batchq_handler_v1 kHandler = {BATCHQ_HANDLER_ABI_VERSION, "vector_stats", create,
                                           destroy, run};

const batchq_handler_v1* batchq_handler_entry(void) { return &kHandler; }
