#include "gateway/key_admin.h"

#include "common/webhook_signature.h"
#include "gateway/api_reply.h"
#include "gateway/key_json.h"
#include "gateway/request_parser.h"

namespace batchq {

HttpReply KeyAdmin::Handle(const HttpRequestIn& request, WallMicros now) {
  const std::string_view path = request.path;
  const std::string_view method = request.method;
  if (path == "/v1/keys") {
    if (method == "POST") return Create(request, now);
    if (method == "GET") return List();
    return ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET or POST.");
  }
  std::string_view id = path.substr(std::string_view("/v1/keys/").size());
  constexpr std::string_view kRotate = ":rotate-webhook-secret";
  const bool rotate = id.ends_with(kRotate);
  if (rotate) id.remove_suffix(kRotate.size());
  if (id.empty() || id.find('/') != std::string_view::npos) {
    return ErrorReply(ErrorCode::kKeyNotFound);
  }
  if (rotate) {
    if (method != "POST") return ErrorReply(ErrorCode::kMethodNotAllowed, "Use POST.");
    return RotateWebhookSecret(id);
  }
  if (method != "DELETE") return ErrorReply(ErrorCode::kMethodNotAllowed, "Use DELETE.");
  return Revoke(id);
}

HttpReply KeyAdmin::Create(const HttpRequestIn& request, WallMicros now) {
  if (!IsJsonContentType(request.content_type)) {
    return ErrorReply(ErrorCode::kUnsupportedMediaType);
  }
  auto parsed = ParseKeyRequest(request.body);
  if (!parsed) return ErrorReply(parsed.error());
  const KeyText text = NewKeyText();
  KeyRecord key;
  key.id = text.id;
  key.tenant = parsed->tenant;
  key.scopes = parsed->scopes;
  key.secret_sha256 = Sha256Hex(text.secret);
  key.rate_per_s = parsed->rate_per_s;
  key.burst = parsed->burst;
  key.max_queued = parsed->max_queued;
  key.max_stored_bytes = parsed->max_stored_bytes;
  key.weight = parsed->weight;
  key.created = now;
  if (parsed->expires_in.count() > 0) key.expires = now + parsed->expires_in;
  if (parsed->webhook) key.webhook_secret = NewWebhookSecret();
  if (auto stored = store_.PutKey(key); !stored) return Unavailable(stored.error());
  HttpReply reply = JsonReply(201, RenderKey(key, FormatKeyText(text), true));
  reply.headers.emplace_back("Location", "/v1/keys/" + key.id);
  return reply;
}

HttpReply KeyAdmin::List() {
  auto keys = store_.ListKeys();
  if (!keys) return Unavailable(keys.error());
  return JsonReply(200, RenderKeyList(*keys));
}

HttpReply KeyAdmin::RotateWebhookSecret(std::string_view id) {
  auto key = store_.GetKey(id);
  if (!key) return Unavailable(key.error());
  if (!*key || (*key)->revoked) return ErrorReply(ErrorCode::kKeyNotFound);
  (*key)->webhook_secret = NewWebhookSecret();
  if (auto stored = store_.PutKey(**key); !stored) return Unavailable(stored.error());
  return JsonReply(200, RenderKey(**key, {}, true));
}

HttpReply KeyAdmin::Revoke(std::string_view id) {
  auto revoked = store_.RevokeKey(id);
  if (!revoked) return Unavailable(revoked.error());
  if (!*revoked) return ErrorReply(ErrorCode::kKeyNotFound);
  auto key = store_.GetKey(id);
  if (key && *key) return JsonReply(200, RenderKey(**key));
  return JsonReply(200, R"({"revoked":true})");
}

}  // namespace batchq
