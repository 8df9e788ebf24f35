#pragma once
// The conversions between batchq's HTTP values (http_client.h) and Beast's messages that
// the blocking and the asynchronous clients share.

#include <cstdint>
#include <string_view>

#include <boost/beast/http.hpp>

#include "common/http_client.h"

namespace batchq {

// The largest response body a client reads (a binary result, a page of jobs).
inline constexpr std::uint64_t kMaxHttpResponseBodyBytes = 256u << 20;

// `request` as a keep-alive HTTP/1.1 message to `host`, with "Authorization: Bearer
// <bearer_token>" when the token is not empty.
boost::beast::http::request<boost::beast::http::string_body> ToBeastRequest(
    const HttpRequest& request, std::string_view host, std::string_view bearer_token);

// What a read response holds; its body is moved out.
HttpResponse FromBeastResponse(boost::beast::http::response<boost::beast::http::string_body>& res);

}  // namespace batchq
