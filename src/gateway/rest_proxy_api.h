// RestProxyApi: Confluent REST Proxy compatibility on the gateway's HTTP listener, so existing
// producers work unchanged: v2 `POST /topics/{topic}` and `/topics/{topic}/partitions/{p}`
// (binary, json and jsonschema embedded formats), v3 `POST /v3/clusters/{cluster}/topics/
// {topic}/records` (one record, or the streamed mode: several concatenated records answered by
// one delivery report each, in order) and `GET /v3/clusters[/{cluster}]`. Every record goes
// through the shared Publisher. Wire shapes, error codes and statuses: docs/rest-proxy.md.
#pragma once

#include <atomic>
#include <string>

#include "base/clock.h"
#include "gateway/envelope_decoding.h"
#include "gateway/publisher.h"
#include "gateway/router.h"
#include "gateway/schema_source.h"

namespace sluice::gateway {

struct RestProxyOptions {
  DecodeLimits limits;
  int64_t max_request_bytes = 16LL * 1024 * 1024;  // cap on a decoded (gzip/zstd) body
  // The one cluster v3 exposes; stable across restarts (v3 paths must name it).
  std::string cluster_id = "sluice";
};

// Lifecycle: construct, Register() before the server starts, SetSchemaSource() once the
// registry is up and SetSchemaSource(nullptr) before it stops. Thread-safe; handlers run on any
// shard. The Publisher, Clock and SchemaSource outlive it.
class RestProxyApi {
 public:
  RestProxyApi(RestProxyOptions options, Publisher& publisher, const Clock& clock);

  void Register(Router& router);
  // Schema formats answer 503 while unset (registry off or not started).
  void SetSchemaSource(SchemaSource* s) { schemas_.store(s); }

 private:
  Task<HttpResponse> ProduceV2(HttpRequest& req);
  Task<HttpResponse> ProduceV3(HttpRequest& req);
  Task<HttpResponse> ListClusters(HttpRequest& req);
  Task<HttpResponse> GetCluster(HttpRequest& req);

  RestProxyOptions options_;
  Publisher& publisher_;
  const Clock& clock_;
  std::atomic<SchemaSource*> schemas_{nullptr};
};

}  // namespace sluice::gateway
