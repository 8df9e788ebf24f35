// A batch's finish as an optimistic transaction (finish_transaction.h). Each step says
// which part of the finish script (job_store_scripts.cpp) it does the same as.
#include "common/finish_transaction.h"

#include <algorithm>
#include <charconv>

#include "common/job_change.h"
#include "common/job_record.h"
#include "common/job_status.h"
#include "common/job_store_scripts.h"
#include "common/parse_number.h"

namespace batchq {
namespace {

// The script's first HMGET of a record, in its order (st[1..8]).
enum ReadSlot { kStatus, kAttempts, kId, kTenant, kStorage, kType, kCallbackUrl, kCreation };
constexpr std::size_t kReadSlots = 8;

// A number as Lua's tonumber reads a record's digits; false for anything else.
bool ParseInteger(std::string_view text, long long& value) {
  const auto number = ParseWholeNumber<long long>(text);
  if (number) value = *number;
  return number.has_value();
}

std::string_view Or(const std::string* value, std::string_view absent) {
  return value != nullptr ? std::string_view(*value) : absent;
}

// The script's `change(id, status, attempt, tenant, type)`: the change line the gateway's
// group commit writes too (AppendJobChange).
void AppendChangeLine(std::string& out, std::string_view id, JobStatus status, long long attempt,
                      std::string_view tenant, std::string_view type) {
  JobChangeView change;
  change.id = id;
  change.status = status;
  change.attempt = attempt;
  change.tenant = tenant;
  change.type = type;
  AppendJobChange(out, change);
}

// The script's `status_in`: the outcome's status among its pairs, or ''.
std::string_view StatusIn(std::span<const std::string_view> pairs) {
  for (std::size_t k = 0; k + 1 < pairs.size(); k += 2) {
    if (pairs[k] == FieldName(RecordField::kStatus)) return pairs[k + 1];
  }
  return "";
}

// Lua writes a sum as %.14g: past 14 digits it would not be these digits.
constexpr long long kLuaExactBelow = 100'000'000'000'000;

// The messages a script call publishes a list in: 500 entries each (kPublishEnded),
// 100 carried records each (kCarryRecord's caller).
constexpr std::size_t kEndedPerMessage = 500;
constexpr std::size_t kCarriedPerMessage = 100;

}  // namespace

void FinishTransaction::Account::Add(std::string_view minute, long long bytes) {
  for (auto& [name, sum] : minutes) {
    if (name == minute) {
      sum += bytes;
      return;
    }
  }
  minutes.emplace_back(std::string(minute), bytes);
}

FinishTransaction::FinishTransaction(const FinishBatch& batch, std::string_view settle_script)
    : batch_(batch), settle_script_(settle_script) {
  const bool claiming = !batch.epoch_key.empty();
  std::vector<std::string_view>& watch = reads_.emplace_back();
  watch.reserve(2 + batch.jobs.size());
  watch.push_back("WATCH");
  if (claiming) watch.push_back(batch.epoch_key);
  for (const FinishJob& job : batch.jobs) watch.push_back(job.key);
  if (claiming) {
    reads_.push_back({"GET", batch.epoch_key});
    reads_.push_back({"PUBSUB", "NUMSUB", batch.progress_channel});
  }
  for (const FinishJob& job : batch.jobs) {
    reads_.push_back({"HMGET", job.key, FieldName(RecordField::kStatus),
                      FieldName(RecordField::kAttempts), FieldName(RecordField::kId),
                      FieldName(RecordField::kTenant), FieldName(RecordField::kStorage),
                      FieldName(RecordField::kType), FieldName(RecordField::kCallbackUrl),
                      kCreationCarriedField});
  }
}

bool FinishTransaction::ParseRead(const RedisReply& reply, Read& read) {
  if (reply.kind != RedisReply::Kind::kArray || reply.elements.size() != kReadSlots) return false;
  for (std::size_t i = 0; i < kReadSlots; ++i) {
    const RedisReply& element = reply.elements[i];
    if (element.kind == RedisReply::Kind::kString) {
      read.field[i] = &element.str;
    } else if (element.kind != RedisReply::Kind::kNil) {
      return false;
    }
  }
  return true;
}

FinishTransaction::Decision FinishTransaction::Decide(std::span<const RedisReply> replies) {
  writes_.clear();
  written_.assign(batch_.jobs.size(), false);
  texts_.clear();
  accounts_.clear();
  ended_ids_.clear();
  changes_.clear();
  started_.clear();
  carried_.clear();
  chunk_records_ = 0;
  if (replies.size() != reads_.size() || replies[0].is_error()) return Decision::kScript;
  const bool claiming = !batch_.epoch_key.empty();
  std::size_t at = 1;
  bool heard = false;
  if (claiming) {
    const RedisReply& epoch = replies[at++];
    const RedisReply& numsub = replies[at++];
    if (epoch.is_error() || numsub.kind != RedisReply::Kind::kArray ||
        numsub.elements.size() != 2) {
      return Decision::kScript;
    }
    // The script's fence: a deposed broker's batch claims and writes nothing.
    if (epoch.kind != RedisReply::Kind::kString || epoch.str != batch_.epoch) {
      return Decision::kNothing;
    }
    heard = numsub.elements[1].integer != 0;
  }
  writes_.push_back({"MULTI"});
  for (std::size_t i = 0; i < batch_.jobs.size(); ++i) {
    const FinishJob& job = batch_.jobs[i];
    Read read;
    long long token = 0;
    if (!ParseRead(replies[at++], read) || !ParseInteger(job.token, token)) {
      return Decision::kScript;
    }
    const std::string_view status = Or(read.field[kStatus], "");
    const bool running = status == ToString(JobStatus::kRunning);
    bool owned = running && Or(read.field[kAttempts], "") == job.token;
    bool claimed = false;
    if (!owned && claiming) {
      long long attempts = 0;
      if (running && !ParseInteger(Or(read.field[kAttempts], "0"), attempts)) {
        return Decision::kScript;
      }
      claimed = status == ToString(JobStatus::kQueued) || (running && attempts < token);
      owned = claimed;
    }
    if (!owned) continue;
    if (!WriteJob(job, token, read, claimed, heard)) return Decision::kScript;
    written_[i] = true;
  }
  if (ended_ids_.empty()) return Decision::kNothing;
  WriteAccounts();
  WritePublishes();
  writes_.push_back({"EXEC"});
  return Decision::kWrite;
}

bool FinishTransaction::Restate(const Read& read, long long extra, std::string_view& entry) {
  entry = {};
  // The script's `restate`: records written before the accounts existed have no entry.
  if (read.field[kTenant] == nullptr || read.field[kStorage] == nullptr) return true;
  const std::string_view storage = *read.field[kStorage];
  const std::size_t space = storage.find(' ');
  if (space == std::string_view::npos) return true;
  long long bytes = 0;
  if (!ParseInteger(storage.substr(space + 1), bytes) || bytes < 0 ||
      bytes + extra >= kLuaExactBelow) {
    return false;
  }
  auto account = std::find_if(accounts_.begin(), accounts_.end(),
                              [&](const Account& a) { return a.tenant == *read.field[kTenant]; });
  if (account == accounts_.end()) {
    account = accounts_.insert(accounts_.end(), Account{.tenant = *read.field[kTenant]});
  }
  account->Add(storage.substr(0, space), -bytes);
  account->total += extra;
  account->Add(batch_.release_minute, bytes + extra);
  std::string& text = texts_.emplace_back(batch_.release_minute);
  text += ' ';
  text += std::to_string(bytes + extra);
  entry = text;
  return true;
}

bool FinishTransaction::WriteJob(const FinishJob& job, long long token, const Read& read,
                                 bool claimed, bool heard) {
  // A retry queues the job again with its history: the script's.
  if (!job.jitter.empty() || read.field[kId] == nullptr) return false;
  const bool claiming = !batch_.epoch_key.empty();
  // The script's carried record from the texts alone (its kept_none): the creation's
  // text is the record's on a first attempt, and the start's is in hand. Else it reads
  // the record's other fields back, which only the script does.
  const bool has_start = (claimed || !claiming) && !batch_.start_text.empty();
  const bool has_base = job.token == "1" && read.field[kCreation] != nullptr;
  if (!job.ending.empty() && !(has_start && has_base)) return false;

  long long extra = static_cast<long long>(job.blob.size());
  for (std::size_t k = 1; k < job.pairs.size(); k += 2) extra += job.pairs[k].size();
  std::string_view entry;
  if (!Restate(read, extra, entry)) return false;

  const std::string_view id = *read.field[kId];
  const std::string_view tenant = Or(read.field[kTenant], "");
  const std::string_view type = Or(read.field[kType], "");
  // The outcome's status as the script copies it: one of the statuses, from OutcomeFields.
  const std::optional<JobStatus> ended = ParseJobStatus(StatusIn(job.pairs));
  if (!ended) return false;
  if (claimed && heard) {
    if (!started_.empty()) started_ += '\n';
    AppendChangeLine(started_, id, JobStatus::kRunning, token, tenant, type);
  }
  WriteEnding(job, entry, claimed);
  writes_.push_back({"EXPIRE", job.key, batch_.ttl_s});
  if (!job.blob.empty()) {
    const std::string& blob_key = texts_.emplace_back(std::string(job.key) + ":blob");
    writes_.push_back({"SET", blob_key, job.blob, "EX", batch_.ttl_s});
  }
  ended_ids_.push_back(id);
  std::string& line = changes_.emplace_back();
  AppendChangeLine(line, id, *ended, token, tenant, type);
  // The script's `carry_record`, with kept_none.
  if (!job.ending.empty()) {
    const std::string_view base = *read.field[kCreation];
    if (job.ending.size() + batch_.start_text.size() + base.size() <= kMaxCarriedRecordBytes) {
      if (chunk_records_ == 0) carried_.emplace_back();
      std::string& chunk = carried_.back();
      if (!chunk.empty()) chunk += '\n';
      chunk.append(line).append(job.ending).append(batch_.start_text).append(base);
      chunk_records_ = (chunk_records_ + 1) % kCarriedPerMessage;
    }
  }
  // The script's `queue_webhook`.
  const std::string_view url = Or(read.field[kCallbackUrl], "");
  if (!url.empty()) {
    const std::string& delivery =
        texts_.emplace_back(std::string(id) + '.' + std::string(job.token));
    const std::string& hook =
        texts_.emplace_back(std::string(batch_.key_prefix) + "webhook:" + delivery);
    writes_.push_back({"HSET", hook, "job", id, "tenant", tenant, "state", "pending", "tries", "0",
                       "created_us", batch_.now_us});
    long long now_us = 0;
    if (!ParseInteger(batch_.now_us, now_us)) return false;
    const std::string& due = texts_.emplace_back(std::string(batch_.key_prefix) + "webhook:due");
    writes_.push_back({"ZADD", due, texts_.emplace_back(std::to_string(now_us / 1000)), delivery});
  }
  return true;
}

// The script's `write_ending`: one HSET, its fields in the same order.
void FinishTransaction::WriteEnding(const FinishJob& job, std::string_view entry, bool claimed) {
  std::vector<std::string_view>& hset = writes_.emplace_back();
  hset.reserve(8 + batch_.start_pairs.size() + job.pairs.size());
  hset.insert(hset.end(), {"HSET", job.key});
  const std::string_view storage = FieldName(RecordField::kStorage);
  const std::string_view attempts = FieldName(RecordField::kAttempts);
  const std::string_view finished = FieldName(RecordField::kFinished);
  const bool packed = batch_.start_pairs.size() == 2 * job_scripts::kPackedStartPairs;
  if (!entry.empty() && (!claimed || packed)) {
    hset.insert(hset.end(), {storage, entry});
    if (claimed) {
      hset.insert(hset.end(), {attempts, job.token});
      hset.insert(hset.end(), batch_.start_pairs.begin(), batch_.start_pairs.end());
    }
    hset.insert(hset.end(), {finished, batch_.now_us});
    hset.insert(hset.end(), job.pairs.begin(), job.pairs.end());
    return;
  }
  hset.insert(hset.end(), {finished, batch_.now_us});
  hset.insert(hset.end(), job.pairs.begin(), job.pairs.end());
  if (claimed) {
    hset.insert(hset.end(), {attempts, job.token});
    hset.insert(hset.end(), batch_.start_pairs.begin(), batch_.start_pairs.end());
  }
  if (!entry.empty()) hset.insert(hset.end(), {storage, entry});
}

// The script's `settle`, as a script of its own: whether a minute is new, or left empty,
// is what HINCRBY answers inside the transaction.
void FinishTransaction::WriteAccounts() {
  if (accounts_.empty()) return;
  std::vector<std::string_view>& eval = writes_.emplace_back();
  eval.insert(eval.end(), {"EVAL", settle_script_, "0", batch_.key_prefix});
  for (const Account& account : accounts_) {
    eval.push_back(account.tenant);
    eval.push_back(texts_.emplace_back(std::to_string(account.total)));
    eval.push_back(texts_.emplace_back(std::to_string(account.minutes.size())));
    for (const auto& [minute, bytes] : account.minutes) {
      eval.push_back(minute);
      eval.push_back(texts_.emplace_back(std::to_string(bytes)));
    }
  }
}

// The script's publishes, in its order: the claims' running lines, the carried records,
// then the ended ids out of the pending set with their change lines.
void FinishTransaction::WritePublishes() {
  if (!started_.empty()) writes_.push_back({"PUBLISH", batch_.progress_channel, started_});
  for (const std::string& message : carried_) {
    writes_.push_back({"PUBLISH", batch_.done_channel, message});
  }
  for (std::size_t i = 0; i < ended_ids_.size(); i += kEndedPerMessage) {
    const std::size_t last = std::min(i + kEndedPerMessage, ended_ids_.size());
    std::vector<std::string_view>& zrem = writes_.emplace_back();
    zrem.insert(zrem.end(), {"ZREM", batch_.pending_key});
    zrem.insert(zrem.end(), ended_ids_.begin() + i, ended_ids_.begin() + last);
    std::string& message = texts_.emplace_back();
    for (std::size_t k = i; k < last; ++k) {
      if (k > i) message += '\n';
      message += changes_[k];
    }
    writes_.push_back({"PUBLISH", batch_.done_channel, message});
  }
}

}  // namespace batchq
