#pragma once
// The signature of a webhook delivery: `Batchq-Signature: t=<unix seconds>,v1=<hex>`,
// where hex is HMAC-SHA256, keyed with the submitting key's webhook secret, over
// "<t>.<body>". A receiver recomputes it from the raw body and refuses a time too far
// from its own clock (a replayed delivery). Pure; thread-safe.

#include <chrono>
#include <string>
#include <string_view>

namespace batchq {

// The header's value for `body` sent at `at`.
std::string SignWebhook(std::string_view secret, std::chrono::seconds at, std::string_view body);

// Whether `header` is a signature of `body` with `secret`, made within `tolerance` of
// `now` (compared in constant time).
bool VerifyWebhook(std::string_view secret, std::string_view header, std::string_view body,
                   std::chrono::seconds now, std::chrono::seconds tolerance);

// A new webhook secret: "whsec_" and 32 random bytes as hex.
std::string NewWebhookSecret();

}  // namespace batchq
