#pragma once
// One webhook try: resolves the URL's host, refuses it unless every address it resolved
// to is allowed (a name cannot smuggle in an inner address), connects to those addresses
// only, and POSTs the body. A redirect is an answer like any other, never followed.
// Blocking, within `timeout` in all from the connection on (resolving the name is
// getaddrinfo, which nothing bounds): called on the sender's own threads. Thread-safe.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/web_url.h"
#include "gateway/delivery_policy.h"
#include "gateway/destination_allow_list.h"

namespace batchq {

struct WebhookPostResult {
  DeliveryTry outcome;
  std::string error;  // a sentence when there was no answer or it was refused
};

WebhookPostResult PostWebhook(const WebUrl& url, const DestinationAllowList& allow,
                              std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::chrono::milliseconds timeout);

}  // namespace batchq
