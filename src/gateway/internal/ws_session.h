// WebSocket sessions of WebSocketApi: the publish and subscribe protocols over a connection the
// HTTP server hands over (gateway/upgrade.h). Boost.Beast stays in ws_session.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codec/json_parser.h"
#include "gateway/producer_dedup.h"
#include "gateway/publisher.h"
#include "gateway/upgrade.h"
#include "gateway/websocket_api.h"

namespace sluice::metrics {
class Counter;
class Gauge;
}  // namespace sluice::metrics

namespace sluice::gateway::internal {

// State shared by every session of one WebSocketApi. Thread-safe where marked.
struct WsShared {
  WsShared(const WebSocketOptions& o, Publisher& p, ProducerDedup& d, size_t shards)
      : options(o), publisher(p), dedup(d) {
    for (size_t i = 0; i < shards; ++i) parsers.push_back(std::make_unique<codec::JsonParser>());
  }
  // This shard's JSON parser; use it only between suspension points.
  codec::JsonParser& Parser(std::unique_ptr<codec::JsonParser>& fallback);

  const WebSocketOptions& options;
  Publisher& publisher;
  ProducerDedup& dedup;
  std::atomic<int64_t> queued_bytes{0};  // frames read and not yet published (all sessions)
  std::vector<std::unique_ptr<codec::JsonParser>> parsers;  // one per shard
  metrics::Gauge* publishers_active = nullptr;
  metrics::Gauge* subscribers_active = nullptr;
  metrics::Counter* frames_in = nullptr;
  metrics::Counter* frames_out = nullptr;
};

// What the handshake request carried that the session needs (Beast's accept re-reads it).
struct WsHandshake {
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct PublishParams {
  std::string topic;
  std::string principal;  // "anonymous" with auth off
  std::string rate_key;   // whose rate limit frames count against ("ip:..." with auth off)
};

struct SubscribeParams {
  enum class From { kEarliest, kLatest, kOffset, kTime };
  std::string topic;
  std::string principal = "anonymous";  // recorded in the schema lineage
  int32_t partition = -1;  // -1: every partition
  From from = From::kLatest;
  int64_t from_value = 0;  // the offset or the timestamp (ms)
  int32_t batch_events = 100;
};

std::shared_ptr<ConnectionUpgrade> MakePublishSession(WsShared& shared, WsHandshake hs,
                                                      PublishParams params);
std::shared_ptr<ConnectionUpgrade> MakeSubscribeSession(WsShared& shared, WsHandshake hs,
                                                        SubscribeParams params);

}  // namespace sluice::gateway::internal
