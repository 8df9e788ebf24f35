#include "common/http_response_head.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <boost/beast/http.hpp>

namespace batchq {
namespace {

namespace http = boost::beast::http;

// What the server wrote before it rendered heads itself: Beast's message, set up field
// by field, serialized whole.
std::string BeastBytes(const HttpReply& reply, unsigned version, bool keep_alive) {
  http::response<http::string_body> res(static_cast<http::status>(reply.status), version);
  res.set(http::field::server, "batchq");
  res.set(http::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = reply.body;
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return out.str();
}

std::string OurBytes(const HttpReply& reply, unsigned version, bool keep_alive) {
  std::string out = "left as it was|";
  AppendResponseHead(out, reply, version, keep_alive);
  EXPECT_EQ(out.rfind("left as it was|", 0), 0u);
  return out.substr(15) + reply.body;
}

TEST(HttpResponseHeadTest, WritesTheBytesBeastWroteForEveryReplyTheServerSends) {
  const std::string large(70000, 'x');
  const HttpReply replies[] = {
      {202, R"({"id":"j1","status":"queued"})", "application/json", {{"Location", "/v1/jobs/j1"}}},
      {200, R"({"id":"j1","status":"succeeded","result":"HI"})", "application/json", {}},
      {200, large, "application/octet-stream", {}},
      {200, "# HELP x\n", "text/plain; version=0.0.4", {}},
      {204, "", "text/event-stream", {}},
      {400, R"({"error":{"code":"invalid_json"}})", "application/json", {}},
      {401, "{}", "application/json", {{"WWW-Authenticate", R"(Bearer realm="batchq")"}}},
      {404, "", "application/json", {}},
      {429, "{}", "application/json", {{"Retry-After", "3"}}},
      {503, "{}", "application/json", {{"Retry-After", "1"}, {"X-Other", "  padded\t "}}},
      {202,
       "{}",
       "application/json",
       {{"Location", "/v1/jobs/j2"}, {"Idempotent-Replayed", "true"}}},
      {299, "odd", "", {}},
      {200, "ok", " text/plain\t", {}},
  };
  for (const HttpReply& reply : replies) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {true, false}) {
        EXPECT_EQ(OurBytes(reply, version, keep_alive), BeastBytes(reply, version, keep_alive))
            << reply.status << " HTTP/" << version << " keep-alive " << keep_alive;
      }
    }
  }
}

TEST(HttpResponseHeadTest, SaysHowTheConnectionGoesOnOnlyWhereTheVersionNeedsIt) {
  const HttpReply reply{200, "ok", "text/plain", {}};
  std::string head;
  AppendResponseHead(head, reply, 11, true);
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\nServer: batchq\r\nContent-Type: text/plain\r\n"
            "Content-Length: 2\r\n\r\n");
  head.clear();
  AppendResponseHead(head, reply, 11, false);
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
  head.clear();
  AppendResponseHead(head, reply, 10, true);
  EXPECT_EQ(head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << head;
  head.clear();
  AppendResponseHead(head, reply, 10, false);
  EXPECT_EQ(head.find("Connection"), std::string::npos) << head;
}

TEST(HttpResponseHeadTest, LeavesOutAFieldWhoseNameOrValueCouldEndItEarly) {
  const HttpReply reply{
      202,
      "{}",
      "application/json",
      {{"Location", "/v1/jobs/j1\r\nSet-Cookie: a=b"}, {"X-Bad\nName", "v"}, {"Retry-After", "2"}}};
  std::string head;
  AppendResponseHead(head, reply, 11, true);
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos) << head;
  EXPECT_EQ(head.find("Location"), std::string::npos) << head;
  EXPECT_EQ(head.find("X-Bad"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nRetry-After: 2\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");

  // The content type is checked as any field.
  head.clear();
  AppendResponseHead(head, HttpReply{200, "ok", "text/plain\r\nSet-Cookie: a=b", {}}, 11, true);
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Type"), std::string::npos) << head;
}

TEST(HttpResponseHeadTest, NoBodyGoesWithAnInformationalANoContentOrANotModifiedReply) {
  for (int status : {100, 101, 204, 304}) EXPECT_FALSE(BodyAllowed(status)) << status;
  for (int status : {200, 201, 202, 203, 205, 301, 400, 404, 429, 503}) {
    EXPECT_TRUE(BodyAllowed(status)) << status;
  }
}

}  // namespace
}  // namespace batchq
