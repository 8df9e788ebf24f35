#include "common/http_message.h"

#include <string>

namespace batchq {

namespace http = boost::beast::http;

http::request<http::string_body> ToBeastRequest(const HttpRequest& request, std::string_view host,
                                                std::string_view bearer_token) {
  http::request<http::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  out.set(http::field::host, boost::beast::string_view(host.data(), host.size()));
  out.keep_alive(true);
  if (!bearer_token.empty()) {
    out.set(http::field::authorization, "Bearer " + std::string(bearer_token));
  }
  for (const auto& [key, value] : request.headers) out.set(key, value);
  if (!request.body.empty() || request.method == "POST") out.body() = request.body;
  out.prepare_payload();
  return out;
}

HttpResponse FromBeastResponse(http::response<http::string_body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

}  // namespace batchq
