#pragma once
// How every subcommand talks to the gateway: a connection with the caller's key and
// CA file, one request, and failures printed with the exit code they map to.

#include <memory>
#include <string>

#include <simdjson.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/http_client.h"

namespace batchq::cli {

// Prints a transport failure; returns kExitUnavailable.
int ReportFailure(const Error& error);
// Prints an API error body and maps the HTTP status to an exit code.
int ReportHttpError(const HttpResponse& response);
// A client for common.url, sending common.api_key and trusting common.ca_file.
Result<std::unique_ptr<HttpClient>> Connect(const Common& common);
// One request with its own connection; on any failure prints why and returns the exit
// code, otherwise stores the body and returns kExitOk.
int Fetch(const Common& common, const HttpRequest& request, int expected_status, std::string* body);

// GET `target` for a listing: with --output json prints the body and sets *printed;
// otherwise parses it into *root (owned by `parser`). Returns the exit code on failure.
int FetchListing(const Common& common, const std::string& target, simdjson::dom::parser& parser,
                 simdjson::dom::element* root, bool* printed);

}  // namespace batchq::cli
