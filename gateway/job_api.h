#pragma once
// The HTTP API of DESIGN.md: picks the route and hands the request to the piece that
// owns it (SubmitHandler for submits, JobReads for reads and cancels), answers the
// service routes (types, health, readiness, dashboard, OpenAPI, metrics) itself, and
// counts every answer in HttpMetrics. Handle() may be called from any I/O thread.

#include <boost/asio/io_context.hpp>

#include "common/http_types.h"
#include "gateway/broker_port.h"
#include "gateway/completion_waiters.h"
#include "gateway/http_metrics.h"
#include "gateway/job_reads.h"
#include "gateway/job_store_port.h"
#include "gateway/submit_handler.h"

namespace batchq {

class JobApi {
 public:
  struct Options {
    SubmitHandler::Options submit;
    JobReads::Options reads;
  };

  // Everything passed in must outlive the API. Every answer is counted in `registry`
  // (HttpMetrics), which GET /metrics serves.
  JobApi(boost::asio::io_context& io, Options options, JobStorePort& store, BrokerPort& broker,
         CompletionWaiters& waiters, prometheus::Registry& registry);

  void Handle(HttpRequestIn request, Respond respond);

 private:
  // Handle() minus the metrics: picks the route and answers.
  void Route(HttpRequestIn request, Respond respond);
  void RouteJob(const HttpRequestIn& request, Respond respond);
  void RouteService(const HttpRequestIn& request, Respond respond);
  void Types(Respond respond);
  void Ready(Respond respond);

  JobStorePort& store_;
  BrokerPort& broker_;
  prometheus::Registry& registry_;
  HttpMetrics http_metrics_;
  SubmitHandler submit_;
  JobReads reads_;
};

}  // namespace batchq
