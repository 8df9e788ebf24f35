#include "cli/gateway_call.h"

#include <iostream>

#include <simdjson.h>

#include "cli/exit_codes.h"
#include "cli/json_field.h"

namespace batchq::cli {

int ReportFailure(const Error& error) {
  std::cerr << "error: " << error.message << " (" << error.code << ")\n";
  return kExitUnavailable;
}

// Prints an API error body and maps the HTTP status to an exit code.
int ReportHttpError(const HttpResponse& response) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view code = Name(ErrorCode::kHttpError);
  std::string_view message = response.body;
  if (parser.parse(response.body).get(root) == simdjson::SUCCESS) {
    code = JsonOr(root["error"]["code"], code);
    message = JsonOr(root["error"]["message"], message);
  }
  std::cerr << "error: HTTP " << response.status << " " << code << ": " << message << "\n";
  return response.status >= 500 ? kExitUnavailable : kExitRequestError;
}

Result<std::unique_ptr<HttpClient>> Connect(const Common& common) {
  HttpClientOptions options;
  options.timeout = common.http_timeout;
  options.bearer_token = common.api_key;
  options.ca_file = common.ca_file;
  return HttpClient::Connect(common.url, std::move(options));
}

// One request with its own connection; on any failure prints why and returns the exit
// code, otherwise stores the body and returns kExitOk.
int Fetch(const Common& common, const HttpRequest& request, int expected_status,
          std::string* body) {
  auto client = Connect(common);
  if (!client) return ReportFailure(client.error());
  auto response = (*client)->Send(request);
  if (!response) return ReportFailure(response.error());
  if (response->status != expected_status) return ReportHttpError(*response);
  *body = std::move(response->body);
  return kExitOk;
}

int FetchListing(const Common& common, const std::string& target, simdjson::dom::parser& parser,
                 simdjson::dom::element* root, bool* printed) {
  std::string body;
  *printed = false;
  if (int code = Fetch(common, HttpRequest{"GET", target, {}, {}}, 200, &body)) return code;
  if (common.output == OutputFormat::kJson) {
    std::cout << body << "\n";
    *printed = true;
    return kExitOk;
  }
  if (parser.parse(body).get(*root) != simdjson::SUCCESS) return kExitUnavailable;
  return kExitOk;
}

}  // namespace batchq::cli
