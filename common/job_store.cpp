#include "common/job_store.h"

#include <charconv>
#include <unordered_map>

#include <fmt/format.h>

namespace batchq {
namespace {

// KEYS: job keys. ARGV: batch_id, batch_size, worker, dispatched_us, started_us,
// close_reason, then one attempt token per job. A job is claimed when it is queued, or
// running under an older attempt (its previous worker was declared lost).
const RedisScript kStartScript{R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  local token = tonumber(ARGV[6 + i])
  local st = redis.call('HMGET', key, 'status', 'attempts')
  if st[1] == 'queued' or (st[1] == 'running' and tonumber(st[2] or '0') < token) then
    redis.call('HSET', key, 'status', 'running', 'attempts', token, 'batch', ARGV[1],
               'batch_size', ARGV[2], 'worker', ARGV[3], 'dispatched_us', ARGV[4],
               'started_us', ARGV[5], 'close_reason', ARGV[6])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua"};

// Shared tail of the scripts that end jobs (KEYS[1] the pending set, ARGV[3] the done
// channel, `ended` the ids they ended): one ZREM and one PUBLISH (ids joined by ',') per
// chunk of 500, instead of one of each per job.
constexpr char kPublishEnded[] = R"lua(
for i = 1, #ended, 500 do
  local chunk = {unpack(ended, i, math.min(i + 499, #ended))}
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('PUBLISH', ARGV[3], table.concat(chunk, ','))
end
return out
)lua";

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, then per job
// token, status, result, error_code, error_message, content_type, blob, launched_us (0:
// never ran; the job JSON leaves it out). Written only while the job runs under that very attempt:
// the fencing that makes a late result from a lost worker harmless. A binary result goes to the key
// `{job key}:blob` with the same TTL.
const RedisScript kFinishScript{R"lua(
local out = {}
local ended = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local base = 3 + (i - 2) * 8
  local st = redis.call('HMGET', key, 'status', 'attempts', 'id')
  if st[1] == 'running' and st[2] == ARGV[base + 1] then
    redis.call('HSET', key, 'status', ARGV[base + 2], 'result', ARGV[base + 3],
               'error_code', ARGV[base + 4], 'error_message', ARGV[base + 5],
               'finished_us', ARGV[1], 'launched_us', ARGV[base + 8])
    redis.call('EXPIRE', key, ARGV[2])
    if ARGV[base + 6] ~= '' then
      redis.call('HSET', key, 'result_type', ARGV[base + 6])
      redis.call('SET', key .. ':blob', ARGV[base + 7], 'EX', ARGV[2])
    end
    ended[#ended + 1] = st[3]
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
)lua" + std::string(kPublishEnded)};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, status,
// error_code, error_message. Ends every job that is not terminal yet.
const RedisScript kTerminateScript{R"lua(
local out = {}
local ended = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local st = redis.call('HMGET', key, 'status', 'id')
  if st[1] == 'queued' or st[1] == 'running' then
    redis.call('HSET', key, 'status', ARGV[4], 'error_code', ARGV[5], 'error_message', ARGV[6],
               'finished_us', ARGV[1])
    redis.call('EXPIRE', key, ARGV[2])
    ended[#ended + 1] = st[2]
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
)lua" + std::string(kPublishEnded)};

// KEYS[1]: pending set; KEYS[2]: job key. ARGV: finished_us, ttl_s, channel, id.
// Returns 1 when cancelled, 0 when the job does not exist, else its current status.
const RedisScript kCancelScript{R"lua(
local st = redis.call('HGET', KEYS[2], 'status')
if not st then return 0 end
if st ~= 'queued' then return st end
redis.call('HSET', KEYS[2], 'status', 'cancelled', 'finished_us', ARGV[1],
           'error_code', 'cancelled', 'error_message', 'The job was cancelled before it ran.')
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
)lua"};

// KEYS: idempotency key, job key, pending set. ARGV: id, fingerprint, ttl_s, score, then
// the record's field/value pairs. Creates the job unless the key is taken; answers
// "created" or the "id fingerprint" the key already holds.
const RedisScript kCreateIdempotentScript{R"lua(
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]))
return 'created'
)lua"};

// Text forms of a new job's numbers, owned while commands refer to them.
struct NewJobText {
  std::string key, priority, created_us, score, timeout_ms;
};

NewJobText TextOf(const NewJob& job, std::string key) {
  return NewJobText{std::move(key), std::to_string(job.priority),
                    std::to_string(job.created.count()), std::to_string(job.created.count() / 1000),
                    std::to_string(job.timeout_ms)};
}

// The field/value pairs of a new job's record.
void AppendRecordFields(const NewJob& job, const NewJobText& text,
                        std::vector<std::string_view>& out) {
  const std::string_view fields[] = {"id",       job.id,    "type",       job.type,
                                     "status",   "queued",  "priority",   text.priority,
                                     "input",    job.input, "created_us", text.created_us,
                                     "attempts", "0",       "timeout_ms", text.timeout_ms};
  out.insert(out.end(), std::begin(fields), std::end(fields));
}

template <class T>
T ParseNumber(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

JobRecord RecordFromFields(const std::vector<RedisReply>& flat) {
  JobRecord record;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) {
    const std::string& field = flat[i].str;
    const std::string& value = flat[i + 1].str;
    if (field == "id")
      record.id = value;
    else if (field == "type")
      record.type = value;
    else if (field == "status")
      record.status = value;
    else if (field == "input")
      record.input = value;
    else if (field == "priority")
      record.priority = ParseNumber<std::int32_t>(value);
    else if (field == "attempts")
      record.attempts = ParseNumber<std::uint32_t>(value);
    else if (field == "created_us")
      record.created = WallMicros(ParseNumber<std::int64_t>(value));
    else if (field == "dispatched_us")
      record.dispatched = WallMicros(ParseNumber<std::int64_t>(value));
    else if (field == "started_us")
      record.started = WallMicros(ParseNumber<std::int64_t>(value));
    else if (field == "launched_us")
      record.launched = WallMicros(ParseNumber<std::int64_t>(value));
    else if (field == "finished_us")
      record.finished = WallMicros(ParseNumber<std::int64_t>(value));
    else if (field == "batch")
      record.batch_id = value;
    else if (field == "batch_size")
      record.batch_size = ParseNumber<std::uint32_t>(value);
    else if (field == "close_reason")
      record.close_reason = value;
    else if (field == "timeout_ms")
      record.timeout_ms = ParseNumber<std::int64_t>(value);
    else if (field == "worker")
      record.worker = value;
    else if (field == "result")
      record.result = value;
    else if (field == "result_type")
      record.result_type = value;
    else if (field == "error_code")
      record.error_code = value;
    else if (field == "error_message")
      record.error_message = value;
  }
  return record;
}

Error UnexpectedReply(std::string_view what, const RedisReply& reply) {
  return Error{"redis_unavailable",
               fmt::format("Redis answered {} unexpectedly: {}.", what,
                           reply.is_error() ? reply.str : std::string("wrong reply type"))};
}

}  // namespace

JobStore::JobStore(RedisConnection& redis, Options options)
    : redis_(redis),
      options_(std::move(options)),
      pending_key_(options_.key_prefix + "pending"),
      recent_key_(options_.key_prefix + "recent"),
      recent_last_(std::to_string(kRecentJobs - 1)),
      done_channel_(options_.key_prefix + "done") {}

std::string JobStore::JobKey(std::string_view id) const {
  std::string key = options_.key_prefix;
  key += "job:";
  key += id;
  return key;
}

std::string JobStore::BlobKey(std::string_view id) const { return JobKey(id) + ":blob"; }

Status JobStore::Create(std::span<const NewJob> jobs) {
  if (jobs.empty()) return Ok();
  std::vector<NewJobText> texts;
  texts.reserve(jobs.size());
  for (const NewJob& job : jobs) texts.push_back(TextOf(job, JobKey(job.id)));
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(jobs.size() * 2 + 4);
  commands.push_back({"MULTI"});
  std::vector<std::string_view> lpush{"LPUSH", recent_key_};
  lpush.reserve(jobs.size() + 2);
  for (size_t i = 0; i < jobs.size(); ++i) {
    std::vector<std::string_view> hset{"HSET", texts[i].key};
    AppendRecordFields(jobs[i], texts[i], hset);
    commands.push_back(std::move(hset));
    commands.push_back({"ZADD", pending_key_, texts[i].score, jobs[i].id});
    lpush.push_back(jobs[i].id);
  }
  commands.push_back(std::move(lpush));
  commands.push_back({"LTRIM", recent_key_, "0", recent_last_});
  commands.push_back({"EXEC"});
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  const RedisReply& exec = replies->back();
  if (exec.kind != RedisReply::Kind::kArray) return std::unexpected(UnexpectedReply("EXEC", exec));
  for (const RedisReply& reply : exec.elements) {
    if (reply.is_error()) return std::unexpected(UnexpectedReply("HSET/ZADD/LPUSH", reply));
  }
  return Ok();
}

Result<IdempotentCreate> JobStore::CreateIdempotent(const NewJob& job, std::string_view key,
                                                    std::string_view fingerprint) {
  const NewJobText text = TextOf(job, JobKey(job.id));
  const std::string idem_key = IdempotencyKey(key);
  const std::string ttl = std::to_string(options_.result_ttl.count());
  const std::string_view keys[] = {idem_key, text.key, pending_key_, recent_key_};
  std::vector<std::string_view> args{job.id, fingerprint, ttl, text.score, recent_last_};
  AppendRecordFields(job, text, args);
  auto reply = redis_.Eval(kCreateIdempotentScript, keys, args);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kString && reply->kind != RedisReply::Kind::kStatus) {
    return std::unexpected(UnexpectedReply("idempotent create", *reply));
  }
  if (reply->str == "created") return IdempotentCreate{true, job.id, true};
  const auto space = reply->str.find(' ');
  return IdempotentCreate{
      false, reply->str.substr(0, space),
      space != std::string::npos && reply->str.substr(space + 1) == fingerprint};
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

Status JobStore::Remove(std::span<const std::string> ids) {
  if (ids.empty()) return Ok();
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  std::vector<std::string_view> del{"DEL"};
  std::vector<std::string_view> zrem{"ZREM", pending_key_};
  for (size_t i = 0; i < ids.size(); ++i) {
    del.push_back(keys[i]);
    zrem.push_back(ids[i]);
  }
  const std::vector<std::vector<std::string_view>> commands{del, zrem};
  auto replies = redis_.Pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
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

Result<std::vector<JobRecord>> JobStore::Recent(std::size_t limit) {
  limit = std::min(limit, kRecentJobs);
  if (limit == 0) return std::vector<JobRecord>();
  const std::string last = std::to_string(limit - 1);
  auto reply = redis_.Command({"LRANGE", recent_key_, "0", last});
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("LRANGE", *reply));
  }
  std::vector<std::string> ids;
  ids.reserve(reply->elements.size());
  for (const RedisReply& element : reply->elements) ids.push_back(element.str);
  auto records = GetMany(ids);
  if (!records) return std::unexpected(records.error());
  std::vector<JobRecord> present;
  present.reserve(records->size());
  for (auto& record : *records) {
    if (record) present.push_back(std::move(*record));
  }
  return present;
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

Result<CancelOutcome> JobStore::Cancel(std::string_view id, std::string* status_out) {
  const std::string key = JobKey(id);
  const std::string now = std::to_string(NowWallMicros().count());
  const std::string ttl = std::to_string(options_.result_ttl.count());
  const std::string_view keys[] = {pending_key_, key};
  const std::string_view args[] = {now, ttl, done_channel_, id};
  auto reply = redis_.Eval(kCancelScript, keys, args);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind == RedisReply::Kind::kInteger) {
    return reply->integer == 1 ? CancelOutcome::kCancelled : CancelOutcome::kNotFound;
  }
  if (reply->kind == RedisReply::Kind::kString) {
    if (status_out != nullptr) *status_out = reply->str;
    return CancelOutcome::kNotQueued;
  }
  return std::unexpected(UnexpectedReply("cancel", *reply));
}

Result<std::vector<bool>> JobStore::RunFlagsScript(const RedisScript& script,
                                                   std::span<const std::string_view> keys,
                                                   std::span<const std::string_view> args) {
  auto reply = redis_.Eval(script, keys, args);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kArray) {
    return std::unexpected(UnexpectedReply("script", *reply));
  }
  std::vector<bool> flags;
  flags.reserve(reply->elements.size());
  for (const auto& element : reply->elements) flags.push_back(element.integer == 1);
  return flags;
}

Result<std::vector<bool>> JobStore::Start(const BatchStart& batch, std::span<const JobClaim> jobs) {
  std::vector<std::string> keys;
  std::vector<std::string> tokens;
  keys.reserve(jobs.size());
  tokens.reserve(jobs.size());
  for (const auto& job : jobs) {
    keys.push_back(JobKey(job.id));
    tokens.push_back(std::to_string(job.attempt));
  }
  const std::string size = std::to_string(batch.batch_size);
  const std::string dispatched = std::to_string(batch.dispatched.count());
  const std::string started = std::to_string(batch.started.count());
  std::vector<std::string_view> key_views(keys.begin(), keys.end());
  std::vector<std::string_view> args{batch.batch_id, size,    batch.worker,
                                     dispatched,     started, batch.close_reason};
  args.insert(args.end(), tokens.begin(), tokens.end());
  return RunFlagsScript(kStartScript, key_views, args);
}

Result<std::vector<bool>> JobStore::Finish(std::span<const JobOutcome> outcomes) {
  std::vector<std::string> keys;
  std::vector<std::string> tokens;
  std::vector<std::string> launched;
  keys.reserve(outcomes.size());
  tokens.reserve(outcomes.size());
  launched.reserve(outcomes.size());
  for (const auto& outcome : outcomes) {
    keys.push_back(JobKey(outcome.id));
    tokens.push_back(std::to_string(outcome.attempt));
    launched.push_back(std::to_string(outcome.launched.count()));
  }
  const std::string now = std::to_string(NowWallMicros().count());
  const std::string ttl = std::to_string(options_.result_ttl.count());
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  std::vector<std::string_view> args{now, ttl, done_channel_};
  args.reserve(3 + outcomes.size() * 8);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& outcome = outcomes[i];
    args.push_back(tokens[i]);
    args.push_back(outcome.succeeded ? "succeeded" : "failed");
    args.push_back(outcome.result);
    args.push_back(outcome.error_code);
    args.push_back(outcome.error_message);
    args.push_back(outcome.blob.empty() ? std::string_view() : outcome.content_type);
    args.push_back(outcome.blob);
    args.push_back(launched[i]);
  }
  return RunFlagsScript(kFinishScript, key_views, args);
}

Result<std::vector<bool>> JobStore::Terminate(std::span<const std::string> ids,
                                              std::string_view status, std::string_view code,
                                              std::string_view message) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  const std::string now = std::to_string(NowWallMicros().count());
  const std::string ttl = std::to_string(options_.result_ttl.count());
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  const std::vector<std::string_view> args{now, ttl, done_channel_, status, code, message};
  return RunFlagsScript(kTerminateScript, key_views, args);
}

Status JobStore::Ping() {
  auto reply = redis_.Command({"PING"});
  if (!reply) return std::unexpected(reply.error());
  if (reply->is_error()) return std::unexpected(UnexpectedReply("PING", *reply));
  return Ok();
}

Result<std::vector<std::string>> JobStore::PendingCreatedBefore(WallMicros created_before,
                                                                std::size_t limit) {
  const std::string max = std::to_string(created_before.count() / 1000);
  const std::string count = std::to_string(limit);
  auto reply = redis_.Command({"ZRANGEBYSCORE", pending_key_, "-inf", max, "LIMIT", "0", count});
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
