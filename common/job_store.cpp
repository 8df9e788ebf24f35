#include "common/job_store.h"

#include <algorithm>
#include <array>
#include <deque>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/job_change.h"
#include "common/job_limits.h"
#include "common/job_store_scripts.h"
#include "common/packed_start.h"

namespace batchq {
namespace {

using Replay = RedisConnection::Replay;
using namespace job_scripts;

// The most field/value pairs AppendCreationPairs writes.
constexpr std::size_t kCreationPairsMost = 15;

// Whether `value` is a zero of a number field, which a record leaves out: a read gives
// 0 for an absent field, and each field costs every later HSET and HMGET of the record a
// step of their scan of its listpack (docs/BENCHMARKS.md, thirty-sixth part).
bool IsZeroNumber(RecordField field, std::string_view value) {
  return kRecordSchema[static_cast<std::size_t>(field)].member.index() != 0 && value == "0";
}

// Appends the field/value pairs a new record is written with (an HSET's or the
// idempotent script's arguments) to `out`: its status and attempts are the initial ones
// whatever `job` says; `storage` is its stored-bytes entry and must outlive them. Its
// numbers are written into `texts`, whose strings stay where they are as it grows.
void AppendCreationPairs(std::vector<std::string_view>& out, std::deque<std::string>& texts,
                         const NewJob& job, std::string_view storage) {
  static constexpr std::array kCopied = {
      RecordField::kId,        RecordField::kType,       RecordField::kTenant,
      RecordField::kPriority,  RecordField::kInput,      RecordField::kCreated,
      RecordField::kTimeoutMs, RecordField::kMaxRetries, RecordField::kRetryBackoffMs};
  // The fields that every script reads or rewrites come first: Redis finds a field of a
  // small hash by scanning its listpack from the front (docs/BENCHMARKS.md, thirty-sixth
  // part).
  out.insert(out.end(),
             {FieldName(RecordField::kStatus), ToString(JobStatus::kQueued),
              FieldName(RecordField::kAttempts), "0", FieldName(RecordField::kStorage), storage});
  for (const RecordField field : kCopied) {
    const std::string_view value = FieldView(job, field, texts);
    if (IsZeroNumber(field, value)) continue;
    // Read only by the finish script, when it queues a failed job again, which it never
    // does without retries: the field would only cost memory and every later scan.
    if (field == RecordField::kRetryBackoffMs && job.max_retries == 0) continue;
    out.push_back(FieldName(field));
    out.push_back(value);
  }
  // Only jobs with a webhook carry its fields: the others' records stay as small.
  if (!job.callback_url.empty()) {
    out.insert(out.end(), {FieldName(RecordField::kCallbackUrl), job.callback_url,
                           FieldName(RecordField::kWebhookKey), job.webhook_key});
  }
  // The carried text of the fields set only here (job_change.h), so that the finish
  // script appends it instead of reading them.
  std::string& carried = texts.emplace_back();
  for (const RecordField field : kCreationCarriedFields) {
    const std::string_view value = FieldView(job, field, texts);
    if (!IsZeroNumber(field, value)) AppendCarriedField(carried, FieldName(field), value);
  }
  if (carried.size() <= kMaxCreationCarriedBytes) {
    out.insert(out.end(), {kCreationCarriedField, carried});
  }
}

// A new record's stored-bytes entry (job_store.h): "<release minute> <bytes>".
std::string StorageEntry(std::string_view minute, const NewJob& job) {
  std::string entry(minute);
  entry += ' ';
  entry += std::to_string(JobStore::CreationBytes(job));
  return entry;
}

// The Unix minute at whose start a record that expires `ttl` after `now` is gone, so its
// bytes can be released.
std::int64_t ReleaseMinute(WallMicros now, std::chrono::seconds ttl) {
  return (std::chrono::duration_cast<std::chrono::seconds>(now) + ttl).count() / 60 + 1;
}

JobChangeView QueuedChange(const NewJob& job) {
  JobChangeView change;
  change.id = job.id;
  change.status = JobStatus::kQueued;
  change.tenant = job.tenant;
  change.type = job.type;
  return change;
}

JobRecord RecordFromFields(const std::vector<RedisReply>& flat) {
  JobRecord record;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) SetField(record, flat[i].str, flat[i + 1].str);
  return record;
}

}  // namespace

std::uint64_t JobStore::CreationBytes(const NewJob& job) {
  return job.input.size() + job.callback_url.size() + kRecordOverheadBytes;
}

JobStore::JobStore(RedisConnection& redis, Options options)
    : redis_(redis),
      options_(std::move(options)),
      pending_key_(options_.key_prefix + "pending"),
      recent_key_(options_.key_prefix + "recent"),
      recent_last_(std::to_string(kRecentJobs - 1)),
      done_channel_(DoneChannel(options_.key_prefix)),
      progress_channel_(ProgressChannel(options_.key_prefix)),
      ttl_(std::to_string(options_.result_ttl.count())),
      unfinished_lifetime_(kMaxQueueLifetime + kMaxTypeDuration + options_.result_ttl),
      stored_prefix_(options_.key_prefix + "stored:"),
      epoch_key_(options_.key_prefix + "broker:epoch") {}

std::string JobStore::StoredKey(std::string_view tenant) const {
  return stored_prefix_ + std::string(tenant);
}

std::string JobStore::JobKey(std::string_view id) const {
  std::string key = options_.key_prefix;
  key += "job:";
  key += id;
  return key;
}

std::string JobStore::BlobKey(std::string_view id) const { return JobKey(id) + ":blob"; }

Result<CreateOutcome> JobStore::Create(std::span<const NewJob> jobs,
                                       std::optional<IdempotencyClaim> claim) {
  if (jobs.empty()) return CreateOutcome{};
  if (claim) return CreateClaimed(jobs[0], *claim);
  std::vector<const NewJob*> group;
  group.reserve(jobs.size());
  for (const NewJob& job : jobs) group.push_back(&job);
  if (auto created = CreateGroup(group); !created) return std::unexpected(created.error());
  return CreateOutcome{true, jobs[0].id, true};
}

Status JobStore::CreateGroup(std::span<const NewJob* const> group) {
  if (group.empty()) return Ok();
  const std::string minute =
      std::to_string(ReleaseMinute(options_.wall_clock(), unfinished_lifetime_));
  // What the commands view besides the jobs and this store: a deque, so that none moves.
  std::deque<std::string> texts;
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(group.size() + 10);
  commands.push_back({"MULTI"});
  std::vector<std::string_view> zadd, lpush;
  zadd.reserve(2 + 2 * group.size());
  lpush.reserve(2 + group.size());
  zadd.push_back("ZADD");
  zadd.push_back(pending_key_);
  lpush.push_back("LPUSH");
  lpush.push_back(recent_key_);
  // Each tenant's own newest-jobs list, in submit order like the global one, and what
  // its jobs add to its stored bytes.
  struct TenantPush {
    std::string_view tenant;
    std::string key;
    std::vector<std::string_view> push;
    std::uint64_t bytes = 0;
  };
  std::vector<TenantPush> by_tenant;
  std::string changes;  // the group's queued changes, one message for all
  changes.reserve(group.size() * 80);
  for (std::size_t i = 0; i < group.size(); ++i) {
    const NewJob& job = *group[i];
    if (i > 0) changes += '\n';
    AppendJobChange(changes, QueuedChange(job));
    // No EXPIRE: an unfinished record lives until a broker ends it (job_store.h).
    std::vector<std::string_view>& hset = commands.emplace_back();
    hset.reserve(2 + 2 * kCreationPairsMost);
    hset.push_back("HSET");
    hset.push_back(texts.emplace_back(JobKey(job.id)));
    AppendCreationPairs(hset, texts, job, texts.emplace_back(StorageEntry(minute, job)));
    zadd.push_back(texts.emplace_back(std::to_string(job.created.count() / 1000)));
    zadd.push_back(job.id);
    lpush.push_back(job.id);
    if (job.tenant.empty()) continue;
    if (by_tenant.empty() || by_tenant.back().tenant != job.tenant) {
      by_tenant.push_back(TenantPush{job.tenant, TenantRecentKey(job.tenant), {"LPUSH"}, 0});
    }
    by_tenant.back().push.push_back(job.id);
    by_tenant.back().bytes += JobStore::CreationBytes(job);
  }
  commands.push_back(std::move(zadd));
  commands.push_back(std::move(lpush));
  commands.push_back({"LTRIM", recent_key_, "0", recent_last_});
  const std::string& minute_field = texts.emplace_back("e:" + minute);
  for (auto& tenant : by_tenant) {
    tenant.push.insert(tenant.push.begin() + 1, tenant.key);
    commands.push_back(std::move(tenant.push));
    commands.push_back({"LTRIM", tenant.key, "0", recent_last_});
    const std::string& account = texts.emplace_back(StoredKey(tenant.tenant));
    const std::string& due = texts.emplace_back(account + ":due");
    const std::string& bytes = texts.emplace_back(std::to_string(tenant.bytes));
    commands.push_back({"HINCRBY", account, "total", bytes});
    commands.push_back({"HINCRBY", account, minute_field, bytes});
    commands.push_back({"ZADD", due, minute, minute});
  }
  std::optional<std::size_t> publish_at;
  if (!progress_refused_) {
    publish_at = commands.size();
    commands.push_back({"PUBLISH", progress_channel_, changes});
  }
  commands.push_back({"EXEC"});
  return RunGroup(commands, publish_at);
}

Status JobStore::RunGroup(std::vector<std::vector<std::string_view>>& commands,
                          std::optional<std::size_t> publish_at) {
  auto replies = redis_.Pipeline(commands, Replay::kUnsafe);
  if (!replies) return std::unexpected(replies.error());
  if (publish_at && (*replies)[*publish_at].is_error() &&
      (*replies)[*publish_at].str.starts_with("NOPERM")) {
    // An ACL written before the progress channel existed: Redis refused the PUBLISH as
    // it was queued, so the transaction ran nothing. The jobs go in without the notice:
    // event streams then miss their queued changes, and the endings still flow.
    progress_refused_ = true;
    spdlog::warn(
        "Redis refused the {} channel to this user ({}); regenerate the ACL file "
        "(scripts/make_redis_users.sh) so that event streams see jobs queued",
        progress_channel_, (*replies)[*publish_at].str);
    commands.erase(commands.begin() + static_cast<std::ptrdiff_t>(*publish_at));
    replies = redis_.Pipeline(commands, Replay::kUnsafe);
    if (!replies) return std::unexpected(replies.error());
  }
  const RedisReply& exec = replies->back();
  if (exec.kind != RedisReply::Kind::kArray) return std::unexpected(UnexpectedReply("EXEC", exec));
  for (const RedisReply& reply : exec.elements) {
    if (reply.is_error()) return std::unexpected(UnexpectedReply("HSET/ZADD/LPUSH", reply));
  }
  return Ok();
}

Result<CreateOutcome> JobStore::CreateClaimed(const NewJob& job, const IdempotencyClaim& claim) {
  const std::string minute =
      std::to_string(ReleaseMinute(options_.wall_clock(), unfinished_lifetime_));
  const std::string storage = StorageEntry(minute, job);
  const std::string score = std::to_string(job.created.count() / 1000);
  const std::string job_key = JobKey(job.id);
  const std::string idem_key = IdempotencyKey(claim.key);
  const std::string tenant_key = TenantRecentKey(job.tenant);
  const std::string account = StoredKey(job.tenant);
  const std::string due = account + ":due";
  const std::string bytes = std::to_string(JobStore::CreationBytes(job));
  std::vector<std::string_view> keys = {idem_key, job_key, pending_key_, account, due, recent_key_};
  if (!job.tenant.empty()) keys.push_back(tenant_key);
  std::vector<std::string_view> args{job.id, claim.fingerprint, ttl_, score, recent_last_, minute,
                                     bytes};
  std::deque<std::string> texts;
  AppendCreationPairs(args, texts, job, storage);
  auto reply = redis_.Eval(kCreateIdempotentScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kString && reply->kind != RedisReply::Kind::kStatus) {
    return std::unexpected(UnexpectedReply("idempotent create", *reply));
  }
  if (reply->str == "created") {
    // After the script, not in it: a lost notice costs an event stream a change, while
    // the job and its key stay one atomic step.
    std::string change;
    AppendJobChange(change, QueuedChange(job));
    (void)redis_.Command({"PUBLISH", progress_channel_, change});
    return CreateOutcome{true, job.id, true};
  }
  const auto space = reply->str.find(' ');
  return CreateOutcome{
      false, reply->str.substr(0, space),
      space != std::string::npos && reply->str.substr(space + 1) == claim.fingerprint};
}

Status JobStore::ForgetIdempotencyKey(std::string_view key) {
  const std::string idem_key = IdempotencyKey(key);
  auto reply = redis_.Command({"DEL", idem_key});
  if (!reply) return std::unexpected(reply.error());
  return Ok();
}

std::string JobStore::IdempotencyKey(std::string_view key) const {
  std::string out = options_.key_prefix;
  out += "idem:";
  out += key;
  return out;
}

Status JobStore::ForgetPending(std::span<const std::string> ids) {
  if (ids.empty()) return Ok();
  std::vector<std::string_view> zrem{"ZREM", pending_key_};
  zrem.insert(zrem.end(), ids.begin(), ids.end());
  auto reply = redis_.Command(std::span<const std::string_view>(zrem));
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_error()) return std::unexpected(UnexpectedReply("ZREM", *reply));
  return Ok();
}

Status JobStore::Remove(std::span<const std::string> ids) {
  if (ids.empty()) return Ok();
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  std::vector<std::string_view> args{options_.key_prefix};
  args.insert(args.end(), ids.begin(), ids.end());
  // Run twice, it finds the records gone and changes nothing.
  auto reply = redis_.Eval(kRemoveScript, key_views, args, Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_error()) return std::unexpected(UnexpectedReply("remove", *reply));
  return Ok();
}

Result<std::optional<JobRecord>> JobStore::Get(std::string_view id) {
  const std::string key = JobKey(id);
  auto reply = redis_.Command({"HGETALL", key});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("HGETALL", *reply));
  }
  if (reply->elements.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(RecordFromFields(reply->elements));
}

Result<std::vector<std::optional<JobRecord>>> JobStore::GetMany(std::span<const std::string> ids) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(ids.size());
  for (const auto& key : keys) commands.push_back({"HGETALL", key});
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  std::vector<std::optional<JobRecord>> records;
  records.reserve(ids.size());
  for (const RedisReply& reply : *replies) {
    if (reply.kind != RedisReply::Kind::kArray || reply.elements.empty()) {
      records.emplace_back();
    } else {
      records.emplace_back(RecordFromFields(reply.elements));
    }
  }
  return records;
}

std::string JobStore::TenantRecentKey(std::string_view tenant) const {
  std::string key = options_.key_prefix;
  key += "recent:";
  key += tenant;
  return key;
}

namespace {

// The fields of a summary: everything but the input, the result and the error message,
// which may be large, in the schema's order, so the id, which every record has, first;
// and the packed start (packed_start.h) right after it, so that a start's own fields,
// where a record has them, are what is read.
const std::vector<std::string_view>& SummaryFields() {
  static const std::vector<std::string_view> fields = [] {
    std::vector<std::string_view> names;
    for (const auto& spec : kRecordSchema) {
      if (spec.field != RecordField::kInput && spec.field != RecordField::kResult &&
          spec.field != RecordField::kErrorMessage && spec.field != RecordField::kHistory) {
        names.push_back(spec.name);
      }
      if (spec.field == RecordField::kId) names.push_back(kPackedStartField);
    }
    return names;
  }();
  return fields;
}

}  // namespace

Result<JobListPage> JobStore::RecentSummaries(const JobListQuery& query) {
  JobListPage page;
  if (query.limit == 0) return page;
  const std::string list = query.tenant.empty() ? recent_key_ : TenantRecentKey(query.tenant);
  const auto& fields = SummaryFields();
  // Ids a window at a time: a filter may skip many, the list holds at most kRecentJobs.
  const std::size_t window = std::max<std::size_t>(query.limit, 100);
  for (std::size_t at = query.cursor; at < kRecentJobs;) {
    const std::size_t last = std::min(at + window, kRecentJobs) - 1;
    auto reply = redis_.Command({"LRANGE", list, std::to_string(at), std::to_string(last)});
    if (!reply) return std::unexpected(reply.error());
    if (reply->kind != RedisReply::Kind::kArray) {
      return std::unexpected(UnexpectedReply("LRANGE", *reply));
    }
    if (reply->elements.empty()) break;
    std::vector<std::string> keys;
    for (const RedisReply& id : reply->elements) keys.push_back(JobKey(id.str));
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& key : keys) {
      commands.push_back({"HMGET", key});
      commands.back().insert(commands.back().end(), fields.begin(), fields.end());
    }
    auto records = redis_.Pipeline(commands);
    if (!records) return std::unexpected(records.error());
    for (std::size_t i = 0; i < records->size(); ++i) {
      const RedisReply& values = (*records)[i];
      if (values.kind != RedisReply::Kind::kArray || values.elements.size() != fields.size() ||
          values.elements[0].kind == RedisReply::Kind::kNil) {
        continue;  // expired or discarded
      }
      JobRecord record;
      for (std::size_t f = 0; f < fields.size(); ++f) {
        if (values.elements[f].kind != RedisReply::Kind::kNil) {
          SetField(record, fields[f], values.elements[f].str);
        }
      }
      if (!query.Matches(record)) continue;
      if (page.jobs.size() == query.limit) {
        page.next_cursor = at + i;  // one more matches: the next page starts at it
        return page;
      }
      page.jobs.push_back(std::move(record));
    }
    at += reply->elements.size();
  }
  return page;
}

Result<std::optional<std::string>> JobStore::GetBlob(std::string_view id) {
  auto reply = redis_.Command({"GET", BlobKey(id)});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind == RedisReply::Kind::kNil) return std::optional<std::string>();
  if (reply->kind != RedisReply::Kind::kString) {
    return std::unexpected(UnexpectedReply("GET", *reply));
  }
  return std::optional<std::string>(std::move(reply->str));
}

Result<CancelOutcome> JobStore::Cancel(std::string_view id, std::string_view cancelled_by,
                                       JobStatus* status_out, bool* was_running) {
  const std::string key = JobKey(id);
  const std::string now = std::to_string(options_.wall_clock().count());
  JobRecord cancelled;
  cancelled.status = JobStatus::kCancelled;
  cancelled.error_code = Name(ErrorCode::kCancelled);
  cancelled.error_message = DefaultMessage(ErrorCode::kCancelled);
  cancelled.cancelled_by = cancelled_by;
  const RecordFields fields(cancelled, {RecordField::kStatus, RecordField::kErrorCode,
                                        RecordField::kErrorMessage, RecordField::kCancelledBy});
  const std::string minute =
      std::to_string(ReleaseMinute(options_.wall_clock(), options_.result_ttl));
  const std::string_view keys[] = {pending_key_, key};
  std::vector<std::string_view> args{now, ttl_, done_channel_, id, minute, options_.key_prefix};
  args.insert(args.end(), fields.pairs().begin(), fields.pairs().end());
  auto reply = redis_.Eval(kCancelScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind == RedisReply::Kind::kInteger) {
    if (was_running != nullptr) *was_running = reply->integer == 2;
    return reply->integer == 0 ? CancelOutcome::kNotFound : CancelOutcome::kCancelled;
  }
  if (reply->kind == RedisReply::Kind::kString) {
    if (status_out != nullptr)
      *status_out = ParseJobStatus(reply->str).value_or(JobStatus::kFailed);
    return CancelOutcome::kEnded;
  }
  return std::unexpected(UnexpectedReply("cancel", *reply));
}

Result<std::vector<bool>> JobStore::RunFlagsScript(const RedisScript& script,
                                                   std::span<const std::string_view> keys,
                                                   std::span<const std::string_view> args,
                                                   Replay replay) {
  auto reply = redis_.Eval(script, keys, args, replay);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("script", *reply));
  }
  std::vector<bool> flags;
  flags.reserve(reply->elements.size());
  for (const auto& element : reply->elements) flags.push_back(element.integer == 1);
  return flags;
}

namespace {

// The record fields a batch's start writes: views into `start`, which must outlive them.
RecordFields StartFields(const BatchStart& batch, JobRecord& start) {
  start.batch_id = batch.batch_id;
  start.batch_size = batch.batch_size;
  start.worker = batch.worker;
  start.dispatched = batch.dispatched;
  start.started = batch.started;
  start.close_reason = batch.close_reason;
  return RecordFields(start, job_scripts::kStartFields);
}

}  // namespace

Result<std::vector<bool>> JobStore::Start(const BatchStart& batch, std::span<const JobClaim> jobs) {
  std::vector<std::string> keys;
  std::vector<std::string> tokens;
  keys.reserve(jobs.size());
  tokens.reserve(jobs.size());
  for (const auto& job : jobs) {
    keys.push_back(JobKey(job.id));
    tokens.push_back(std::to_string(job.attempt));
  }
  JobRecord start;
  const RecordFields fields = StartFields(batch, start);
  const std::string count = std::to_string(fields.count());
  const std::string epoch = std::to_string(batch.epoch);
  std::vector<std::string_view> key_views(keys.begin(), keys.end());
  std::vector<std::string_view> args{count, epoch_key_, epoch, progress_channel_};
  args.insert(args.end(), fields.pairs().begin(), fields.pairs().end());
  args.insert(args.end(), tokens.begin(), tokens.end());
  // A replayed claim would find its own first run and answer "not claimed".
  return RunFlagsScript(kStartScript, key_views, args, Replay::kUnsafe);
}

namespace {

// The record fields an outcome writes: its texts are views into `outcome`, and into
// `ended` (its status and launch time), which must outlive them. With the attempt and
// the end time, which the finish script writes, they are job_scripts::kEndingFields
// (and the type of a binary result), less an empty result or error: that is left out,
// not written empty, since a record the finish may write (queued or running) holds none
// (the requeue script deletes them), a read gives '' for an absent field, and each field
// an HSET adds costs Redis a scan of the whole listpack (docs/BENCHMARKS.md,
// thirty-sixth part).
RecordFields OutcomeFields(const JobOutcome& outcome, JobRecord& ended) {
  ended.status = outcome.succeeded ? JobStatus::kSucceeded : JobStatus::kFailed;
  ended.launched = outcome.launched;
  RecordFields fields(ended, {RecordField::kStatus, RecordField::kLaunched});
  if (!outcome.result.empty()) fields.Add(RecordField::kResult, outcome.result);
  if (!outcome.succeeded) {
    fields.Add(RecordField::kErrorCode, Name(outcome.error_code))
        .Add(RecordField::kErrorMessage, outcome.error_message);
  }
  if (!outcome.blob.empty()) fields.Add(RecordField::kResultType, outcome.content_type);
  return fields;
}

// The carried record's text (job_change.h) of `fields`, every one of which is carried.
std::string CarriedText(const RecordFields& fields) {
  std::string text;
  const auto& pairs = fields.pairs();
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2)
    AppendCarriedField(text, pairs[i], pairs[i + 1]);
  return text;
}

// The carried text of what an ending writes (job_scripts::kEndingFields): its outcome's
// fields, its attempt and its end time; '' when that alone is past the bound, which the
// finish script takes as "not carried". Built here, not in the script, where it cost
// Redis the most (docs/BENCHMARKS.md).
std::string EndingText(const RecordFields& outcome, std::string_view attempt,
                       std::string_view finished) {
  std::string text = CarriedText(outcome);
  AppendCarriedField(text, FieldName(RecordField::kAttempts), attempt);
  AppendCarriedField(text, FieldName(RecordField::kFinished), finished);
  return text.size() > kMaxCarriedRecordBytes ? std::string() : text;
}

}  // namespace

namespace {

// The jitter of one retryable failure's backoff, in thousandths: [500, 1000], so that
// jobs failed together do not all come back at once.
std::string RetryJitter() {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::to_string(std::uniform_int_distribution<int>(500, 1000)(random));
}

Result<std::vector<FinishMark>> FinishMarks(const RedisReply& reply) {
  if (reply.kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("finish", reply));
  }
  std::vector<FinishMark> marks;
  marks.reserve(reply.elements.size());
  for (const auto& element : reply.elements) {
    FinishMark& mark = marks.emplace_back();
    if (element.kind == RedisReply::Kind::kArray && element.elements.size() == 2) {
      mark.kind = FinishMark::Kind::kRetrying;
      mark.retry_in = std::chrono::milliseconds(element.elements[1].integer);
    } else if (element.integer == 1) {
      mark.kind = FinishMark::Kind::kWritten;
    }
  }
  return marks;
}

}  // namespace

Result<std::vector<FinishMark>> JobStore::Finish(std::span<const JobOutcome> outcomes,
                                                 const BatchStart* claim_at_write,
                                                 const BatchStart* claimed_with) {
  const WallMicros wall_now = options_.wall_clock();
  const std::string now = std::to_string(wall_now.count());
  // key, token, jitter, carried text per outcome
  constexpr std::size_t kTexts = 4;
  std::vector<std::string> texts;
  std::vector<JobRecord> ended(outcomes.size());
  std::vector<RecordFields> fields;
  texts.reserve(outcomes.size() * kTexts);
  fields.reserve(outcomes.size());
  for (const auto& outcome : outcomes) {
    fields.push_back(OutcomeFields(outcome, ended[fields.size()]));
    texts.push_back(JobKey(outcome.id));
    texts.push_back(std::to_string(outcome.attempt));
    const bool retryable = !outcome.succeeded && IsRetryable(outcome.error_code);
    texts.push_back(retryable ? RetryJitter() : std::string());
    texts.push_back(EndingText(fields.back(), texts[texts.size() - 2], now));
  }
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  JobRecord start;
  std::optional<RecordFields> start_fields;
  std::optional<std::string> packed_start;
  std::vector<std::string_view> start_pairs;
  std::string epoch;
  std::string start_text;
  if (claim_at_write != nullptr) {
    const RecordFields& fields = start_fields.emplace(StartFields(*claim_at_write, start));
    epoch = std::to_string(claim_at_write->epoch);
    start_text = CarriedText(fields);
    // The worker and the packed start (packed_start.h), or the six fields when it does
    // not pack.
    packed_start = PackStart(start);
    start_pairs = packed_start
                      ? std::vector<std::string_view>{FieldName(RecordField::kWorker), start.worker,
                                                      kPackedStartField, *packed_start}
                      : fields.pairs();
  } else if (claimed_with != nullptr) {
    start_text = CarriedText(StartFields(*claimed_with, start));
  }
  std::vector<FinishJob> jobs;
  jobs.reserve(outcomes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const std::string* text = &texts[kTexts * i];
    jobs.push_back({.key = text[0],
                    .token = text[1],
                    .blob = outcomes[i].blob,
                    .jitter = text[2],
                    .ending = text[3],
                    .pairs = fields[i].pairs()});
  }
  const FinishBatch batch{.now_us = now,
                          .ttl_s = ttl_,
                          .done_channel = done_channel_,
                          .progress_channel = progress_channel_,
                          .release_minute = minute,
                          .key_prefix = options_.key_prefix,
                          .pending_key = pending_key_,
                          .epoch_key = claim_at_write != nullptr ? epoch_key_ : std::string_view(),
                          .epoch = epoch,
                          .start_pairs = start_pairs,
                          .start_text = start_text,
                          .jobs = jobs};
  if (!options_.finish_by_script && !transaction_refused_) {
    auto marks = FinishInTransaction(batch);
    if (!marks) return std::unexpected(marks.error());
    if (*marks) return std::move(**marks);
  }
  return FinishByScript(batch);
}

Result<std::vector<FinishMark>> JobStore::FinishByScript(const FinishBatch& batch) {
  const std::string max_backoff = std::to_string(kMaxRetryBackoff.count());
  const std::string history = std::to_string(kMaxHistory);
  const std::string start_count = std::to_string(batch.start_pairs.size() / 2);
  std::vector<std::string> pair_counts;
  pair_counts.reserve(batch.jobs.size());
  std::vector<std::string_view> key_views{pending_key_};
  std::vector<std::string_view> args{
      batch.now_us, batch.ttl_s, batch.done_channel,     batch.release_minute, batch.key_prefix,
      max_backoff,  history,     batch.progress_channel, batch.epoch_key,      batch.epoch,
      start_count};
  args.reserve(12 + 12 + batch.jobs.size() * 18);
  args.insert(args.end(), batch.start_pairs.begin(), batch.start_pairs.end());
  args.push_back(batch.start_text);
  for (const FinishJob& job : batch.jobs) {
    key_views.push_back(job.key);
    const std::string& count = pair_counts.emplace_back(std::to_string(job.pairs.size() / 2));
    args.insert(args.end(), {job.token, job.blob, job.jitter, job.ending, count});
    args.insert(args.end(), job.pairs.begin(), job.pairs.end());
  }
  // A replayed finish would find the job already ended and answer "not written".
  auto reply = redis_.Eval(kFinishScript, key_views, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  return FinishMarks(*reply);
}

Result<std::optional<std::vector<FinishMark>>> JobStore::FinishInTransaction(
    const FinishBatch& batch) {
  // A batch whose records keep changing under it goes to the script, which is atomic.
  constexpr int kRounds = 3;
  FinishTransaction transaction(batch, kSettleScript.body);
  // An ACL file from before the transaction refuses its commands (NOPERM): the script
  // writes every finish from then on.
  const auto refused_by_acl = [this](std::span<const RedisReply> replies) {
    const auto refusal = std::find_if(replies.begin(), replies.end(), [](const RedisReply& r) {
      return r.is_error() && r.str.starts_with("NOPERM");
    });
    if (refusal == replies.end()) return false;
    if (!transaction_refused_) {
      spdlog::warn(
          "Redis refused a finish transaction's command to this user ({}): the finish "
          "script writes results instead (deploy/redis/users.acl.in)",
          refusal->str);
    }
    transaction_refused_ = true;
    return true;
  };
  for (int round = 0; round < kRounds; ++round) {
    auto read = redis_.Pipeline(transaction.reads(), Replay::kSafe);
    if (!read) return std::unexpected(read.error());
    const std::uint64_t connection = redis_.generation();
    if (refused_by_acl(std::span(*read).first(1))) return std::nullopt;
    const auto decision = transaction.Decide(*read);
    if (decision != FinishTransaction::Decision::kWrite) {
      auto unwatched = redis_.Command({"UNWATCH"});
      if (!unwatched) return std::unexpected(unwatched.error());
      if (decision == FinishTransaction::Decision::kScript) return std::nullopt;
      return std::vector<FinishMark>(batch.jobs.size());
    }
    if (options_.before_finish_write) options_.before_finish_write();
    auto wrote = redis_.PipelineOnConnection(connection, transaction.writes());
    if (!wrote) return std::unexpected(wrote.error());
    if (!*wrote) continue;  // not sent: the connection is gone, or a replica now
    const RedisReply& exec = (*wrote)->back();
    if (exec.kind == RedisReply::Kind::kNil) continue;  // a watched key changed: read again
    // Refused as queued (EXECABORT): nothing ran.
    if (exec.is_error()) {
      refused_by_acl(**wrote);
      return std::nullopt;
    }
    if (exec.kind != RedisReply::Kind::kArray) {
      return std::unexpected(UnexpectedReply("finish transaction", exec));
    }
    for (const RedisReply& reply : exec.elements) {
      if (reply.is_error()) return std::unexpected(UnexpectedReply("finish transaction", reply));
    }
    std::vector<FinishMark> marks(batch.jobs.size());
    for (std::size_t i = 0; i < marks.size(); ++i) {
      if (transaction.written()[i]) marks[i].kind = FinishMark::Kind::kWritten;
    }
    return marks;
  }
  return std::nullopt;
}

Result<RequeueOutcome> JobStore::Requeue(std::string_view id, JobStatus* status_out) {
  const std::string key = JobKey(id);
  const std::string blob = BlobKey(id);
  const WallMicros wall_now = options_.wall_clock();
  const std::string now = std::to_string(wall_now.count());
  const std::string score =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wall_now).count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, unfinished_lifetime_));
  const std::string overhead = std::to_string(kRecordOverheadBytes);
  const std::string history = std::to_string(kMaxHistory);
  const std::string_view keys[] = {pending_key_, key, blob};
  const std::string_view args[] = {now,    progress_channel_,   id,       score,
                                   minute, options_.key_prefix, overhead, history};
  auto reply = redis_.Eval(kRequeueScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind == RedisReply::Kind::kInteger) {
    return reply->integer == 1 ? RequeueOutcome::kQueued : RequeueOutcome::kNotFound;
  }
  if (reply->kind == RedisReply::Kind::kString) {
    if (status_out != nullptr)
      *status_out = ParseJobStatus(reply->str).value_or(JobStatus::kQueued);
    return RequeueOutcome::kNotEnded;
  }
  return std::unexpected(UnexpectedReply("requeue", *reply));
}

Status JobStore::WithdrawRequeued(std::string_view id, ErrorCode code, std::string_view message) {
  const std::string ids[] = {std::string(id)};
  auto ended = RunTerminate(ids, JobStatus::kFailed, code, message, {}, {});
  if (!ended) return std::unexpected(ended.error());
  return {};
}

Result<std::vector<bool>> JobStore::Terminate(std::span<const std::string> ids, JobStatus status,
                                              ErrorCode code, std::string_view message,
                                              std::uint64_t epoch) {
  return RunTerminate(ids, status, code, message, epoch_key_, std::to_string(epoch));
}

Result<std::vector<bool>> JobStore::RunTerminate(std::span<const std::string> ids, JobStatus status,
                                                 ErrorCode code, std::string_view message,
                                                 std::string_view epoch_key,
                                                 std::string_view epoch) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  JobRecord ended;
  ended.status = status;
  ended.error_code = Name(code);
  ended.error_message = message;
  const RecordFields fields(
      ended, {RecordField::kStatus, RecordField::kErrorCode, RecordField::kErrorMessage});
  const WallMicros wall_now = options_.wall_clock();
  const std::string now = std::to_string(wall_now.count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  std::vector<std::string_view> args{now,       ttl_, done_channel_, minute, options_.key_prefix,
                                     epoch_key, epoch};
  args.insert(args.end(), fields.pairs().begin(), fields.pairs().end());
  return RunFlagsScript(kTerminateScript, key_views, args, Replay::kUnsafe);
}

Result<StoredBytes> JobStore::ReadStoredBytes(std::string_view tenant, WallMicros now) {
  const std::string account = StoredKey(tenant);
  const std::string due = account + ":due";
  const std::string minute =
      std::to_string(std::chrono::duration_cast<std::chrono::minutes>(now).count());
  const std::string_view keys[] = {account, due};
  const std::string_view args[] = {minute};
  // Run twice, the second release finds nothing due.
  auto reply = redis_.Eval(kReadStoredScript, keys, args, Replay::kSafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray || reply->elements.size() != 2) {
    return std::unexpected(UnexpectedReply("stored bytes", *reply));
  }
  StoredBytes out;
  out.bytes = static_cast<std::uint64_t>(std::max<long long>(0, reply->elements[0].integer));
  out.next_release = std::chrono::minutes(reply->elements[1].integer);
  return out;
}

Result<int> JobStore::WaitForReplicas(int replicas, std::chrono::milliseconds timeout) {
  const std::string count = std::to_string(replicas);
  const std::string ms = std::to_string(std::max<long long>(1, timeout.count()));
  auto reply = redis_.Command({"WAIT", count, ms});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kInteger)
    return std::unexpected(UnexpectedReply("WAIT", *reply));
  return static_cast<int>(reply->integer);
}

Status JobStore::Ping() {
  auto reply = redis_.Command({"PING"});
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_error()) return std::unexpected(UnexpectedReply("PING", *reply));
  return Ok();
}

Result<std::vector<bool>> JobStore::RecordsExist(std::span<const std::string> ids) {
  if (ids.empty()) return std::vector<bool>();
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  // One command answers the usual case, where every record exists; only when some are
  // missing is each key asked on its own.
  std::vector<std::string_view> all{"EXISTS"};
  all.insert(all.end(), keys.begin(), keys.end());
  auto count = redis_.Command(std::span<const std::string_view>(all));
  if (!count) return std::unexpected(count.error());
  if (count->kind != RedisReply::Kind::kInteger) {
    return std::unexpected(UnexpectedReply("EXISTS", *count));
  }
  if (static_cast<std::size_t>(count->integer) == ids.size()) {
    return std::vector<bool>(ids.size(), true);
  }
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(keys.size());
  for (const auto& key : keys) commands.push_back({"EXISTS", key});
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  std::vector<bool> exist;
  exist.reserve(replies->size());
  for (const RedisReply& reply : *replies) {
    if (reply.kind != RedisReply::Kind::kInteger) {
      return std::unexpected(UnexpectedReply("EXISTS", reply));
    }
    exist.push_back(reply.integer == 1);
  }
  return exist;
}

Result<std::vector<std::string>> JobStore::PendingCreatedBefore(WallMicros created_before,
                                                                std::size_t limit,
                                                                std::size_t offset) {
  const std::string max = std::to_string(created_before.count() / 1000);
  const std::string count = std::to_string(limit);
  const std::string skip = std::to_string(offset);
  auto reply = redis_.Command({"ZRANGEBYSCORE", pending_key_, "-inf", max, "LIMIT", skip, count});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("ZRANGEBYSCORE", *reply));
  }
  std::vector<std::string> ids;
  ids.reserve(reply->elements.size());
  for (auto& element : reply->elements) ids.push_back(std::move(element.str));
  return ids;
}

}  // namespace batchq
