// The Lua scripts of the job store (job_store_scripts.h).
#include "common/job_store_scripts.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "common/job_change.h"
#include "common/job_record.h"
#include "common/job_status.h"
#include "common/packed_start.h"

namespace batchq::job_scripts {
namespace {

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

}  // namespace

// The creation of one job under an Idempotency-Key, which must be atomic with the
// check. KEYS: idempotency key, job key, pending set, stored account, its minutes, then
// the recent lists. ARGV: id, fingerprint, ttl_s, score, recent_last, release minute,
// stored bytes, then the record's field/value pairs (no TTL until it ends: job_store.h).
// Creates the job unless the key is taken; answers "created" or the "id fingerprint" the key
// already holds. Jobs without a key go through MULTI/EXEC instead (Create): a
// Lua call costs Redis about twice as much per job, for the argument copies.
const RedisScript kCreateIdempotentScript{R"lua(
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
redis.call('HINCRBY', KEYS[4], 'total', ARGV[7])
redis.call('HINCRBY', KEYS[4], 'e:' .. ARGV[6], ARGV[7])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[6])
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

// `heard(channel)`: whether anyone is subscribed to `channel`, for the scripts that publish
// the started changes. Only event streams read the progress channel, and a gateway
// subscribes to it only while one is open (progress_demand.h), so most calls would build
// and publish those lines for no one. A subscription confirmed before the script runs is
// counted, so a stream misses nothing from its confirmation on; pattern subscriptions are
// not (batchq makes none). Refused (an ACL file from before this check): as if someone
// listened.
constexpr char kHeard[] = R"lua(
local function heard(channel)
  local r = redis.pcall('PUBSUB', 'NUMSUB', channel)
  if type(r) ~= 'table' or r.err then return true end
  return tonumber(r[2]) ~= 0
end
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
// the progress channel, n field/value pairs, then one attempt token per job. A job is claimed when
// it is queued, or running under an older attempt (its previous worker was declared lost), and only
// while the batch's epoch is current: a deposed broker's batch claims nothing. The epoch key is an
// argument, not a declared key: Redis checks declared keys for write access, and workers may only
// read it.
const RedisScript kStartScript{LuaSource(std::string(kChangeLine) + kHeard + R"lua(
local n = tonumber(ARGV[1])
local out = {}
local changes = {}
if redis.call('GET', ARGV[2]) ~= ARGV[3] then
  for i = 1, #KEYS do out[i] = 0 end
  return out
end
local progress_heard = heard(ARGV[4])
for i, key in ipairs(KEYS) do
  local token = tonumber(ARGV[4 + 2 * n + i])
  local st = redis.call('HMGET', key, $F_status, $F_attempts, $F_id, $F_tenant, $F_type)
  if st[1] == $S_queued or (st[1] == $S_running and tonumber(st[2] or '0') < token) then
    redis.call('HSET', key, $F_status, $S_running, $F_attempts, token, unpack(ARGV, 5, 4 + 2 * n))
    if progress_heard then changes[#changes + 1] = change(st[3], $S_running, token, st[4], st[5]) end
    out[i] = 1
  else
    out[i] = 0
  end
end
-- pcall: an ACL written before the progress channel existed refuses it, which must not
-- refuse the start.
if #changes > 0 then redis.pcall('PUBLISH', ARGV[4], table.concat(changes, '\n')) end
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
    local key = prefix .. 'stored:' .. tenant
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

// The webhook of a job that just ended, when it has a callback_url: the delivery
// `{prefix}webhook:<job id>.<attempt>` (a hash: its job, state and tries; the id is what a
// receiver de-duplicates on) and its turn in `{prefix}webhook:due` (a sorted set by when
// to send, ms), written with the ending itself so that no ending loses its webhook.
constexpr char kWebhookQueue[] = R"lua(
local function queue_webhook(prefix, url, id, attempt, tenant, now_us)
  if not url or url == '' then return end
  local delivery = id .. '.' .. (attempt or '0')
  redis.call('HSET', prefix .. 'webhook:' .. delivery, 'job', id, 'tenant', tenant or '', 'state',
             'pending', 'tries', 0, 'created_us', now_us)
  redis.call('ZADD', prefix .. 'webhook:due', math.floor(tonumber(now_us) / 1000), delivery)
end
)lua";

// Appends to `chunk` (the parts of one message, `chunk.n` of them; '\n' between two
// records) the carried record (job_change.h) of an ended job whose change line is
// `line`: the line, the worker's text of what every ending writes (`ending`:
// JobStore::Finish builds it, escaped, as it builds the fields), the start's text when
// the job is claimed here (`start`, else nil), the record's text of the fields set at its
// creation (`base`, its kCreationCarriedField; nil when it has none), then "name=value"
// per non-empty field of the list `kept` (one of CarriedRecordLua's), read into `values`
// (the finish script's first HMGET, then the fields read_more read). Appends nothing and
// answers false when the worker sent no text (its own fields are past the bound) or the
// record is past kMaxCarriedRecordBytes. A record is never a string of its own: Redis's
// Lua hashes every byte of each string it makes, and the message made from the parts is
// the only one needed. Needs CarriedRecordLua's lists before it.
constexpr char kCarryRecord[] = R"lua(
local escapes = {['\\'] = '\\\\', ['\t'] = '\\t', ['\n'] = '\\n'}
local function carry_record(chunk, line, values, ending, start, kept, base)
  if ending == '' then return false end
  local n = chunk.n
  if n > 0 then
    n = n + 1
    chunk[n] = '\n'
  end
  chunk[n + 1] = line
  chunk[n + 2] = ending
  n = n + 2
  local size = #ending
  if start then
    n = n + 1
    chunk[n] = start
    size = size + #start
  end
  if base then
    n = n + 1
    chunk[n] = base
    size = size + #base
  end
  local slots, prefixes, plain = kept[1], kept[2], kept[3]
  for i = 1, #slots do
    local v = values[slots[i]]
    if v and v ~= '' then
      if not plain[i] and string.find(v, '[\\\t\n]') then
        v = string.gsub(v, '[\\\t\n]', escapes)
      end
      chunk[n + 1] = prefixes[i]
      chunk[n + 2] = v
      n = n + 2
      size = size + #prefixes[i] + #v
    end
  end
  -- Past the bound, chunk.n stays: what was put past it is overwritten or left out.
  if size > max_carried_bytes then return false end
  chunk.n = n
  return true
end
)lua";

// The name of the record's field of its creation's carried text (job_change.h), as the
// Lua local `creation_carried`, for the scripts that read or delete it.
std::string CreationCarriedLua() {
  return fmt::format("local creation_carried = '{}'\n", kCreationCarriedField);
}

// The packed start's field (packed_start.h), as the Lua local `packed_start`, and
// `unpack_start(text)`: its start time and batch id, or nil and nil when it does not parse.
std::string PackedStartLua() {
  return fmt::format(R"lua(
local packed_start = '{}'
local function unpack_start(text)
  local dispatched, since, batch = string.match(text or '', '^(%-?%d+) (%-?%d+) %d+ %S+ (%S+)$')
  if not dispatched then return nil, nil end
  return string.format('%.0f', tonumber(dispatched) + tonumber(since)), batch
end
)lua",
                     kPackedStartField);
}

// The lists kCarryRecord builds a carried record from, then kCarryRecord. Only the
// record's part is built in Lua, from fixed lists: building all of it here, field by
// field, was the finish script's costliest part (bench/store_scripts_bench). A record
// that has its creation's carried text (job_change.h) needs only the start's fields read,
// and those only when the call does not give the start's text (`kept_start`; else
// `kept_none`); one without it needs every carried field the ending leaves (`kept_all`)
// or, given the start's text, those the start leaves too (`kept_but_start`).
// `read_fields` lists the fields those read, the start's first (`read_start` of them):
// read_more puts their values after the first HMGET's eight. The type of a binary result
// is in `ending` when it has one, and never in the record before its ending: only an
// ending writes it, with the blob, and POST :retry deletes it.
std::string CarriedRecordLua() {
  // The finish script's first HMGET (its st[1..7], in this order), before the
  // creation's carried text (st[8]).
  constexpr std::array<RecordField, 7> kReadFirst = {
      RecordField::kStatus,  RecordField::kAttempts, RecordField::kId,         RecordField::kTenant,
      RecordField::kStorage, RecordField::kType,     RecordField::kCallbackUrl};
  auto among = [](const auto& fields, RecordField field) {
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  };
  // The change line holds the id, tenant and type.
  constexpr std::array kInLine = {RecordField::kId, RecordField::kTenant, RecordField::kType};
  struct Kept {
    RecordField field;
    std::size_t slot;  // in the values carry_record gets
  };
  std::vector<Kept> kept;
  const auto is_start = [&](RecordField field) { return among(kStartFields, field); };
  // The fields to read: the start's first, then the others, each in kCarriedFields' order.
  std::vector<RecordField> read;
  std::vector<RecordField> read_after_start;
  for (const RecordField field : kCarriedFields) {
    if (among(kEndingFields, field) || among(kInLine, field) || field == RecordField::kResultType) {
      continue;
    }
    // What the creation's text stands for must be all a record has but its start.
    if (!among(kCreationCarriedFields, field) && !among(kStartFields, field) &&
        !among(kLaterCarriedFields, field)) {
      throw std::logic_error(
          fmt::format("carried field '{}' is set neither at creation, nor by a start, nor later",
                      FieldName(field)));
    }
    const auto first = std::find(kReadFirst.begin(), kReadFirst.end(), field);
    if (first != kReadFirst.end()) {
      kept.push_back({field, static_cast<std::size_t>(first - kReadFirst.begin()) + 1});
    } else {
      (is_start(field) ? read : read_after_start).push_back(field);
    }
  }
  const std::size_t read_start = read.size();
  read.insert(read.end(), read_after_start.begin(), read_after_start.end());
  std::string read_names;
  for (std::size_t i = 0; i < read.size(); ++i) {
    read_names += fmt::format("'{}', ", FieldName(read[i]));
    kept.push_back({read[i], kReadFirst.size() + 2 + i});
  }
  // Literals, so that a call builds no string: the slots, the "\tname=" prefixes, and
  // whether a value may hold a byte to escape (a string member's text may hold anything;
  // numbers and states are written by the scripts).
  auto list = [&](auto keep) {
    std::string slots, prefixes, plain;
    for (const Kept& k : kept) {
      if (!keep(k.field)) continue;
      slots += fmt::format("{}, ", k.slot);
      prefixes += fmt::format("'\\t{}=', ", FieldName(k.field));
      plain += kRecordSchema[static_cast<std::size_t>(k.field)].member.index() == 0 ? "false, "
                                                                                    : "true, ";
    }
    return fmt::format("{{{{{}}}, {{{}}}, {{{}}}}}", slots, prefixes, plain);
  };
  const auto any = [](RecordField) { return true; };
  const auto not_start = [&](RecordField field) { return !is_start(field); };
  return fmt::format(R"lua(
local read_fields = {{{}}}
local read_start = {}
local kept_all = {}
local kept_but_start = {}
local kept_start = {}
local kept_none = {{{{}}, {{}}, {{}}}}
local max_carried_bytes = {}
-- Reads the first `count` of read_fields of `key` into `values`, after its first eight.
local function read_more(key, values, count)
  if count == 0 then return end
  local more = redis.call('HMGET', key, unpack(read_fields, 1, count))
  for j = 1, count do values[8 + j] = more[j] end
end
)lua",
                     read_names, read_start, list(any), list(not_start), list(is_start),
                     kMaxCarriedRecordBytes) +
         kCarryRecord;
}

// The finish script's write of one ended record, as the Lua function `write_ending(key,
// entry, claimed, token, first, last, start_last)`: the ending's pairs ARGV[first..last],
// the finish time, the stored-bytes entry (nil for a record without one) and, when the
// job is claimed here, its attempt and the start's pairs ARGV[12..start_last]. One HSET
// whose arguments are listed: building and unpacking a table per job cost 9% of the
// instructions of a finish that claims (docs/BENCHMARKS.md). Lua expands only a call's
// last list, so the start's pairs are listed one by one, for a start that packs (its
// worker and packed start, packed_start.h); one that does not (its six fields) and a
// record without an entry take the table.
std::string WriteEndingLua() {
  // The finish script's ARGV[11] is the start's pair count m, ARGV[12..11 + 2m] its pairs.
  const std::size_t full_start_last = 11 + 2 * job_scripts::kPackedStartPairs;
  std::string start_args;
  for (std::size_t k = 12; k <= full_start_last; ++k) start_args += fmt::format("ARGV[{}], ", k);
  return fmt::format(R"lua(
local function write_ending(key, entry, claimed, token, first, last, start_last)
  if entry and not claimed then
    redis.call('HSET', key, $F_storage, entry, $F_finished_us, ARGV[1], unpack(ARGV, first, last))
  elseif entry and start_last == {} then
    redis.call('HSET', key, $F_storage, entry, $F_attempts, token, {}
               $F_finished_us, ARGV[1], unpack(ARGV, first, last))
  else
    local fields = {{$F_finished_us, ARGV[1], unpack(ARGV, first, last)}}
    if claimed then
      fields[#fields + 1] = $F_attempts
      fields[#fields + 1] = token
      for k = 12, start_last do fields[#fields + 1] = ARGV[k] end
    end
    if entry then
      fields[#fields + 1] = $F_storage
      fields[#fields + 1] = entry
    end
    redis.call('HSET', key, unpack(fields))
  end
end
)lua",
                     full_start_last, start_args);
}

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, release
// minute, key prefix, longest backoff (ms), history length, the progress channel (for the
// jobs queued again and those claimed here), the broker epoch's key ('' when the jobs
// were claimed first), the batch's epoch, the start's pair count m and its m
// field/value pairs and the start's carried text (AppendCarriedField: of the start
// written here, or, with no epoch key, of the worker's own earlier claim, for the
// carried records only; '' for none), then per job: token, blob, retry (the jitter in
// thousandths when the failure is retryable, else ''), the ending's carried text (''
// when not carried), pair count, the outcome's field/value pairs. Written only while the
// job runs under that very attempt: the fencing that makes a late result from a lost
// worker harmless. A binary result goes to `{job key}:blob` with the same TTL. A
// retryable failure of a job with retries left queues it again instead ({2, backoff ms}
// in the answer): its attempt goes to the history, and it stays pending.
// With an epoch key, the jobs are claimed here (claim at write, claim_timing.h), by the
// start script's rule: a job queued, or running under an older attempt, is written with
// its attempt and the start's fields too, and its running change is published before its
// ending; nothing is written when the epoch is no longer current.
const RedisScript kFinishScript{
    LuaSource(std::string(kStoredAccounts) + kWebhookQueue + kChangeLine + kHeard + kHistoryLine +
              CreationCarriedLua() + PackedStartLua() + CarriedRecordLua() + WriteEndingLua() +
              R"lua(
local out = {}
local ended = {}
local changes = {}
local carried = {}  -- messages of carried records, 100 records each
local chunk = {n = 0}
local chunk_records = 0
local requeued = {}
local started = {}
local claiming = ARGV[9] ~= ''
if claiming and redis.call('GET', ARGV[9]) ~= ARGV[10] then
  for i = 2, #KEYS do out[i - 1] = 0 end
  return out
end
-- The running lines of the jobs claimed here, only for an event stream to read.
local progress_heard = claiming and heard(ARGV[8])
local start_last = 11 + 2 * tonumber(ARGV[11])
local start_text = ARGV[start_last + 1]
-- Queues the job of `key` again if it has retries left; the backoff in ms, or nil.
-- A job claimed here (`claimed`) has its start in ARGV, not in its record.
local function retry_later(key, st, token, jitter, first, last, claimed)
  local r = redis.call('HMGET', key, $F_retries, $F_max_retries, $F_retry_backoff_ms,
                       $F_started_us, $F_worker, $F_batch)
  local retries = tonumber(r[1] or '0') or 0
  if retries >= (tonumber(r[2] or '0') or 0) then return nil end
  local backoff = tonumber(r[3] or '0') or 0
  if backoff <= 0 then backoff = 1000 end
  if claimed then
    local packed = pair_value(12, start_last, packed_start)
    if packed ~= '' then
      r[4], r[6] = unpack_start(packed)
    else
      r[4] = pair_value(12, start_last, $F_started_us)
      r[6] = pair_value(12, start_last, $F_batch)
    end
    r[5] = pair_value(12, start_last, $F_worker)
  end
  local delay = math.floor(math.min(backoff * 2 ^ retries, tonumber(ARGV[6])) * jitter / 1000)
  local line = history_line(token, $S_failed, pair_value(first, last, $F_error_code),
                            pair_value(first, last, $F_error_message), r[4], ARGV[1], r[5], r[6])
  redis.call('HSET', key, $F_status, $S_queued, $F_attempts, token, $F_retries, retries + 1,
             $F_retry_at_us, string.format('%.0f', tonumber(ARGV[1]) + delay * 1000), $F_history,
             push_history(key, line, tonumber(ARGV[7])))
  redis.call('HDEL', key, $F_started_us, $F_launched_us, $F_dispatched_us, $F_batch,
             $F_batch_size, $F_worker, $F_close_reason, creation_carried, packed_start)
  requeued[#requeued + 1] = change(st[3], $S_queued, token, st[4], st[6])
  return delay
end
local a = start_last + 2
for i = 2, #KEYS do
  local key = KEYS[i]
  local token, blob, jitter, ending = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local n = tonumber(ARGV[a + 4])
  local first, last = a + 5, a + 4 + 2 * n
  a = last + 1
  -- st[8]: the creation's carried text; read_more reads the record's other carried fields
  -- after it when they are needed, so that the carried record needs no read.
  local st = redis.call('HMGET', key, $F_status, $F_attempts, $F_id, $F_tenant, $F_storage, $F_type,
                        $F_callback_url, creation_carried)
  local owned = st[1] == $S_running and st[2] == token
  local claimed = not owned and claiming and (st[1] == $S_queued or
      (st[1] == $S_running and tonumber(st[2] or '0') < tonumber(token)))
  if claimed then
    owned = true
    if progress_heard then started[#started + 1] = change(st[3], $S_running, token, st[4], st[6]) end
  end
  local delay = nil
  if owned and jitter ~= '' then
    delay = retry_later(key, st, token, tonumber(jitter), first, last, claimed)
  end
  if delay then
    out[i - 1] = {2, delay}
  elseif owned then
    -- The start the record holds, as ARGV gives it: the one written here, or (the jobs
    -- not claimed here) the worker's own earlier claim; false when it is to be read.
    local start = (claimed or not claiming) and start_text ~= '' and start_text
    -- The creation's text, taken on a first attempt only: scripts older than it (a
    -- rolling upgrade) retried jobs without deleting it.
    local base = token == '1' and st[8]
    local kept = kept_none
    if not base then
      read_more(key, st, #read_fields)
      kept = start and kept_but_start or kept_all
    elseif not start then
      read_more(key, st, read_start)
      kept = kept_start
    end
    local extra = #blob
    for k = first + 1, last, 2 do extra = extra + #ARGV[k] end
    local entry = restate(st[4], st[5], ARGV[4], extra)
    write_ending(key, entry, claimed, token, first, last, start_last)
    redis.call('EXPIRE', key, ARGV[2])
    if blob ~= '' then redis.call('SET', key .. ':blob', blob, 'EX', ARGV[2]) end
    ended[#ended + 1] = st[3]
    changes[#changes + 1] = change(st[3], status_in(first, last), token, st[4], st[6])
    if carry_record(chunk, changes[#changes], st, ending, start, kept, base) then
      chunk_records = chunk_records + 1
      if chunk_records == 100 then
        carried[#carried + 1] = table.concat(chunk, '', 1, chunk.n)
        chunk = {n = 0}
        chunk_records = 0
      end
    end
    queue_webhook(ARGV[5], st[7], st[3], token, st[4], ARGV[1])
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
settle(ARGV[5])
-- pcall, as in the start script. The claims first: a stream sees a job run, then end.
if #started > 0 then redis.pcall('PUBLISH', ARGV[8], table.concat(started, '\n')) end
if #requeued > 0 then redis.pcall('PUBLISH', ARGV[8], table.concat(requeued, '\n')) end
-- Before the changes, so that a gateway that reads both wakes each waiter with its record.
if chunk.n > 0 then carried[#carried + 1] = table.concat(chunk, '', 1, chunk.n) end
for _, message in ipairs(carried) do redis.call('PUBLISH', ARGV[3], message) end
)lua" + kPublishEnded)};

// No KEYS. ARGV: key prefix, then per tenant: the tenant, its total's change, a count n
// and n minute/change pairs. The stored-bytes accounts of a finish written as a
// transaction (finish_transaction.h), run inside its MULTI: the same `settle` as the
// scripts', whose steps depend on what HINCRBY answers.
const RedisScript kSettleScript{std::string(kStoredAccounts) + R"lua(
local i = 2
while i <= #ARGV do
  local account = {total = tonumber(ARGV[i + 1]), minutes = {}}
  local n = tonumber(ARGV[i + 2])
  for k = 1, n do account.minutes[ARGV[i + 1 + 2 * k]] = tonumber(ARGV[i + 2 + 2 * k]) end
  accounts[ARGV[i]] = account
  i = i + 3 + 2 * n
end
settle(ARGV[1])
return 1
)lua"};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV: finished_us, ttl_s, channel, release
// minute, key prefix, the broker epoch's key ('' for no fence: a gateway withdrawing a
// retry the broker refused), the ending broker's epoch, then the
// ending's field/value pairs (status, error). Ends every job that is not terminal yet,
// unless that broker was deposed: then the jobs are its successor's.
const RedisScript kTerminateScript{
    LuaSource(std::string(kStoredAccounts) + kWebhookQueue + kChangeLine + R"lua(
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
  local st = redis.call('HMGET', key, $F_status, $F_id, $F_tenant, $F_storage, $F_attempts, $F_type,
                        $F_callback_url)
  if st[1] == $S_queued or st[1] == $S_running then
    local entry = restate(st[3], st[4], ARGV[4], extra)
    redis.call('HSET', key, $F_finished_us, ARGV[1], unpack(ARGV, 8))
    if entry then redis.call('HSET', key, $F_storage, entry) end
    redis.call('EXPIRE', key, ARGV[2])
    ended[#ended + 1] = st[2]
    changes[#changes + 1] = change(st[2], status_in(8, #ARGV), st[5], st[3], st[6])
    queue_webhook(ARGV[5], st[7], st[2], st[5], st[3], ARGV[1])
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
settle(ARGV[5])
)lua" + kPublishEnded)};

// KEYS[1]: pending set; KEYS[2]: job key. ARGV: finished_us, ttl_s, channel, id, release
// minute, key prefix, then the cancellation's field/value pairs. Returns 1 when a
// queued job was cancelled, 2 a running one, 0 when the job does not exist, else its
// (terminal) status.
const RedisScript kCancelScript{LuaSource(std::string(kStoredAccounts) + kWebhookQueue +
                                          kChangeLine + CreationCarriedLua() + R"lua(
local st = redis.call('HMGET', KEYS[2], $F_status, $F_tenant, $F_storage, $F_attempts, $F_type,
                      $F_callback_url)
if not st[1] then return 0 end
if st[1] ~= $S_queued and st[1] ~= $S_running then return st[1] end
local extra = 0
for k = 8, #ARGV, 2 do extra = extra + #ARGV[k] end
local entry = restate(st[2], st[3], ARGV[5], extra)
redis.call('HSET', KEYS[2], $F_finished_us, ARGV[1], unpack(ARGV, 7))
-- The record now has a cancelled_by that its creation's carried text lacks.
redis.call('HDEL', KEYS[2], creation_carried)
if entry then redis.call('HSET', KEYS[2], $F_storage, entry) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[3], change(ARGV[4], $S_cancelled, st[4], st[2], st[5]))
queue_webhook(ARGV[6], st[6], ARGV[4], st[4], st[2], ARGV[1])
settle(ARGV[6])
if st[1] == $S_running then return 2 end
return 1
)lua")};

// KEYS[1]: pending set; KEYS[2]: job key; KEYS[3]: its blob. ARGV: now_us, progress channel, id,
// pending score (ms), unfinished release minute, key prefix, record overhead bytes,
// history length. Queues an ended (failed, expired, cancelled) job again under the same
// id: its attempt goes to the history, its result and error are dropped, it is pending
// again with a fresh retry budget and, like a new job's, a record without a TTL, and its
// stored bytes are again what a new job's are. Returns 1 when queued, 0 when the job
// does not exist, else its status.
const RedisScript kRequeueScript{LuaSource(std::string(kStoredAccounts) + kChangeLine +
                                           kHistoryLine + CreationCarriedLua() + PackedStartLua() +
                                           R"lua(
local st = redis.call('HMGET', KEYS[2], $F_status, $F_attempts, $F_tenant, $F_type, $F_storage,
                      $F_error_code, $F_error_message, $F_started_us, $F_finished_us, $F_worker,
                      $F_batch, $F_input, $F_callback_url, packed_start)
if not st[1] then return 0 end
if st[1] ~= $S_failed and st[1] ~= $S_expired and st[1] ~= $S_cancelled then return st[1] end
-- A job claimed at write has its start packed (packed_start.h).
if st[14] and not st[8] then st[8], st[11] = unpack_start(st[14]) end
local line = history_line(st[2], st[1], st[6], st[7], st[8], st[9], st[10], st[11])
local history = push_history(KEYS[2], line, tonumber(ARGV[8]))
local held = tonumber(string.match(st[5] or '', ' (%d+)$') or '0')
local bytes = #(st[12] or '') + #(st[13] or '') + tonumber(ARGV[7])
local entry = restate(st[3], st[5], ARGV[5], bytes - held)
redis.call('HDEL', KEYS[2], $F_result, $F_result_type, $F_error_code, $F_error_message,
           $F_cancelled_by, $F_started_us, $F_launched_us, $F_dispatched_us, $F_finished_us,
           $F_batch, $F_batch_size, $F_worker, $F_close_reason, creation_carried, packed_start)
redis.call('HSET', KEYS[2], $F_status, $S_queued, $F_retries, 0, $F_retry_at_us, ARGV[1],
           $F_history, history)
if entry then redis.call('HSET', KEYS[2], $F_storage, entry) end
redis.call('DEL', KEYS[3])
redis.call('PERSIST', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.pcall('PUBLISH', ARGV[2], change(ARGV[3], $S_queued, st[2], st[3], st[4]))
settle(ARGV[6])
return 1
)lua")};

// KEYS[1]: pending set; KEYS[2..]: job keys. ARGV[1]: key prefix; ARGV[2..]: the
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

}  // namespace batchq::job_scripts
