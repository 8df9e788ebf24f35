/* A plugin whose failures are chosen by its input, for the retry tests: the input
 * "KEY:N" (a JSON string) fails with "transient_error" the first N times this process
 * runs KEY, then answers {"key":"KEY","runs":R}; "permanent" fails with
 * "invalid_input". Its counts live in the worker process, so tests run one worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchq_handler.h"

#define MAX_KEYS 256
#define MAX_KEY 64

struct seen {
  char key[MAX_KEY];
  int runs;
};

static struct seen seen[MAX_KEYS];
static int seen_count;

/* The runs of `key` so far, this one included. */
static int count_run(const char* key) {
  for (int i = 0; i < seen_count; ++i) {
    if (strcmp(seen[i].key, key) == 0) return ++seen[i].runs;
  }
  if (seen_count == MAX_KEYS) return 1;
  snprintf(seen[seen_count].key, MAX_KEY, "%s", key);
  seen[seen_count].runs = 1;
  return seen[seen_count++].runs;
}

static void* create(const char* config, char* error, size_t error_size) {
  (void)config;
  (void)error;
  (void)error_size;
  static int state;
  return &state;
}

static void destroy(void* state) { (void)state; }

static void run_item(const batchq_item* item, size_t index, batchq_results* results,
                     const batchq_host_api* host) {
  char text[MAX_KEY + 16] = {0};
  /* The input is a JSON string: drop its quotes. */
  if (item->input_len < 2 || item->input_len - 2 >= sizeof text || item->input[0] != '"') {
    host->set_error(results, index, "invalid_input",
                    "The input must be \"KEY:N\" or \"permanent\".");
    return;
  }
  memcpy(text, item->input + 1, item->input_len - 2);
  if (strcmp(text, "permanent") == 0) {
    host->set_error(results, index, "invalid_input", "This input always fails.");
    return;
  }
  char* colon = strchr(text, ':');
  if (colon == NULL || colon == text || colon - text >= MAX_KEY) {
    host->set_error(results, index, "invalid_input",
                    "The input must be \"KEY:N\" or \"permanent\".");
    return;
  }
  *colon = '\0';
  const int failures = atoi(colon + 1);
  const int runs = count_run(text);
  if (runs <= failures) {
    char message[128];
    snprintf(message, sizeof message, "Run %d of %s failed on purpose.", runs, text);
    host->set_error(results, index, "transient_error", message);
    return;
  }
  char json[MAX_KEY + 32];
  const int len = snprintf(json, sizeof json, "{\"key\":\"%s\",\"runs\":%d}", text, runs);
  host->set_json(results, index, json, (size_t)len);
}

static int run(void* state, const batchq_item* items, size_t count, batchq_results* results,
               const batchq_host_api* host, char* error, size_t error_size) {
  (void)state;
  (void)error;
  (void)error_size;
  for (size_t i = 0; i < count; ++i) run_item(&items[i], i, results, host);
  return 0;
}

static const batchq_handler_v1 kHandler = {BATCHQ_HANDLER_ABI_VERSION, "flaky", create, destroy,
                                           run};

BATCHQ_HANDLER_EXPORT const batchq_handler_v1* batchq_handler_entry(void) { return &kHandler; }
