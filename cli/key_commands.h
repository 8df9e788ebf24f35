#pragma once
// `batchq keys create|list|revoke`: API key management through the gateway's
// admin-scoped /v1/keys routes (the CLI's own key must have the admin scope).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/commands.h"

namespace batchq::cli {

struct KeyCreateArgs {
  std::string tenant;
  std::string scopes;  // "submit,read,cancel"
  double rate = 0;
  std::uint32_t burst = 0;
  std::uint64_t max_queued = 0;
  std::uint64_t max_stored_bytes = 0;  // 0: the gateway's default
  std::uint32_t weight = 1;
  std::string expires_in;  // "90d", "12h", "30m", "45s" or seconds; empty: never
  bool webhook = false;    // give the key a webhook secret (printed once)
};

// Prints the new key once: in text, the key alone on stdout (so that
// KEY=$(batchq keys create ...) works) and what it is on stderr; in JSON, the object
// with id, tenant, scopes and key.
int KeysCreate(const Common& common, const KeyCreateArgs& args);
int KeysList(const Common& common);
int KeysRevoke(const Common& common, const std::string& id);
// A new webhook secret for the key, printed once.
int KeysRotateWebhookSecret(const Common& common, const std::string& id);

// "90d", "12h", "30m", "45s" or a plain number of seconds; nullopt when malformed or 0.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace batchq::cli
