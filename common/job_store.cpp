#include "common/job_store.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/job_change.h"
#include "common/job_limits.h"

namespace batchq {
namespace {

using Replay = RedisConnection::Replay;

// The scripts name statuses as `$S_queued` and record fields as `$F_status`; both are
// filled in from the two tables (job_status.h, job_record.h) so no name is spelled twice.
std::string LuaSource(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const bool token = text[i] == '$' && i + 2 < text.size() && text[i + 2] == '_' &&
                       (text[i + 1] == 'S' || text[i + 1] == 'F');
    if (!token) {
      out += text[i++];
      continue;
    }
    std::size_t end = i + 3;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    const std::string_view name = text.substr(i + 3, end - i - 3);
    std::string_view resolved;
    if (text[i + 1] == 'S') {
      const auto status = ParseJobStatus(name);
      if (!status) throw std::logic_error(fmt::format("Lua names no status '{}'", name));
      resolved = ToString(*status);
    } else {
      for (const auto& spec : kRecordSchema) {
        if (spec.name == name) resolved = spec.name;
      }
      if (resolved.empty()) throw std::logic_error(fmt::format("Lua names no field '{}'", name));
    }
    out += '\'';
    out += resolved;
    out += '\'';
    i = end;
  }
  return out;
}

// The creation of one job under an Idempotency-Key, which must be atomic with the
// check. KEYS: idempotency key, job key, pending set, stored account, its minutes, then
// the recent lists. ARGV: id, fingerprint, ttl_s, score, recent_last, record_ttl_s,
// release minute, stored bytes, then the record's field/value pairs.
// Creates the job unless the key is taken; answers "created" or the "id fingerprint" the key
// already holds. Jobs without a key go through MULTI/EXEC instead (Create): a
// Lua call costs Redis about twice as much per job, for the argument copies.
const RedisScript kCreateIdempotentScript{R"lua(
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 9))
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('HINCRBY', KEYS[4], 'total', ARGV[8])
redis.call('HINCRBY', KEYS[4], 'e:' .. ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
for k = 6, #KEYS do
  redis.call('LPUSH', KEYS[k], ARGV[1])
  redis.call('LTRIM', KEYS[k], 0, tonumber(ARGV[5]))
end
return 'created'
)lua"};

// One job's state change as the change channel carries it (job_change.h):
// "id<TAB>status<TAB>attempt<TAB>tenant<TAB>type"; a message joins changes with '\n'.
constexpr char kChangeLine[] = R"lua(
local function change(id, status, attempt, tenant, type)
  return (id or '') .. '\t' .. status .. '\t' .. (attempt or '0') .. '\t' .. (tenant or '') ..
      '\t' .. (type or '')
end
-- The status among the field/value pairs ARGV[first..last].
local function status_in(first, last)
  for k = first, last, 2 do
    if ARGV[k] == $F_status then return ARGV[k + 1] end
  end
  return ''
end
)lua";

// KEYS: job keys. ARGV: field pair count n, the broker epoch's key, the batch's epoch,
// the change channel, n field/value pairs, then one attempt token per job. A job is claimed when it
// is queued, or running under an older attempt (its previous worker was declared lost), and only
// while the batch's epoch is current: a deposed broker's batch claims nothing. The epoch key is an
// argument, not a declared key: Redis checks declared keys for write access, and workers may only
// read it.
const RedisScript kStartScript{LuaSource(std::string(kChangeLine) + R"lua(
local n = tonumber(ARGV[1])
local out = {}
local changes = {}
if redis.call('GET', ARGV[2]) ~= ARGV[3] then
  for i = 1, #KEYS do out[i] = 0 end
  return out
end
for i, key in ipairs(KEYS) do
  local token = tonumber(ARGV[4 + 2 * n + i])
  local st = redis.call('HMGET', key, $F_status, $F_attempts, $F_id, $F_tenant, $F_type)
  if st[1] == $S_queued or (st[1] == $S_running and tonumber(st[2] or '0') < token) then
    redis.call('HSET', key, $F_status, $S_running, $F_attempts, token, unpack(ARGV, 5, 4 + 2 * n))
    changes[#changes + 1] = change(st[3], $S_running, token, st[4], st[5])
    out[i] = 1
  else
    out[i] = 0
  end
end
if #changes > 0 then redis.call('PUBLISH', ARGV[4], table.concat(changes, '\n')) end
return out
)lua")};

// Shared tail of the scripts that end jobs (KEYS[1] the pending set, ARGV[3] the change
// channel, `ended` the ids they ended and `changes` their change lines): one ZREM and one
// PUBLISH per chunk of 500, instead of one of each per job.
constexpr char kPublishEnded[] = R"lua(
for i = 1, #ended, 500 do
  local last = math.min(i + 499, #ended)
  redis.call('ZREM', KEYS[1], unpack(ended, i, last))
  redis.call('PUBLISH', ARGV[3], table.concat({unpack(changes, i, last)}, '\n'))
end
return out
)lua";

// The stored-bytes accounts (job_store.h) of the scripts that end or remove records:
// `restate` moves one record's entry and `settle` writes every account's change once
// per call. The accounts' keys are built here from the record's tenant: they cannot be
// declared in KEYS before the record is read.
constexpr char kStoredAccounts[] = R"lua(
local accounts = {}
-- Moves the entry `storage` ("<minute> <bytes>") of a record of `tenant` to release
-- `minute` with `extra` bytes more and returns the new entry; with no minute, takes it
-- out of the account. Records written before the account existed have no entry.
local function restate(tenant, storage, minute, extra)
  if not tenant or not storage then return nil end
  local space = string.find(storage, ' ', 1, true)
  if not space then return nil end
  local old, bytes = string.sub(storage, 1, space - 1), tonumber(string.sub(storage, space + 1))
  local account = accounts[tenant]
  if not account then
    account = {total = 0, minutes = {}}
    accounts[tenant] = account
  end
  account.minutes[old] = (account.minutes[old] or 0) - bytes
  if not minute then
    account.total = account.total - bytes
    return nil
  end
  account.total = account.total + extra
  account.minutes[minute] = (account.minutes[minute] or 0) + bytes + extra
  return minute .. ' ' .. (bytes + extra)
end
-- Every minute with bytes is listed as due: a new one is added (its field did not exist,
-- so HINCRBY answers the bytes added); one left with nothing is dropped, so that it is
-- not named as the next release. One below zero (its release ran first) stays due, so
-- the next release adds it back.
local function settle(prefix)
  for tenant, account in pairs(accounts) do
    local key = prefix .. tenant
    if account.total ~= 0 then redis.call('HINCRBY', key, 'total', account.total) end
    for minute, bytes in pairs(account.minutes) do
      if bytes ~= 0 then
        local left = redis.call('HINCRBY', key, 'e:' .. minute, bytes)
        if left == 0 then
          redis.call('HDEL', key, 'e:' .. minute)
          redis.call('ZREM', key .. ':due', minute)
        elseif left == bytes then
          redis.call('ZADD', key .. ':due', minute, minute)
        end
      end
    end
  end
end
)lua";

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, release
// minute, stored prefix, then per job: token, blob, pair count, the outcome's
// field/value pairs. Written only while the job runs under that very attempt: the
// fencing that makes a late result from a lost worker harmless. A binary result goes to
// `{job key}:blob` with the same TTL.
const RedisScript kFinishScript{LuaSource(std::string(kStoredAccounts) + kChangeLine + R"lua(
local out = {}
local ended = {}
local changes = {}
local a = 6
for i = 2, #KEYS do
  local key = KEYS[i]
  local token, blob, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local first, last = a + 3, a + 2 + 2 * n
  a = last + 1
  local st = redis.call('HMGET', key, $F_status, $F_attempts, $F_id, $F_tenant, $F_storage, $F_type)
  if st[1] == $S_running and st[2] == token then
    local extra = #blob
    for k = first + 1, last, 2 do extra = extra + #ARGV[k] end
    local entry = restate(st[4], st[5], ARGV[4], extra)
    local fields = {$F_finished_us, ARGV[1], unpack(ARGV, first, last)}
    if entry then
      fields[#fields + 1] = $F_storage
      fields[#fields + 1] = entry
    end
    redis.call('HSET', key, unpack(fields))
    redis.call('EXPIRE', key, ARGV[2])
    if blob ~= '' then redis.call('SET', key .. ':blob', blob, 'EX', ARGV[2]) end
    ended[#ended + 1] = st[3]
    changes[#changes + 1] = change(st[3], status_in(first, last), token, st[4], st[6])
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
settle(ARGV[5])
)lua" + kPublishEnded)};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, release
// minute, stored prefix, the broker epoch's key, the ending broker's epoch, then the
// ending's field/value pairs (status, error). Ends every job that is not terminal yet,
// unless that broker was deposed: then the jobs are its successor's.
const RedisScript kTerminateScript{LuaSource(std::string(kStoredAccounts) + kChangeLine + R"lua(
local out = {}
local ended = {}
local changes = {}
if redis.call('GET', ARGV[6]) ~= ARGV[7] then
  for i = 2, #KEYS do out[i - 1] = 0 end
  return out
end
local extra = 0
for k = 9, #ARGV, 2 do extra = extra + #ARGV[k] end
for i = 2, #KEYS do
  local key = KEYS[i]
  local st = redis.call('HMGET', key, $F_status, $F_id, $F_tenant, $F_storage, $F_attempts, $F_type)
  if st[1] == $S_queued or st[1] == $S_running then
    local entry = restate(st[3], st[4], ARGV[4], extra)
    redis.call('HSET', key, $F_finished_us, ARGV[1], unpack(ARGV, 8))
    if entry then redis.call('HSET', key, $F_storage, entry) end
    redis.call('EXPIRE', key, ARGV[2])
    ended[#ended + 1] = st[2]
    changes[#changes + 1] = change(st[2], status_in(8, #ARGV), st[5], st[3], st[6])
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
settle(ARGV[5])
)lua" + kPublishEnded)};

// KEYS[1]: pending set; KEYS[2]: job key. ARGV: finished_us, ttl_s, channel, id, release
// minute, stored prefix, then the cancellation's field/value pairs. Returns 1 when a
// queued job was cancelled, 2 a running one, 0 when the job does not exist, else its
// (terminal) status.
const RedisScript kCancelScript{LuaSource(std::string(kStoredAccounts) + kChangeLine + R"lua(
local st = redis.call('HMGET', KEYS[2], $F_status, $F_tenant, $F_storage, $F_attempts, $F_type)
if not st[1] then return 0 end
if st[1] ~= $S_queued and st[1] ~= $S_running then return st[1] end
local extra = 0
for k = 8, #ARGV, 2 do extra = extra + #ARGV[k] end
local entry = restate(st[2], st[3], ARGV[5], extra)
redis.call('HSET', KEYS[2], $F_finished_us, ARGV[1], unpack(ARGV, 7))
if entry then redis.call('HSET', KEYS[2], $F_storage, entry) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[3], change(ARGV[4], $S_cancelled, st[4], st[2], st[5]))
settle(ARGV[6])
if st[1] == $S_running then return 2 end
return 1
)lua")};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV[1]: stored prefix; ARGV[2..]: the
// ids. Deletes the records (a refused submit's) and takes them out of their accounts.
const RedisScript kRemoveScript{LuaSource(std::string(kStoredAccounts) + R"lua(
for i = 2, #KEYS do
  local st = redis.call('HMGET', KEYS[i], $F_tenant, $F_storage)
  restate(st[1], st[2], nil, 0)
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
settle(ARGV[1])
return 1
)lua")};

// KEYS: the tenant's account and its minutes. ARGV: the current minute. Releases the
// minutes that are due (their records expired), then answers the total and the soonest
// minute still held (0: none).
const RedisScript kReadStoredScript{R"lua(
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #due > 0 then
  local freed = 0
  for i = 1, #due, 500 do
    local fields = {}
    for j = i, math.min(i + 499, #due) do fields[#fields + 1] = 'e:' .. due[j] end
    for _, bytes in ipairs(redis.call('HMGET', KEYS[1], unpack(fields))) do
      freed = freed + tonumber(bytes or '0')
    end
    redis.call('HDEL', KEYS[1], unpack(fields))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('HINCRBY', KEYS[1], 'total', -freed)
end
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local soonest = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'LIMIT', 0, 1)
return {total, tonumber(soonest[1] or '0')}
)lua"};

// The fields a new record is written with (its status and attempts are the initial ones
// whatever `job` says); `storage` is its stored-bytes entry and must outlive them.
RecordFields CreationFields(const NewJob& job, std::string_view storage) {
  RecordFields fields(
      job, {RecordField::kId, RecordField::kType, RecordField::kTenant, RecordField::kPriority,
            RecordField::kInput, RecordField::kCreated, RecordField::kTimeoutMs});
  fields.Add(RecordField::kStatus, ToString(JobStatus::kQueued))
      .Add(RecordField::kAttempts, "0")
      .Add(RecordField::kStorage, storage);
  return fields;
}

// The Unix minute at whose start a record that expires `ttl` after `now` is gone, so its
// bytes can be released.
std::int64_t ReleaseMinute(WallMicros now, std::chrono::seconds ttl) {
  return (std::chrono::duration_cast<std::chrono::seconds>(now) + ttl).count() / 60 + 1;
}

std::string QueuedChange(const NewJob& job) {
  return FormatJobChange(JobChange{job.id, JobStatus::kQueued, 0, job.tenant, job.type});
}

JobRecord RecordFromFields(const std::vector<RedisReply>& flat) {
  JobRecord record;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) SetField(record, flat[i].str, flat[i + 1].str);
  return record;
}

Error UnexpectedReply(std::string_view what, const RedisReply& reply) {
  return Error{ErrorCode::kRedisUnavailable,
               fmt::format("Redis answered {} unexpectedly: {}.", what,
                           reply.is_error() ? reply.str : std::string("wrong reply type"))};
}

}  // namespace

std::uint64_t JobStore::CreationBytes(const NewJob& job) {
  return job.input.size() + kRecordOverheadBytes;
}

JobStore::JobStore(RedisConnection& redis, Options options)
    : redis_(redis),
      options_(std::move(options)),
      pending_key_(options_.key_prefix + "pending"),
      recent_key_(options_.key_prefix + "recent"),
      recent_last_(std::to_string(kRecentJobs - 1)),
      done_channel_(options_.key_prefix + "done"),
      ttl_(std::to_string(options_.result_ttl.count())),
      unfinished_lifetime_(kMaxQueueLifetime + kMaxTypeDuration + options_.result_ttl),
      unfinished_ttl_(std::to_string(unfinished_lifetime_.count())),
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
  if (claim) {
    const std::string minute = std::to_string(ReleaseMinute(NowWallMicros(), unfinished_lifetime_));
    const NewJob& job = jobs[0];
    const std::string storage = fmt::format("{} {}", minute, JobStore::CreationBytes(job));
    return CreateClaimed(job, JobKey(job.id), CreationFields(job, storage),
                         std::to_string(job.created.count() / 1000), minute, *claim);
  }
  std::vector<const NewJob*> group;
  group.reserve(jobs.size());
  for (const NewJob& job : jobs) group.push_back(&job);
  if (auto created = CreateGroup(group); !created) return std::unexpected(created.error());
  return CreateOutcome{true, jobs[0].id, true};
}

Status JobStore::CreateGroup(std::span<const NewJob* const> group) {
  if (group.empty()) return Ok();
  const std::string minute = std::to_string(ReleaseMinute(NowWallMicros(), unfinished_lifetime_));
  std::vector<std::string> keys, scores, storage;
  std::vector<RecordFields> fields;
  keys.reserve(group.size());
  scores.reserve(group.size());
  storage.reserve(group.size());
  fields.reserve(group.size());
  for (const NewJob* job : group) {
    keys.push_back(JobKey(job->id));
    scores.push_back(std::to_string(job->created.count() / 1000));
    storage.push_back(fmt::format("{} {}", minute, JobStore::CreationBytes(*job)));
    fields.push_back(CreationFields(*job, storage.back()));
  }
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(group.size() * 2 + 5);
  commands.push_back({"MULTI"});
  std::vector<std::string_view> zadd{"ZADD", pending_key_};
  std::vector<std::string_view> lpush{"LPUSH", recent_key_};
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
  for (std::size_t i = 0; i < group.size(); ++i) {
    const NewJob& job = *group[i];
    if (i > 0) changes += '\n';
    changes += QueuedChange(job);
    std::vector<std::string_view> hset{"HSET", keys[i]};
    hset.insert(hset.end(), fields[i].pairs().begin(), fields[i].pairs().end());
    commands.push_back(std::move(hset));
    // A backstop: a record no broker ever ends still leaves Redis in the end.
    commands.push_back({"EXPIRE", keys[i], unfinished_ttl_});
    zadd.insert(zadd.end(), {scores[i], job.id});
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
  // Views of by_tenant's keys and texts: it no longer grows.
  std::vector<std::string> account_texts;  // per tenant: key, minutes key, bytes
  account_texts.reserve(by_tenant.size() * 3);
  const std::string minute_field = "e:" + minute;
  for (auto& tenant : by_tenant) {
    tenant.push.insert(tenant.push.begin() + 1, tenant.key);
    commands.push_back(std::move(tenant.push));
    commands.push_back({"LTRIM", tenant.key, "0", recent_last_});
    const std::string& account = account_texts.emplace_back(StoredKey(tenant.tenant));
    const std::string& due = account_texts.emplace_back(account + ":due");
    const std::string& bytes = account_texts.emplace_back(std::to_string(tenant.bytes));
    commands.push_back({"HINCRBY", account, "total", bytes});
    commands.push_back({"HINCRBY", account, minute_field, bytes});
    commands.push_back({"ZADD", due, minute, minute});
  }
  commands.push_back({"PUBLISH", done_channel_, changes});
  commands.push_back({"EXEC"});
  auto replies = redis_.Pipeline(commands, Replay::kUnsafe);
  if (!replies) return std::unexpected(replies.error());
  const RedisReply& exec = replies->back();
  if (exec.kind != RedisReply::Kind::kArray) return std::unexpected(UnexpectedReply("EXEC", exec));
  for (const RedisReply& reply : exec.elements) {
    if (reply.is_error()) return std::unexpected(UnexpectedReply("HSET/ZADD/LPUSH", reply));
  }
  return Ok();
}

Result<CreateOutcome> JobStore::CreateClaimed(const NewJob& job, std::string_view job_key,
                                              const RecordFields& fields, std::string_view score,
                                              std::string_view minute,
                                              const IdempotencyClaim& claim) {
  const std::string idem_key = IdempotencyKey(claim.key);
  const std::string tenant_key = TenantRecentKey(job.tenant);
  const std::string account = StoredKey(job.tenant);
  const std::string due = account + ":due";
  const std::string bytes = std::to_string(JobStore::CreationBytes(job));
  std::vector<std::string_view> keys = {idem_key, job_key, pending_key_, account, due, recent_key_};
  if (!job.tenant.empty()) keys.push_back(tenant_key);
  std::vector<std::string_view> args{job.id,       claim.fingerprint, ttl_,   score,
                                     recent_last_, unfinished_ttl_,   minute, bytes};
  args.insert(args.end(), fields.pairs().begin(), fields.pairs().end());
  auto reply = redis_.Eval(kCreateIdempotentScript, keys, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  if (reply->kind != RedisReply::Kind::kString && reply->kind != RedisReply::Kind::kStatus) {
    return std::unexpected(UnexpectedReply("idempotent create", *reply));
  }
  if (reply->str == "created") {
    // After the script, not in it: a lost notice costs an event stream a change, while
    // the job and its key stay one atomic step.
    (void)redis_.Command({"PUBLISH", done_channel_, QueuedChange(job)});
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
  std::vector<std::string_view> args{stored_prefix_};
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
  return fmt::format("{}recent:{}", options_.key_prefix, tenant);
}

namespace {

// The fields of a summary: everything but the input, the result and the error message,
// which may be large.
const std::vector<std::string_view>& SummaryFields() {
  static const std::vector<std::string_view> fields = [] {
    std::vector<std::string_view> names;
    for (const auto& spec : kRecordSchema) {
      if (spec.field != RecordField::kInput && spec.field != RecordField::kResult &&
          spec.field != RecordField::kErrorMessage) {
        names.push_back(spec.name);
      }
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
  const std::string now = std::to_string(NowWallMicros().count());
  JobRecord cancelled;
  cancelled.status = JobStatus::kCancelled;
  cancelled.error_code = Name(ErrorCode::kCancelled);
  cancelled.error_message = DefaultMessage(ErrorCode::kCancelled);
  cancelled.cancelled_by = cancelled_by;
  const RecordFields fields(cancelled, {RecordField::kStatus, RecordField::kErrorCode,
                                        RecordField::kErrorMessage, RecordField::kCancelledBy});
  const std::string minute = std::to_string(ReleaseMinute(NowWallMicros(), options_.result_ttl));
  const std::string_view keys[] = {pending_key_, key};
  std::vector<std::string_view> args{now, ttl_, done_channel_, id, minute, stored_prefix_};
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
  start.batch_id = batch.batch_id;
  start.batch_size = batch.batch_size;
  start.worker = batch.worker;
  start.dispatched = batch.dispatched;
  start.started = batch.started;
  start.close_reason = batch.close_reason;
  const RecordFields fields(
      start, {RecordField::kBatchId, RecordField::kBatchSize, RecordField::kWorker,
              RecordField::kDispatched, RecordField::kStarted, RecordField::kCloseReason});
  const std::string count = std::to_string(fields.count());
  const std::string epoch = std::to_string(batch.epoch);
  std::vector<std::string_view> key_views(keys.begin(), keys.end());
  std::vector<std::string_view> args{count, epoch_key_, epoch, done_channel_};
  args.insert(args.end(), fields.pairs().begin(), fields.pairs().end());
  args.insert(args.end(), tokens.begin(), tokens.end());
  // A replayed claim would find its own first run and answer "not claimed".
  return RunFlagsScript(kStartScript, key_views, args, Replay::kUnsafe);
}

namespace {

// The record fields an outcome writes: its texts are views into `outcome`, and into
// `ended` (its status and launch time), which must outlive them.
RecordFields OutcomeFields(const JobOutcome& outcome, JobRecord& ended) {
  ended.status = outcome.succeeded ? JobStatus::kSucceeded : JobStatus::kFailed;
  ended.launched = outcome.launched;
  RecordFields fields(ended, {RecordField::kStatus, RecordField::kLaunched});
  const std::string_view no_text;
  fields.Add(RecordField::kResult, outcome.result)
      .Add(RecordField::kErrorCode, outcome.succeeded ? no_text : Name(outcome.error_code))
      .Add(RecordField::kErrorMessage, outcome.succeeded ? no_text : outcome.error_message);
  if (!outcome.blob.empty()) fields.Add(RecordField::kResultType, outcome.content_type);
  return fields;
}

}  // namespace

Result<std::vector<bool>> JobStore::Finish(std::span<const JobOutcome> outcomes) {
  std::vector<std::string> texts;  // key, token, pair count per outcome
  std::vector<JobRecord> ended(outcomes.size());
  std::vector<RecordFields> fields;
  texts.reserve(outcomes.size() * 3);
  fields.reserve(outcomes.size());
  for (const auto& outcome : outcomes) {
    fields.push_back(OutcomeFields(outcome, ended[fields.size()]));
    texts.push_back(JobKey(outcome.id));
    texts.push_back(std::to_string(outcome.attempt));
    texts.push_back(std::to_string(fields.back().count()));
  }
  const WallMicros wall_now = NowWallMicros();
  const std::string now = std::to_string(wall_now.count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  std::vector<std::string_view> key_views{pending_key_};
  std::vector<std::string_view> args{now, ttl_, done_channel_, minute, stored_prefix_};
  args.reserve(5 + outcomes.size() * 16);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    key_views.push_back(texts[3 * i]);
    args.insert(args.end(), {texts[3 * i + 1], outcomes[i].blob, texts[3 * i + 2]});
    args.insert(args.end(), fields[i].pairs().begin(), fields[i].pairs().end());
  }
  // A replayed finish would find the job already ended and answer "not written".
  return RunFlagsScript(kFinishScript, key_views, args, Replay::kUnsafe);
}

Result<std::vector<bool>> JobStore::Terminate(std::span<const std::string> ids, JobStatus status,
                                              ErrorCode code, std::string_view message,
                                              std::uint64_t epoch) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(JobKey(id));
  JobRecord ended;
  ended.status = status;
  ended.error_code = Name(code);
  ended.error_message = message;
  const RecordFields fields(
      ended, {RecordField::kStatus, RecordField::kErrorCode, RecordField::kErrorMessage});
  const WallMicros wall_now = NowWallMicros();
  const std::string now = std::to_string(wall_now.count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  const std::string epoch_text = std::to_string(epoch);
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  std::vector<std::string_view> args{now,        ttl_,      done_channel_, minute, stored_prefix_,
                                     epoch_key_, epoch_text};
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
