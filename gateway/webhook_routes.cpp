#include "gateway/webhook_routes.h"

#include <algorithm>

#include "common/json_writer.h"
#include "gateway/api_reply.h"
#include "gateway/query_params.h"

namespace batchq {
namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

// A delivery id is "<job id>.<attempt>": letters, digits, '-', '_' and '.'.
bool LooksLikeDeliveryId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::string RenderDeliveries(const std::vector<DeliveryView>& deliveries) {
  JsonWriter json;
  json.BeginObject().Key("deliveries").BeginArray();
  for (const DeliveryView& d : deliveries) {
    json.BeginObject();
    json.Key("id").String(d.id).Key("job_id").String(d.job_id).Key("state").String(d.state);
    json.Key("tries").Int(d.tries).Key("last_error").String(d.last_error);
    json.Key("created_us").Int(d.created_us).Key("updated_us").Int(d.updated_us);
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.Take();
}

HttpReply List(const HttpRequestIn& request, const Caller& caller,
               WebhookDeliveriesPort& deliveries) {
  if (request.method != "GET") return ErrorReply(ErrorCode::kMethodNotAllowed, "Use GET.");
  if (QueryText(request.query, "state") != std::optional<std::string_view>("failed")) {
    return ErrorReply(ErrorCode::kInvalidRequest,
                      "Give ?state=failed: dead deliveries are the ones kept for listing.");
  }
  auto limit = QueryInt(request.query, "limit");
  if (!limit) return ErrorReply(limit.error());
  const auto count = static_cast<std::size_t>(limit->value_or(kDefaultLimit));
  if (count == 0 || count > kMaxLimit) {
    return ErrorReply(ErrorCode::kInvalidRequest, "\"limit\" must be between 1 and 1000.");
  }
  auto failed = deliveries.FailedDeliveries(caller.tenant, count);
  if (!failed) return ErrorReply(failed.error());
  return JsonReply(200, RenderDeliveries(*failed));
}

HttpReply Resend(const HttpRequestIn& request, std::string_view id, const Caller& caller,
                 WebhookDeliveriesPort& deliveries) {
  if (request.method != "POST") return ErrorReply(ErrorCode::kMethodNotAllowed, "Use POST.");
  if (!LooksLikeDeliveryId(id)) return ErrorReply(ErrorCode::kNotFound);
  auto resent = deliveries.ResendDelivery(caller.tenant, id);
  if (!resent) return ErrorReply(resent.error());
  if (!*resent) {
    return ErrorReply(ErrorCode::kNotFound, "Your tenant has no dead delivery with this id.");
  }
  JsonWriter json;
  json.BeginObject().Key("id").String(id).Key("state").String("pending").EndObject();
  return JsonReply(202, json.Take());
}

}  // namespace

HttpReply HandleWebhookRoute(const HttpRequestIn& request, const Caller& caller,
                             WebhookDeliveriesPort& deliveries) {
  const std::string_view path = request.path;
  if (path == kWebhookDeliveriesPath) return List(request, caller, deliveries);
  constexpr std::string_view kResend = ":resend";
  std::string_view rest = path.substr(std::min(path.size(), kWebhookDeliveriesPath.size() + 1));
  if (path.starts_with(kWebhookDeliveriesPath) && path[kWebhookDeliveriesPath.size()] == '/' &&
      rest.ends_with(kResend)) {
    rest.remove_suffix(kResend.size());
    return Resend(request, rest, caller, deliveries);
  }
  return ErrorReply(ErrorCode::kNotFound);
}

}  // namespace batchq
