/* A plugin built against version 1 of the handler ABI, as such plugins were written
 * before version 2: its struct says 1 and it never asks whether an item was cancelled.
 * The worker must keep loading and running it. It answers each input as given. */
#include <stddef.h>
#include <stdint.h>

#include "batchq_handler.h"

static void* create(const char* config, char* error, size_t error_size) {
  (void)config;
  (void)error;
  (void)error_size;
  static int state;
  return &state;
}

static void destroy(void* state) { (void)state; }

static int run(void* state, const batchq_item* items, size_t count, batchq_results* results,
               const batchq_host_api* host, char* error, size_t error_size) {
  (void)state;
  (void)error;
  (void)error_size;
  for (size_t i = 0; i < count; ++i) host->set_json(results, i, items[i].input, items[i].input_len);
  return 0;
}

static const batchq_handler_v1 kHandler = {1u, "echo_v1", create, destroy, run};

const batchq_handler_v1* batchq_handler_entry(void) { return &kHandler; }
