#include "cli/key_commands.h"

#include <charconv>
#include <iostream>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/exit_codes.h"
#include "cli/gateway_call.h"
#include "cli/json_field.h"
#include "common/json_writer.h"

namespace batchq::cli {

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  std::int64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'd':
        unit = 86400;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'm':
        unit = 60;
        break;
      case 's':
        unit = 1;
        break;
      default:
        unit = 0;
    }
    if (unit != 0) text.remove_suffix(1);
    if (unit == 0) unit = 1;
  }
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || count <= 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(count * unit);
}

int KeysCreate(const Common& common, const KeyCreateArgs& args) {
  JsonWriter body;
  body.BeginObject().Key("tenant").String(args.tenant).Key("scopes").String(args.scopes);
  if (args.rate > 0) body.Key("rate").Double(args.rate);
  if (args.burst > 0) body.Key("burst").Int(args.burst);
  if (args.max_queued > 0) body.Key("max_queued").Int(static_cast<std::int64_t>(args.max_queued));
  if (args.max_stored_bytes > 0) {
    body.Key("max_stored_bytes").Int(static_cast<std::int64_t>(args.max_stored_bytes));
  }
  if (args.weight != 1) body.Key("weight").Int(args.weight);
  if (args.webhook) body.Key("webhook").Bool(true);
  if (!args.expires_in.empty()) {
    const auto duration = ParseDuration(args.expires_in);
    if (!duration) {
      std::cerr << "error: --expires-in takes a duration such as 90d, 12h, 30m or 45s\n";
      return kExitUsage;
    }
    body.Key("expires_in_s").Int(duration->count());
  }
  body.EndObject();
  std::string answer;
  const HttpRequest request{
      "POST", "/v1/keys", body.Take(), {{"Content-Type", "application/json"}}};
  if (int code = Fetch(common, request, 201, &answer)) return code;
  if (common.output == OutputFormat::kJson) {
    std::cout << answer << "\n";
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(answer).get(root) != simdjson::SUCCESS) return kExitUnavailable;
  std::string_view key, id, webhook_secret;
  key = JsonOr(root["key"], key);
  id = JsonOr(root["id"], id);
  webhook_secret = JsonOr(root["webhook_secret"], webhook_secret);
  std::cout << key << "\n";
  if (!webhook_secret.empty()) std::cout << "webhook secret: " << webhook_secret << "\n";
  std::cerr << fmt::format("key {} for tenant '{}' ({}); it is shown only this once.\n", id,
                           args.tenant, args.scopes);
  return kExitOk;
}

int KeysList(const Common& common) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool printed = false;
  if (int code = FetchListing(common, "/v1/keys", parser, &root, &printed); code || printed) {
    return code;
  }
  std::cout << fmt::format("{:<14} {:<16} {:<26} {:>8} {:>10} {:<8}\n", "ID", "TENANT", "SCOPES",
                           "RATE", "MAX_QUEUED", "STATE");
  simdjson::dom::array keys;
  if (root["keys"].get(keys) != simdjson::SUCCESS) return kExitOk;
  for (auto key : keys) {
    std::string_view id, tenant;
    double rate = 0;
    std::int64_t max_queued = 0;
    bool revoked = false;
    id = JsonOr(key["id"], id);
    tenant = JsonOr(key["tenant"], tenant);
    rate = JsonOr(key["rate"], rate);
    max_queued = JsonOr(key["max_queued"], max_queued);
    revoked = JsonOr(key["revoked"], revoked);
    std::string scopes;
    simdjson::dom::array list;
    if (key["scopes"].get(list) == simdjson::SUCCESS) {
      for (auto scope : list) {
        std::string_view name;
        if (scope.get(name) != simdjson::SUCCESS) continue;
        if (!scopes.empty()) scopes += ',';
        scopes += name;
      }
    }
    std::cout << fmt::format("{:<14} {:<16} {:<26} {:>8} {:>10} {:<8}\n", id, tenant, scopes, rate,
                             max_queued, revoked ? "revoked" : "active");
  }
  return kExitOk;
}

int KeysRotateWebhookSecret(const Common& common, const std::string& id) {
  std::string body;
  const HttpRequest request{"POST", "/v1/keys/" + id + ":rotate-webhook-secret", "{}", {}};
  if (int code = Fetch(common, request, 200, &body)) return code;
  if (common.output == OutputFormat::kJson) {
    std::cout << body << "\n";
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return kExitUnavailable;
  std::string_view secret;
  std::cout << JsonOr(root["webhook_secret"], secret) << "\n";
  std::cerr << fmt::format("new webhook secret of key {}; it is shown only this once.\n", id);
  return kExitOk;
}

int KeysRevoke(const Common& common, const std::string& id) {
  std::string body;
  const HttpRequest request{"DELETE", "/v1/keys/" + id, {}, {}};
  if (int code = Fetch(common, request, 200, &body)) return code;
  if (common.output == OutputFormat::kJson) {
    std::cout << body << "\n";
  } else {
    std::cout << "revoked " << id << "\n";
  }
  return kExitOk;
}

}  // namespace batchq::cli
