#pragma once
// The JSON of the key routes: what POST /v1/keys accepts, and how a key is shown
// (never its secret or hash; the key text only once, in the creation answer). Pure.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/api_key.h"
#include "common/error.h"

namespace batchq {

// {"tenant": str, "scopes": [str] or "a,b", "rate"?: number, "burst"?: int,
//  "max_queued"?: int, "max_stored_bytes"?: int, "weight"?: int (1-1000),
//  "expires_in_s"?: int}
struct KeyRequest {
  std::string tenant;
  ScopeSet scopes = 0;
  double rate_per_s = 0;
  std::uint32_t burst = 0;
  std::uint64_t max_queued = 0;
  std::uint64_t max_stored_bytes = 0;  // 0: the gateway's --tenant-max-stored-bytes
  std::uint32_t weight = 1;
  std::chrono::seconds expires_in{0};  // 0: never
  bool webhook = false;                // give it a webhook secret
};
Result<KeyRequest> ParseKeyRequest(std::string_view body);

// The key's record as JSON; with `key_text`, also "key" (the one time it is shown), and
// with `show_webhook_secret` its "webhook_secret" (when made or rotated). Otherwise
// "webhook" only says whether it has one.
std::string RenderKey(const KeyRecord& key, std::string_view key_text = {},
                      bool show_webhook_secret = false);
std::string RenderKeyList(std::span<const KeyRecord> keys);

}  // namespace batchq
