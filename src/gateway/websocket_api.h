// WebSocketApi: `GET /v1/topics/{topic}/ws` on the HTTP listener. Publish mode: JSON text frames
// with one event or a batch, one ack per frame, credit-based flow control, producer id +
// sequence for safe retries. Subscribe mode: the topic streamed to the client, one batch per
// credit the client grants. Frame protocol and close codes: docs/websocket.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "gateway/producer_dedup.h"
#include "gateway/publisher.h"
#include "gateway/router.h"
#include "runtime/shards.h"

namespace sluice::metrics {
class Registry;
}

namespace sluice::gateway {

namespace internal {
struct WsShared;
}

struct WebSocketOptions {
  // Largest frame (message) a client may send; larger ones close the connection with 1009.
  int64_t max_frame_bytes = 1024 * 1024;
  // Request frames a publisher may have unacknowledged (the credit granted on open); one more
  // closes the connection with 1008.
  int32_t max_inflight_frames = 16;
  int64_t max_event_bytes = 1024 * 1024;  // key + value + headers of one event
  int32_t max_events_per_frame = 10000;
  // Frames read and waiting to be published, over all connections; beyond it a frame is
  // answered "unavailable" (retry) instead of being kept.
  int64_t max_queued_bytes = 256LL * 1024 * 1024;
  // Consecutive frames refused with "try later" (store busy, rate limited) before the
  // connection is closed with 1013.
  int32_t max_try_later_frames = 8;
  // No frame from the client for half of this: the server pings; for all of it: closed.
  int64_t idle_timeout_ms = 60000;
  // A frame the client does not take within this (a stuck reader): the socket is closed.
  int64_t write_timeout_ms = 30000;
  int64_t handshake_timeout_ms = 10000;
  // Subscribe: events per batch (query `max_events`, default and cap), bytes per batch (soft),
  // and the most credit a subscriber may hold unused.
  int32_t default_batch_events = 100;
  int32_t max_batch_events = 1000;
  int64_t max_batch_bytes = 1024 * 1024;
  int64_t max_credit = 100000;
  ProducerDedupOptions dedup;
  metrics::Registry* metrics = nullptr;  // may be null
};

// Lifecycle: construct, Register() into the router before the server starts; the publisher's
// log decides readiness (no log: 503 at the handshake). Outlives the HTTP server. Thread-safe:
// sessions run on the shard of their connection.
class WebSocketApi {
 public:
  // `publisher` (shared with the other front ends) outlives this.
  WebSocketApi(WebSocketOptions options, runtime::Shards& shards, Publisher& publisher);
  ~WebSocketApi();

  void Register(Router& router);

  ProducerDedup& dedup() { return dedup_; }

 private:
  Task<HttpResponse> Handshake(HttpRequest& req);

  WebSocketOptions options_;
  Publisher& publisher_;
  ProducerDedup dedup_;
  std::unique_ptr<internal::WsShared> shared_;
};

}  // namespace sluice::gateway
