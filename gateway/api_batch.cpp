#include "gateway/api_batch.h"

#include <unordered_set>

#include <fmt/format.h>
#include <simdjson.h>
#include <boost/algorithm/string/predicate.hpp>

#include "common/base64.h"
#include "common/json_writer.h"

namespace batchq {
namespace {

namespace dom = simdjson::dom;

std::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidRequest, std::move(message));
}

// Why the gateway will not run `method url`, if it will not.
std::optional<Error> Refusal(std::string_view method, std::string_view url) {
  if (url.find("://") != std::string_view::npos || url.starts_with("//") ||
      !url.starts_with("/v1/")) {
    return Error{ErrorCode::kInvalidRequest,
                 fmt::format("A batch runs only relative /v1/... URLs of this gateway; '{}' "
                             "is not one.",
                             url.substr(0, 200))};
  }
  if (url == "/v1/batch" || url.starts_with("/v1/batch?")) {
    return Error{ErrorCode::kInvalidRequest, "A batch may not hold another batch."};
  }
  const std::string_view path = url.substr(0, url.find('?'));
  if (path == "/v1/events" || path.ends_with("/events")) {
    return Error{ErrorCode::kInvalidRequest,
                 "A batch answers each call once; event streams are not served inside one."};
  }
  if (method != "GET" && method != "POST" && method != "DELETE") {
    return Error{ErrorCode::kMethodNotAllowed,
                 fmt::format("A batch runs GET, POST and DELETE, not '{}'.", method.substr(0, 20))};
  }
  return std::nullopt;
}

// The Idempotency-Key and Prefer of an entry's "headers"; others are ignored (the key
// is the batch's).
Status ReadHeaders(dom::element headers, HttpRequestIn& request) {
  dom::object object;
  if (headers.get(object) != simdjson::SUCCESS) {
    return Invalid("A request's \"headers\" must be an object of strings.");
  }
  for (auto field : object) {
    std::string_view value;
    if (field.value.get(value) != simdjson::SUCCESS) {
      return Invalid("A request's \"headers\" must be an object of strings.");
    }
    if (boost::algorithm::iequals(field.key, "Idempotency-Key"))
      request.idempotency_key = std::string(value);
    if (boost::algorithm::iequals(field.key, "Prefer")) request.prefer = std::string(value);
  }
  return {};
}

Result<ApiSubRequest> ReadEntry(dom::element entry, std::size_t index) {
  dom::object object;
  if (entry.get(object) != simdjson::SUCCESS) {
    return Invalid(fmt::format("Request {} of the batch is not an object.", index));
  }
  ApiSubRequest sub;
  std::string_view id, method, url;
  if (object["id"].get(id) != simdjson::SUCCESS || id.empty() || id.size() > kMaxApiBatchIdBytes) {
    return Invalid(
        fmt::format("Request {} of the batch needs an \"id\": a string of 1 to {} "
                    "bytes.",
                    index, kMaxApiBatchIdBytes));
  }
  if (object["method"].get(method) != simdjson::SUCCESS ||
      object["url"].get(url) != simdjson::SUCCESS) {
    return Invalid(
        fmt::format("Request '{}' of the batch needs a \"method\" and a \"url\", "
                    "both strings.",
                    id));
  }
  sub.id = std::string(id);
  sub.refused = Refusal(method, url);
  sub.request.method = std::string(method);
  const std::size_t query = url.find('?');
  sub.request.path = std::string(url.substr(0, query));
  if (query != std::string_view::npos) sub.request.query = std::string(url.substr(query + 1));
  dom::element body;
  if (object["body"].get(body) == simdjson::SUCCESS) {
    sub.request.body = simdjson::minify(body);
    sub.request.content_type = "application/json";
  }
  dom::element headers;
  if (object["headers"].get(headers) == simdjson::SUCCESS) {
    if (auto read = ReadHeaders(headers, sub.request); !read) {
      return std::unexpected(read.error());
    }
  }
  return sub;
}

}  // namespace

Result<std::vector<ApiSubRequest>> ParseApiBatch(std::string_view body) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(body.data(), body.size(), /*realloc_if_needed=*/true).get(root)) {
    return Fail(ErrorCode::kInvalidJson, "The body is not valid JSON.");
  }
  dom::array entries;
  if (root["requests"].get(entries) != simdjson::SUCCESS) {
    return Invalid(R"(A batch is {"requests":[{"id","method","url","body"?,"headers"?}, ...]}.)");
  }
  if (entries.size() == 0 || entries.size() > kMaxApiBatchRequests) {
    return Invalid(fmt::format("A batch holds 1 to {} requests; this one holds {}.",
                               kMaxApiBatchRequests, entries.size()));
  }
  std::vector<ApiSubRequest> subs;
  subs.reserve(entries.size());
  std::unordered_set<std::string> ids;
  for (const dom::element entry : entries) {
    auto sub = ReadEntry(entry, subs.size());
    if (!sub) return std::unexpected(sub.error());
    if (!ids.insert(sub->id).second) {
      return Invalid(
          fmt::format("The id '{}' is used twice in the batch; ids must be unique.", sub->id));
    }
    subs.push_back(std::move(*sub));
  }
  return subs;
}

std::string RenderApiBatch(std::span<const ApiSubResponse> responses) {
  JsonWriter json;
  json.BeginObject().Key("responses").BeginArray();
  for (const auto& [id, reply] : responses) {
    json.BeginObject().Key("id").String(id).Key("status").Int(reply.status);
    const bool is_json = reply.content_type.starts_with("application/json");
    if (!reply.headers.empty() || !is_json) {
      json.Key("headers").BeginObject();
      if (!is_json) json.Key("Content-Type").String(reply.content_type);
      for (const auto& [name, value] : reply.headers) json.KeyText(name).String(value);
      json.EndObject();
    }
    if (reply.body.empty()) {
      // No body: no "body" field.
    } else if (is_json) {
      json.Key("body").Raw(reply.body);
    } else if (reply.content_type.starts_with("text/")) {
      json.Key("body").String(reply.body);
    } else {
      json.Key("body").String(EncodeBase64(reply.body)).Key("body_encoding").String("base64");
    }
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.Take();
}

}  // namespace batchq
