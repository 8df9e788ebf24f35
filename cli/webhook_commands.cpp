#include "cli/webhook_commands.h"

#include <iostream>

#include <fmt/format.h>
#include <simdjson.h>

#include "cli/exit_codes.h"
#include "cli/gateway_call.h"
#include "cli/json_field.h"
#include "common/wall_clock.h"

namespace batchq::cli {

int WebhooksFailed(const Common& common, int limit) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool printed = false;
  const std::string target = fmt::format("/v1/webhooks/deliveries?state=failed&limit={}", limit);
  if (int code = FetchListing(common, target, parser, &root, &printed); code || printed) {
    return code;
  }
  std::cout << fmt::format("{:<40} {:>5} {:<27} {}\n", "DELIVERY", "TRIES", "DIED", "LAST ERROR");
  simdjson::dom::array deliveries;
  if (root["deliveries"].get(deliveries) != simdjson::SUCCESS) return kExitOk;
  for (auto delivery : deliveries) {
    std::string_view id, error;
    std::int64_t tries = 0, updated_us = 0;
    id = JsonOr(delivery["id"], id);
    error = JsonOr(delivery["last_error"], error);
    tries = JsonOr(delivery["tries"], tries);
    updated_us = JsonOr(delivery["updated_us"], updated_us);
    std::cout << fmt::format("{:<40} {:>5} {:<27} {}\n", id, tries,
                             FormatRfc3339(WallMicros(updated_us)), error);
  }
  return kExitOk;
}

int WebhooksResend(const Common& common, const std::string& delivery_id) {
  std::string body;
  const HttpRequest request{"POST", "/v1/webhooks/deliveries/" + delivery_id + ":resend", "", {}};
  if (int code = Fetch(common, request, 202, &body)) return code;
  std::cout << (common.output == OutputFormat::kJson ? body : delivery_id + " queued again")
            << "\n";
  return kExitOk;
}

}  // namespace batchq::cli
