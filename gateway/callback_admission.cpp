#include "gateway/callback_admission.h"

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include "common/web_url.h"

namespace batchq {

std::optional<Error> CheckCallback(std::string_view url, bool key_has_webhook_secret,
                                   const DestinationAllowList& allow) {
  if (!key_has_webhook_secret) {
    return Error{ErrorCode::kInvalidRequest,
                 "\"callback_url\" needs an API key with a webhook secret to sign its "
                 "deliveries (batchq keys create --webhook, or keys rotate-webhook-secret)."};
  }
  auto parsed = ParseWebUrl(url);
  if (!parsed) return parsed.error();
  boost::system::error_code not_an_address;
  const auto address = boost::asio::ip::make_address(parsed->host, not_an_address);
  if (!not_an_address && !allow.Allows(parsed->host, address)) {
    return Error{ErrorCode::kInvalidRequest,
                 fmt::format("\"callback_url\": {} is not a public address and the gateway's "
                             "--webhook-allow does not list it.",
                             parsed->host)};
  }
  return std::nullopt;
}

}  // namespace batchq
