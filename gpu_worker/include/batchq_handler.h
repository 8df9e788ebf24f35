/* batchq handler plugin ABI, version 2 (version 1 plugins load and run unchanged).
 *
 * Bring your own kernel without forking batchq: compile a shared library that
 * exports `batchq_handler_entry` and start a worker with
 *   gpu_worker --handler-lib ./libmine.so [--handler-config "text for create()"]
 * The worker registers the plugin's job type with the broker like a built-in one.
 *
 * Promises, both ways:
 * - Plain C, no C++ types cross the boundary; the struct below only grows at its
 *   end, and `abi_version` says which fields exist. A worker refuses a plugin whose
 *   version it does not know.
 * - `run` is called from one thread at a time, with a whole batch; `state` is what
 *   `create` returned. Input texts are valid only during the call.
 * - For each item, call exactly one of the host's setters; the bytes are copied
 *   before the setter returns. An item left unset fails with code "handler_error".
 * - Return 0 when the batch ran (items may still have their own errors). Return
 *   non-zero, with a sentence in `error`, when the whole batch failed (a device
 *   error): every item then fails with code "plugin_error" and that sentence.
 * - Thread-safety: none required of the plugin beyond the above.
 */
#ifndef BATCHQ_HANDLER_H
#define BATCHQ_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2 added batchq_host_api.cancelled. A plugin built against version 1 says 1 and is
 * never asked for it. */
#define BATCHQ_HANDLER_ABI_VERSION 2u

/* One job's input: its JSON text (not NUL-terminated). */
typedef struct batchq_item {
  const char* input;
  size_t input_len;
} batchq_item;

/* Opaque: where the results of the running batch go. */
typedef struct batchq_results batchq_results;

typedef struct batchq_host_api {
  /* A JSON result (any JSON value, as text). */
  void (*set_json)(batchq_results* results, size_t index, const char* json, size_t json_len);
  /* A binary result served raw at GET /v1/jobs/{id}/result with `content_type`,
   * plus a JSON description shown in the job record (may be NULL: then {}). */
  void (*set_binary)(batchq_results* results, size_t index, const char* content_type,
                     const void* data, size_t data_len, const char* json, size_t json_len);
  /* This item alone failed: a code of batchq's error table (e.g. "invalid_input"; another
   * code becomes "handler_error", with the code kept in the sentence) and a sentence.
   * "transient_error" (a failure of the moment) runs the job again after a backoff,
   * within its max_retries. */
  void (*set_error)(batchq_results* results, size_t index, const char* code, const char* message);
  /* Since version 2: non-zero when item `index`'s job was cancelled while the batch runs
   * (DELETE /v1/jobs/{id}). A plugin may ask between items or kernel launches, skip such
   * an item (set_error with code "cancelled") and return early once every item is; the
   * worker refuses a cancelled job's result either way. Thread-safe. */
  int (*cancelled)(batchq_results* results, size_t index);
} batchq_host_api;

typedef struct batchq_handler_v1 {
  uint32_t abi_version; /* BATCHQ_HANDLER_ABI_VERSION */
  const char* type;     /* the job type it serves: 1-64 of [A-Za-z0-9_.-] */
  /* Builds the handler's state from the --handler-config text (never NULL, may be
   * empty). Returns NULL on failure with a sentence in `error`. */
  void* (*create)(const char* config, char* error, size_t error_size);
  void (*destroy)(void* state);
  int (*run)(void* state, const batchq_item* items, size_t count, batchq_results* results,
             const batchq_host_api* host, char* error, size_t error_size);
} batchq_handler_v1;

#if defined(__GNUC__)
#define BATCHQ_HANDLER_EXPORT __attribute__((visibility("default")))
#else
#define BATCHQ_HANDLER_EXPORT
#endif

/* The one symbol a plugin exports. */
BATCHQ_HANDLER_EXPORT const batchq_handler_v1* batchq_handler_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* BATCHQ_HANDLER_H */
