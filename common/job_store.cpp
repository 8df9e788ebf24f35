#include "common/job_store.h"

#include <algorithm>
#include <random>

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
-- The value of field `name` among the field/value pairs ARGV[first..last].
local function pair_value(first, last, name)
  for k = first, last, 2 do
    if ARGV[k] == name then return ARGV[k + 1] end
  end
  return ''
end
local function status_in(first, last) return pair_value(first, last, $F_status) end
)lua";

// An attempt that ended, as one line of a record's `history` (job_record.h): a JSON
// object built here, since cjson would round the microsecond times to 14 digits. Lines
// are joined by '\n' (JSON strings hold none), so the oldest is dropped with one find.
constexpr char kHistoryLine[] = R"lua(
local function history_line(attempt, status, code, message, started, finished, worker, batch)
  return '{"attempt":' .. (tonumber(attempt) or 0) .. ',"status":' .. cjson.encode(status or '') ..
      ',"error":{"code":' .. cjson.encode(code or '') .. ',"message":' ..
      cjson.encode(message or '') .. '},"started_us":' .. string.format('%.0f', tonumber(started) or 0) ..
      ',"finished_us":' .. string.format('%.0f', tonumber(finished) or 0) .. ',"worker":' ..
      cjson.encode(worker or '') .. ',"batch":' .. cjson.encode(batch or '') .. '}'
end
local function push_history(key, line, max)
  local text = redis.call('HGET', key, $F_history)
  if not text or text == '' then return line end
  local _, lines = string.gsub(text, '\n', '')
  if lines + 1 >= max then text = string.sub(text, string.find(text, '\n', 1, true) + 1) end
  return text .. '\n' .. line
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
// minute, stored prefix, longest backoff (ms), history length, then per job: token,
// blob, retry (the jitter in thousandths when the failure is retryable, else ''), pair
// count, the outcome's field/value pairs. Written only while the job runs under that
// very attempt: the fencing that makes a late result from a lost worker harmless. A
// binary result goes to `{job key}:blob` with the same TTL. A retryable failure of a
// job with retries left queues it again instead ({2, backoff ms} in the answer): its
// attempt goes to the history, and it stays pending.
const RedisScript kFinishScript{
    LuaSource(std::string(kStoredAccounts) + kChangeLine + kHistoryLine + R"lua(
local out = {}
local ended = {}
local changes = {}
local requeued = {}
-- Queues the job of `key` again if it has retries left; the backoff in ms, or nil.
local function retry_later(key, st, token, jitter, first, last)
  local r = redis.call('HMGET', key, $F_retries, $F_max_retries, $F_retry_backoff_ms,
                       $F_started_us, $F_worker, $F_batch)
  local retries = tonumber(r[1] or '0') or 0
  if retries >= (tonumber(r[2] or '0') or 0) then return nil end
  local backoff = tonumber(r[3] or '0') or 0
  if backoff <= 0 then backoff = 1000 end
  local delay = math.floor(math.min(backoff * 2 ^ retries, tonumber(ARGV[6])) * jitter / 1000)
  local line = history_line(token, $S_failed, pair_value(first, last, $F_error_code),
                            pair_value(first, last, $F_error_message), r[4], ARGV[1], r[5], r[6])
  redis.call('HSET', key, $F_status, $S_queued, $F_retries, retries + 1, $F_retry_at_us,
             string.format('%.0f', tonumber(ARGV[1]) + delay * 1000), $F_history,
             push_history(key, line, tonumber(ARGV[7])))
  redis.call('HDEL', key, $F_started_us, $F_launched_us, $F_dispatched_us, $F_batch,
             $F_batch_size, $F_worker, $F_close_reason)
  requeued[#requeued + 1] = change(st[3], $S_queued, token, st[4], st[6])
  return delay
end
local a = 8
for i = 2, #KEYS do
  local key = KEYS[i]
  local token, blob, jitter, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local first, last = a + 4, a + 3 + 2 * n
  a = last + 1
  local st = redis.call('HMGET', key, $F_status, $F_attempts, $F_id, $F_tenant, $F_storage, $F_type)
  local delay = nil
  if st[1] == $S_running and st[2] == token and jitter ~= '' then
    delay = retry_later(key, st, token, tonumber(jitter), first, last)
  end
  if delay then
    out[i - 1] = {2, delay}
  elseif st[1] == $S_running and st[2] == token then
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
if #requeued > 0 then redis.call('PUBLISH', ARGV[3], table.concat(requeued, '\n')) end
)lua" + kPublishEnded)};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, release
// minute, stored prefix, the broker epoch's key ('' for no fence: a gateway withdrawing a
// retry the broker refused), the ending broker's epoch, then the
// ending's field/value pairs (status, error). Ends every job that is not terminal yet,
// unless that broker was deposed: then the jobs are its successor's.
const RedisScript kTerminateScript{LuaSource(std::string(kStoredAccounts) + kChangeLine + R"lua(
local out = {}
local ended = {}
local changes = {}
if ARGV[6] ~= '' and redis.call('GET', ARGV[6]) ~= ARGV[7] then
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

// KEYS[1]: pending set; KEYS[2]: job key; KEYS[3]: its blob. ARGV: now_us, channel, id,
// pending score (ms), unfinished ttl_s, unfinished release minute, stored prefix, record
// overhead bytes, history length. Queues an ended (failed, expired, cancelled) job again
// under the same id: its attempt goes to the history, its result and error are dropped,
// it is pending again with a fresh retry budget, and its stored bytes are again what a
// new job's are. Returns 1 when queued, 0 when the job does not exist, else its status.
const RedisScript kRequeueScript{
    LuaSource(std::string(kStoredAccounts) + kChangeLine + kHistoryLine + R"lua(
local st = redis.call('HMGET', KEYS[2], $F_status, $F_attempts, $F_tenant, $F_type, $F_storage,
                      $F_error_code, $F_error_message, $F_started_us, $F_finished_us, $F_worker,
                      $F_batch, $F_input)
if not st[1] then return 0 end
if st[1] ~= $S_failed and st[1] ~= $S_expired and st[1] ~= $S_cancelled then return st[1] end
local line = history_line(st[2], st[1], st[6], st[7], st[8], st[9], st[10], st[11])
local history = push_history(KEYS[2], line, tonumber(ARGV[9]))
local held = tonumber(string.match(st[5] or '', ' (%d+)$') or '0')
local entry = restate(st[3], st[5], ARGV[6], #(st[12] or '') + tonumber(ARGV[8]) - held)
redis.call('HDEL', KEYS[2], $F_result, $F_result_type, $F_error_code, $F_error_message,
           $F_cancelled_by, $F_started_us, $F_launched_us, $F_dispatched_us, $F_finished_us,
           $F_batch, $F_batch_size, $F_worker, $F_close_reason)
redis.call('HSET', KEYS[2], $F_status, $S_queued, $F_retries, 0, $F_retry_at_us, ARGV[1],
           $F_history, history)
if entry then redis.call('HSET', KEYS[2], $F_storage, entry) end
redis.call('DEL', KEYS[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PUBLISH', ARGV[2], change(ARGV[3], $S_queued, st[2], st[3], st[4]))
settle(ARGV[7])
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
            RecordField::kInput, RecordField::kCreated, RecordField::kTimeoutMs,
            RecordField::kMaxRetries, RecordField::kRetryBackoffMs});
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
          spec.field != RecordField::kErrorMessage && spec.field != RecordField::kHistory) {
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

Result<std::vector<FinishMark>> JobStore::Finish(std::span<const JobOutcome> outcomes) {
  std::vector<std::string> texts;  // key, token, jitter, pair count per outcome
  std::vector<JobRecord> ended(outcomes.size());
  std::vector<RecordFields> fields;
  texts.reserve(outcomes.size() * 4);
  fields.reserve(outcomes.size());
  for (const auto& outcome : outcomes) {
    fields.push_back(OutcomeFields(outcome, ended[fields.size()]));
    texts.push_back(JobKey(outcome.id));
    texts.push_back(std::to_string(outcome.attempt));
    const bool retryable = !outcome.succeeded && IsRetryable(outcome.error_code);
    texts.push_back(retryable ? RetryJitter() : std::string());
    texts.push_back(std::to_string(fields.back().count()));
  }
  const WallMicros wall_now = NowWallMicros();
  const std::string now = std::to_string(wall_now.count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  const std::string max_backoff = std::to_string(kMaxRetryBackoff.count());
  const std::string history = std::to_string(kMaxHistory);
  std::vector<std::string_view> key_views{pending_key_};
  std::vector<std::string_view> args{now,         ttl_,   done_channel_, minute, stored_prefix_,
                                     max_backoff, history};
  args.reserve(7 + outcomes.size() * 17);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    key_views.push_back(texts[4 * i]);
    args.insert(args.end(),
                {texts[4 * i + 1], outcomes[i].blob, texts[4 * i + 2], texts[4 * i + 3]});
    args.insert(args.end(), fields[i].pairs().begin(), fields[i].pairs().end());
  }
  // A replayed finish would find the job already ended and answer "not written".
  auto reply = redis_.Eval(kFinishScript, key_views, args, Replay::kUnsafe);
  if (!reply) return std::unexpected(reply.error());
  return FinishMarks(*reply);
}

Result<RequeueOutcome> JobStore::Requeue(std::string_view id, JobStatus* status_out) {
  const std::string key = JobKey(id);
  const std::string blob = BlobKey(id);
  const WallMicros wall_now = NowWallMicros();
  const std::string now = std::to_string(wall_now.count());
  const std::string score =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wall_now).count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, unfinished_lifetime_));
  const std::string overhead = std::to_string(kRecordOverheadBytes);
  const std::string history = std::to_string(kMaxHistory);
  const std::string_view keys[] = {pending_key_, key, blob};
  const std::string_view args[] = {now,    done_channel_,  id,       score,  unfinished_ttl_,
                                   minute, stored_prefix_, overhead, history};
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
  const WallMicros wall_now = NowWallMicros();
  const std::string now = std::to_string(wall_now.count());
  const std::string minute = std::to_string(ReleaseMinute(wall_now, options_.result_ttl));
  std::vector<std::string_view> key_views{pending_key_};
  key_views.insert(key_views.end(), keys.begin(), keys.end());
  std::vector<std::string_view> args{now,       ttl_, done_channel_, minute, stored_prefix_,
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
