#pragma once

namespace batchq::cli {

// Exit codes that scripts can branch on; README.md lists them.
enum ExitCode : int {
  kExitOk = 0,            // command succeeded (for waits: the job succeeded)
  kExitJobFailed = 1,     // the job ended failed, cancelled or expired
  kExitUsage = 2,         // bad command line
  kExitRequestError = 3,  // the API refused the request (4xx)
  kExitUnavailable = 4,   // cannot reach the gateway, or it answered 5xx
  kExitTimeout = 5,       // a wait ran out before the job ended
  kExitLocalFile = 6,     // a local file could not be written (e.g. keygen's, when it exists)
};

}  // namespace batchq::cli
