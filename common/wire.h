#pragma once
// The ZeroMQ wire protocol, version 1. Every message is two frames after any
// routing id: a 2-byte header {version, command} and a msgpack body.
// Gateway DEALER <-> broker ROUTER (frontend): SUBMIT, ACCEPT, PING, STATUS.
// Worker DEALER <-> broker ROUTER (backend): READY, BATCH, DONE, HEARTBEAT, DISCONNECT.
// A standby broker answers PING with an inactive STATUS, SUBMIT with refusals and any
// worker message with DISCONNECT, so its peers move on to the active one.
// Decoding never asserts: a malformed frame becomes an Error with code "bad_frame".

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"

namespace batchq::wire {

inline constexpr std::uint8_t kVersion = 1;
// Frames above this size are rejected before decoding (the sockets also set MAXMSGSIZE).
inline constexpr std::size_t kMaxBodyBytes = 64u << 20;

enum class Command : std::uint8_t {
  kSubmit = 1,
  kAccept = 2,
  kPing = 3,
  kStatus = 4,
  kCancel = 5,
  kReady = 10,
  kBatch = 11,
  kDone = 12,
  kHeartbeat = 13,
  kDisconnect = 14,
};

struct SubmitJob {
  std::string id;
  std::string type;
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;           // attempts already made (0 for a new job)
  std::string input;                    // the job's input as JSON text
  std::int64_t created_us = 0;          // wall clock, when the gateway accepted it
  std::int64_t timeout_ms = 0;          // must be dispatched within this of created_us; 0: none
  std::string tenant;                   // of the submitting key; fair share is between tenants
  std::uint32_t tenant_weight = 1;      // the tenant's share of its job types
  std::uint64_t tenant_max_queued = 0;  // refuse (quota_exceeded) past this many queued; 0: none
};

// Gateway -> broker. One request may carry many jobs (POST /v1/jobs:batch).
struct Submit {
  std::uint64_t request_id = 0;
  std::vector<SubmitJob> jobs;
};

// One per submitted job, in order. An empty code means the broker queued the job.
struct Verdict {
  std::string code;
  std::string message;
  std::int64_t retry_after_ms = 0;
};

// Broker -> gateway, answering a Submit.
struct Accept {
  std::uint64_t request_id = 0;
  std::vector<Verdict> verdicts;
};

// Gateway -> broker after a job was cancelled in Redis: take it out of the queue.
struct Cancel {
  std::string id;
};

// Gateway -> broker liveness probe; answered with a Status.
struct Ping {
  std::uint64_t seq = 0;
};

struct TypeStatus {
  std::string name;
  std::uint32_t max_batch_size = 0;
  std::int64_t max_delay_us = 0;
  std::uint32_t max_queue = 0;
  std::uint64_t queue_depth = 0;
  std::uint32_t in_flight_batches = 0;
  std::uint32_t workers = 0;
  std::int64_t oldest_wait_us = 0;  // how long the oldest queued job has waited
  double cost_fixed_us = 0;         // learned batch cost a + b·n
  double cost_per_item_us = 0;
  double arrivals_per_s = 0;
  double dispatched_per_s = 0;
  bool adaptive = true;
  std::vector<std::uint32_t> preferred_batch_sizes;
  std::uint64_t max_batch_bytes = 0;
  std::int64_t default_timeout_ms = 0;
  // Dispatched batches by size bucket: [0] size 1, [i] sizes 2^(i-1)+1 .. 2^i, the
  // last one everything larger.
  std::vector<std::uint64_t> batch_sizes;
  std::int64_t max_queue_wait_ms = 0;   // admission by time; 0: no bound
  std::int64_t projected_wait_us = -1;  // queued jobs / drain rate; -1: no rate known
  // Past its bound: submits of this type are refused, for about this long; 0: admitting.
  std::int64_t refusing_retry_after_ms = 0;
  // Defaults for jobs that do not name their own (TypeSettings).
  std::uint32_t max_retries = 0;
  std::int64_t retry_backoff_ms = 0;
};

struct WorkerStatus {
  std::string name;
  std::vector<std::string> types;
  std::string backend;
  std::string device;
  std::uint32_t credits = 0;
  std::uint32_t free_credits = 0;
  std::uint64_t batches_done = 0;
  std::uint64_t device_memory_bytes = 0;
};

struct Status {
  std::uint64_t seq = 0;
  std::vector<TypeStatus> types;
  std::vector<WorkerStatus> workers;
  // Whether this broker holds the lease; a standby answers false (and nothing else), so
  // gateways move on to the next broker endpoint.
  bool active = true;
  std::uint64_t epoch = 0;  // the lease's epoch while active
};

// Worker -> broker on connect: what it serves and how many batches it may hold at once.
struct Ready {
  std::string name;
  std::vector<std::string> types;
  std::uint32_t credits = 2;
  std::string backend;
  std::string device;                     // the GPU's name, or "cpu"
  std::uint64_t device_memory_bytes = 0;  // the GPU's total memory; 0 on the CPU
};

struct BatchJob {
  std::string id;
  std::uint32_t attempt = 1;  // fencing token: the Redis record only accepts this attempt's result
  std::string input;
};

// Broker -> worker.
struct Batch {
  std::string batch_id;
  std::string type;
  std::int64_t dispatched_us = 0;  // wall clock, for the job timeline
  std::string close_reason;        // why the broker closed it (full, max_delay, ...)
  std::vector<BatchJob> jobs;
  // The dispatching broker's lease epoch: Redis lets the batch's jobs start only while
  // it is current, so a deposed broker's batches run nothing.
  std::uint64_t epoch = 0;
};

// A job of a done batch that failed retryably and was queued again in Redis: the broker
// holds it back for its backoff, then queues it.
struct RetryLater {
  std::string id;
  std::int64_t delay_ms = 0;
};

// Worker -> broker after the batch's results are in Redis; returns the credit.
struct Done {
  std::string batch_id;
  std::uint32_t size = 0;
  std::int64_t exec_us = 0;  // handler time for the whole batch
  std::vector<RetryLater> retries;
};

struct Heartbeat {
  std::int64_t sent_us = 0;
};

struct Disconnect {
  std::string reason;
};

using Message =
    std::variant<Submit, Accept, Ping, Status, Ready, Batch, Done, Heartbeat, Disconnect, Cancel>;

struct Frames {
  std::string header;
  std::string body;
};

Frames Encode(const Message& message);
Result<Message> Decode(std::string_view header, std::string_view body);

std::string_view CommandName(const Message& message);

}  // namespace batchq::wire
