#pragma once
// How the submit path makes new jobs durable without waiting on Redis itself: it hands
// them over with a callback, and answers 202 only from that callback, once Redis has
// them. An interface so SubmitHandler can be unit-tested with a synchronous stand-in;
// GroupCommit (group_commit.h) is the real one.

#include <functional>
#include <optional>
#include <span>

#include "common/error.h"
#include "common/job_store.h"

namespace batchq {

class JobCommitPort {
 public:
  // What Redis said for one submit: its creation, and when replicas must have it, how
  // many did (nullopt: none were asked for).
  struct Outcome {
    Result<CreateOutcome> created;
    std::optional<Result<int>> replicas;
  };
  using Done = std::function<void(Outcome)>;

  virtual ~JobCommitPort() = default;
  // Makes `jobs` durable (with `claim`, as JobStore::Create does) and then calls `done`
  // once, on any thread. `jobs` and the claim's texts must stay valid until then.
  // Returns false at once, never calling `done`, when it holds as much as it may: the
  // caller answers 503 overloaded.
  virtual bool Commit(std::span<const NewJob> jobs, std::optional<IdempotencyClaim> claim,
                      Done done) = 0;
};

}  // namespace batchq
