#include "gateway/key_json.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "common/job_limits.h"
#include "common/json_writer.h"

namespace batchq {
namespace {

Result<ScopeSet> ScopesOf(simdjson::dom::element value) {
  std::string_view text;
  if (value.get(text) == simdjson::SUCCESS) return ParseScopes(text);
  simdjson::dom::array list;
  if (value.get(list) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidRequest, "\"scopes\" must be a list of scope names.");
  }
  std::string joined;
  for (auto item : list) {
    std::string_view name;
    if (item.get(name) != simdjson::SUCCESS) {
      return Fail(ErrorCode::kInvalidRequest, "\"scopes\" must be a list of scope names.");
    }
    joined += name;
    joined += ',';
  }
  return ParseScopes(joined);
}

Result<std::uint64_t> Count(simdjson::dom::element value, std::string_view name, std::uint64_t min,
                            std::uint64_t max) {
  std::int64_t number = 0;
  if (value.get(number) != simdjson::SUCCESS || number < static_cast<std::int64_t>(min) ||
      static_cast<std::uint64_t>(number) > max) {
    return Fail(ErrorCode::kInvalidRequest,
                fmt::format("\"{}\" must be an integer from {} to {}.", name, min, max));
  }
  return static_cast<std::uint64_t>(number);
}

Status ParseKeyField(std::string_view name, simdjson::dom::element value, KeyRequest& out) {
  if (name == "tenant") {
    std::string_view tenant;
    if (value.get(tenant) != simdjson::SUCCESS || !IsValidTenant(tenant)) {
      return Fail(ErrorCode::kInvalidRequest,
                  "\"tenant\" must be 1-64 characters of letters, digits, '_', '-' or '.'.");
    }
    out.tenant = std::string(tenant);
  } else if (name == "scopes") {
    auto scopes = ScopesOf(value);
    if (!scopes) return std::unexpected(scopes.error());
    out.scopes = *scopes;
  } else if (name == "rate") {
    double rate = 0;
    if (value.get(rate) != simdjson::SUCCESS || rate < 0 || rate > 1e6) {
      return Fail(ErrorCode::kInvalidRequest, "\"rate\" must be a number from 0 to 1000000.");
    }
    out.rate_per_s = rate;
  } else if (name == "burst") {
    auto burst = Count(value, name, 0, 1'000'000);
    if (!burst) return std::unexpected(burst.error());
    out.burst = static_cast<std::uint32_t>(*burst);
  } else if (name == "max_queued") {
    auto cap = Count(value, name, 0, 1'000'000'000);
    if (!cap) return std::unexpected(cap.error());
    out.max_queued = *cap;
  } else if (name == "max_stored_bytes") {
    auto cap = Count(value, name, 0, std::uint64_t{1} << 50);
    if (!cap) return std::unexpected(cap.error());
    out.max_stored_bytes = *cap;
  } else if (name == "weight") {
    auto weight = Count(value, name, 1, kMaxTenantWeight);
    if (!weight) return std::unexpected(weight.error());
    out.weight = static_cast<std::uint32_t>(*weight);
  } else if (name == "webhook") {
    bool webhook = false;
    if (value.get(webhook) != simdjson::SUCCESS) {
      return Fail(ErrorCode::kInvalidRequest, "\"webhook\" must be true or false.");
    }
    out.webhook = webhook;
  } else if (name == "expires_in_s") {
    auto seconds = Count(value, name, 1, 10ull * 365 * 24 * 3600);
    if (!seconds) return std::unexpected(seconds.error());
    out.expires_in = std::chrono::seconds(*seconds);
  } else {
    return Fail(ErrorCode::kInvalidRequest, fmt::format("Unknown field \"{}\".", name));
  }
  return Ok();
}

}  // namespace

Result<KeyRequest> ParseKeyRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidJson);
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Fail(ErrorCode::kInvalidRequest, "A key request must be a JSON object.");
  }
  KeyRequest request;
  for (auto field : object) {
    if (auto parsed = ParseKeyField(field.key, field.value, request); !parsed) {
      return std::unexpected(parsed.error());
    }
  }
  if (request.tenant.empty()) return Fail(ErrorCode::kInvalidRequest, "\"tenant\" is required.");
  if (request.scopes == 0) return Fail(ErrorCode::kInvalidRequest, "\"scopes\" is required.");
  return request;
}

namespace {

void WriteKey(JsonWriter& json, const KeyRecord& key, std::string_view key_text,
              bool show_webhook_secret) {
  json.BeginObject();
  json.Key("id").String(key.id).Key("tenant").String(key.tenant);
  json.Key("scopes").BeginArray();
  for (Scope scope : {Scope::kSubmit, Scope::kRead, Scope::kCancel, Scope::kAdmin}) {
    if (Has(key.scopes, scope)) json.String(ToString(scope));
  }
  json.EndArray();
  if (!key_text.empty()) json.Key("key").String(key_text);
  json.Key("rate").Double(key.rate_per_s).Key("burst").Int(key.burst);
  json.Key("max_queued").Int(static_cast<std::int64_t>(key.max_queued));
  json.Key("max_stored_bytes").Int(static_cast<std::int64_t>(key.max_stored_bytes));
  json.Key("weight").Int(key.weight);
  json.Key("created_at").String(Rfc3339Text(key.created).view());
  if (key.expires.count() > 0) json.Key("expires_at").String(Rfc3339Text(key.expires).view());
  json.Key("revoked").Bool(key.revoked);
  json.Key("webhook").Bool(!key.webhook_secret.empty());
  if (show_webhook_secret && !key.webhook_secret.empty()) {
    json.Key("webhook_secret").String(key.webhook_secret);
  }
  json.EndObject();
}

}  // namespace

std::string RenderKey(const KeyRecord& key, std::string_view key_text, bool show_webhook_secret) {
  JsonWriter json;
  WriteKey(json, key, key_text, show_webhook_secret);
  return json.Take();
}

std::string RenderKeyList(std::span<const KeyRecord> keys) {
  JsonWriter json;
  json.BeginObject().Key("keys").BeginArray();
  for (const auto& key : keys) WriteKey(json, key, {}, false);
  json.EndArray().EndObject();
  return json.Take();
}

}  // namespace batchq
