#pragma once
// A batch's finish as an optimistic transaction instead of the finish script: the
// records are read under WATCH, what the script would write is decided here, and one
// MULTI ... EXEC writes it, which Redis runs only if nothing watched changed since the
// read (the epoch and the records: the same fencing as the script's). Lua's own work
// was two thirds of what the script cost Redis (docs/BENCHMARKS.md, forty-ninth and
// fiftieth parts). Only the common path is decided here: a batch that needs the script's
// rarer work (a retry with its history, a record read back for its carried record, a
// record of an unexpected shape) is left to the script, the one complete finish, whose
// writes these are byte for byte. Pure: JobStore sends what it builds and reads.

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_connection.h"

namespace batchq {

// One outcome, as JobStore::Finish prepares it for the script (job_store_scripts.cpp).
struct FinishJob {
  std::string_view key;                     // its record's
  std::string_view token;                   // the attempt it ran as
  std::string_view blob;                    // a binary result's bytes; '' none
  std::string_view jitter;                  // '' unless a retryable failure
  std::string_view ending;                  // its ending's carried text; '' not carried
  std::span<const std::string_view> pairs;  // the outcome's field/value pairs
};

struct FinishBatch {
  std::string_view now_us;
  std::string_view ttl_s;
  std::string_view done_channel;
  std::string_view progress_channel;
  std::string_view release_minute;
  std::string_view key_prefix;
  std::string_view pending_key;
  std::string_view epoch_key;  // '' unless the batch is claimed at write
  std::string_view epoch;
  std::span<const std::string_view> start_pairs;  // written on the jobs claimed here
  std::string_view start_text;                    // the start's carried text; '' none
  std::span<const FinishJob> jobs;
};

// Not thread-safe. Views into the batch, which must outlive it. The commands it builds
// are views into the batch, into this object and into the replies Decide was given,
// which must outlive their sending.
class FinishTransaction {
 public:
  // `settle_script`: the body of the stored-bytes script (job_scripts::kSettleScript),
  // run inside the MULTI by EVAL, since what it does depends on what HINCRBY answers.
  FinishTransaction(const FinishBatch& batch, std::string_view settle_script);

  // WATCH of the epoch key (when claiming) and the records, then GET of the epoch and
  // PUBSUB NUMSUB of the progress channel (when claiming), then an HMGET per record.
  const std::vector<std::vector<std::string_view>>& reads() const { return reads_; }

  enum class Decision {
    kWrite,    // send writes(); written() says which jobs it ends
    kNothing,  // no job may be written (a stale epoch, or each fenced off): UNWATCH
    kScript,   // the batch needs what only the script does: UNWATCH and run it
  };
  // From the replies to reads(), in order; may be called again with new replies.
  Decision Decide(std::span<const RedisReply> replies);

  // MULTI, the writes, EXEC; valid after kWrite.
  const std::vector<std::vector<std::string_view>>& writes() const { return writes_; }
  // Per job: whether the decided write ends it (else the fence refused it).
  const std::vector<bool>& written() const { return written_; }

 private:
  struct Account {
    std::string tenant;
    long long total = 0;
    std::vector<std::pair<std::string, long long>> minutes{};  // in first-seen order
    void Add(std::string_view minute, long long bytes);
  };
  // One record's first read (the script's st[1..8]); nullptr for an absent field.
  struct Read {
    const std::string* field[8] = {};
  };
  static bool ParseRead(const RedisReply& reply, Read& read);
  // The record's new stored-bytes entry, or '' when it has none; false when it does not
  // parse (the script's to judge).
  bool Restate(const Read& read, long long extra, std::string_view& entry);
  // Decides one job that the fence lets through; false: the script's.
  bool WriteJob(const FinishJob& job, long long token, const Read& read, bool claimed, bool heard);
  void WriteEnding(const FinishJob& job, std::string_view entry, bool claimed);
  void WriteAccounts();
  void WritePublishes();

  const FinishBatch& batch_;
  const std::string_view settle_script_;
  std::vector<std::vector<std::string_view>> reads_;
  std::vector<std::vector<std::string_view>> writes_;
  std::vector<bool> written_;
  std::deque<std::string> texts_;  // the texts writes_ views; a deque keeps them in place
  std::vector<Account> accounts_;
  std::vector<std::string_view> ended_ids_;
  std::vector<std::string> changes_;  // the ended jobs' change lines
  std::string started_;               // the running lines of the jobs claimed here
  std::vector<std::string> carried_;  // messages of carried records, 100 records each
  std::size_t chunk_records_ = 0;
};

}  // namespace batchq
