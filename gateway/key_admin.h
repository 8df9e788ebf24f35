#pragma once
// The admin-scoped key routes: POST /v1/keys (creates a key, answers its text once),
// GET /v1/keys (every key, never a secret), DELETE /v1/keys/{id} (revokes), POST
// /v1/keys/{id}:rotate-webhook-secret (a new webhook secret, answered once). The
// caller's admin scope is checked before these are reached. Thread-safe.

#include <string_view>

#include "common/http_types.h"
#include "common/wall_clock.h"
#include "gateway/key_store_port.h"

namespace batchq {

class KeyAdmin {
 public:
  // `store` must outlive this object.
  explicit KeyAdmin(KeyStorePort& store) : store_(store) {}

  // Routes one /v1/keys request.
  HttpReply Handle(const HttpRequestIn& request, WallMicros now);

 private:
  HttpReply Create(const HttpRequestIn& request, WallMicros now);
  HttpReply List();
  HttpReply Revoke(std::string_view id);
  // A new webhook secret for the key, shown once; the old one signs nothing more.
  HttpReply RotateWebhookSecret(std::string_view id);

  KeyStorePort& store_;
};

}  // namespace batchq
