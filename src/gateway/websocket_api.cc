// WebSocketApi: the handshake route. Everything that can be refused is refused here with a
// plain HTTP error (the topic, the mode and its parameters, the upgrade headers, RBAC), before
// the connection is upgraded; the sessions are in internal/ws_session.cc.
#include "gateway/websocket_api.h"

#include <charconv>

#include "gateway/internal/ws_session.h"
#include "gateway/rest_api.h"
#include "gateway/security.h"
#include "metrics/registry.h"
#include "storage/topic_config.h"

namespace sluice::gateway {

namespace {

// True when the comma-separated header value has `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view t = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (t.size() == token.size() &&
        std::equal(t.begin(), t.end(), token.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

Result<int64_t> ParseInt(std::string_view s, std::string_view what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return InvalidArgument("{}: '{}' is not a non-negative integer", what, s);
  }
  return v;
}

// from=earliest|latest|live|offset:N|time:MS
Status ParseFrom(std::string_view from, internal::SubscribeParams& p) {
  using From = internal::SubscribeParams::From;
  if (from == "earliest") {
    p.from = From::kEarliest;
  } else if (from == "latest" || from == "live") {
    p.from = From::kLatest;
  } else if (from.starts_with("offset:") || from.starts_with("time:")) {
    bool offset = from.starts_with("offset:");
    auto v = ParseInt(from.substr(from.find(':') + 1), "from");
    if (!v.ok()) return v.status();
    p.from = offset ? From::kOffset : From::kTime;
    p.from_value = *v;
  } else {
    return InvalidArgument(
        "from must be earliest, latest, live, offset:N or time:MS (ms since the epoch); got '{}'",
        from);
  }
  return Status::Ok();
}

}  // namespace

WebSocketApi::WebSocketApi(WebSocketOptions options, runtime::Shards& shards,
                           Publisher& publisher)
    : options_(std::move(options)),
      publisher_(publisher),
      dedup_(options_.dedup),
      shared_(std::make_unique<internal::WsShared>(options_, publisher_, dedup_, shards.size())) {
  if (options_.metrics != nullptr) {
    auto& m = *options_.metrics;
    const std::string help = "Open WebSocket connections by mode";
    shared_->publishers_active =
        &m.GetGauge("sluice_ws_connections_active", help, {{"mode", "publish"}});
    shared_->subscribers_active =
        &m.GetGauge("sluice_ws_connections_active", help, {{"mode", "subscribe"}});
    shared_->frames_in = &m.GetCounter("sluice_ws_frames_total", "WebSocket messages",
                                       {{"direction", "in"}});
    shared_->frames_out = &m.GetCounter("sluice_ws_frames_total", "WebSocket messages",
                                        {{"direction", "out"}});
  }
}

WebSocketApi::~WebSocketApi() = default;

void WebSocketApi::Register(Router& router) {
  // Either action lets the handshake through; the handler then checks the one the mode needs.
  router.Add(
      "GET", "/v1/topics/{topic}/ws", [this](HttpRequest& r) { return Handshake(r); }, "ws",
      RouteAccess::On("topic:{topic}", {auth_rbac::Action::kProduce, auth_rbac::Action::kConsume}));
}

Task<HttpResponse> WebSocketApi::Handshake(HttpRequest& req) {
  if (publisher_.log() == nullptr) {
    HttpResponse r = HttpResponse::Error(Unavailable("server is starting or stopping"));
    r.headers.emplace_back("Retry-After", "1");
    co_return r;
  }
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, true);
  if (!st.ok()) co_return HttpResponse::Error(st);

  // The upgrade itself (RFC 6455 §4.2.1: a GET; a HEAD, which the router lets every GET route
  // answer, gets the answer to a GET without the upgrade headers and never upgrades).
  if (req.method != "GET" || !HasToken(req.Header("upgrade"), "websocket") ||
      !HasToken(req.Header("connection"), "upgrade")) {
    HttpResponse r = HttpResponse::Error(
        426, "invalid_argument",
        "this route speaks WebSocket: send Connection: Upgrade and Upgrade: websocket");
    r.headers.emplace_back("Upgrade", "websocket");
    r.headers.emplace_back("Connection", "Upgrade");
    co_return r;
  }
  if (req.Header("sec-websocket-version") != "13") {
    HttpResponse r = HttpResponse::Error(426, "invalid_argument",
                                         "only WebSocket version 13 is supported");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    co_return r;
  }
  if (req.Header("sec-websocket-key").size() != 24) {
    co_return HttpResponse::Error(
        InvalidArgument("Sec-WebSocket-Key must be 16 bytes in base64 (24 characters)"));
  }

  std::string_view mode = req.Query("mode").value_or("publish");
  if (mode != "publish" && mode != "subscribe") {
    co_return HttpResponse::Error(
        InvalidArgument("mode must be publish or subscribe; got '{}'", mode));
  }
  const bool subscribe = mode == "subscribe";
  for (const auto& [k, v] : req.query) {
    bool known = k == "mode" || (subscribe && (k == "from" || k == "partition" ||
                                               k == "max_events"));
    if (!known) {
      co_return HttpResponse::Error(InvalidArgument(
          "unknown query parameter '{}' for mode {}; {}", k, mode,
          subscribe ? "subscribe takes from, partition, max_events" : "publish takes none"));
    }
  }
  st = Authorize(req, subscribe ? auth_rbac::Action::kConsume : auth_rbac::Action::kProduce,
                 "topic:" + topic);
  if (!st.ok()) co_return HttpResponse::Error(st);

  auto meta = co_await publisher_.GetTopicMeta(topic);
  if (!meta.ok()) co_return HttpResponse::Error(meta.status());

  internal::WsHandshake hs;
  hs.target = req.target;
  hs.headers = req.headers;
  HttpResponse r;
  r.status = 101;
  if (!subscribe) {
    internal::PublishParams p;
    p.topic = topic;
    p.principal = req.principal != nullptr ? req.principal->name : "anonymous";
    if (req.principal == nullptr) p.rate_key = ClientAddressKey(req.remote);
    r.upgrade = internal::MakePublishSession(*shared_, std::move(hs), std::move(p));
    co_return r;
  }
  internal::SubscribeParams p;
  p.topic = topic;
  if (req.principal != nullptr) p.principal = req.principal->name;
  p.batch_events = options_.default_batch_events;
  if (auto from = req.Query("from")) {
    st = ParseFrom(*from, p);
    if (!st.ok()) co_return HttpResponse::Error(st);
  }
  if (auto part = req.Query("partition")) {
    auto v = ParseInt(*part, "partition");
    if (!v.ok()) co_return HttpResponse::Error(v.status());
    if (*v >= meta->partitions) {
      co_return HttpResponse::Error(
          NotFound("topic {} has no partition {} ({} partitions)", topic, *v, meta->partitions));
    }
    p.partition = static_cast<int32_t>(*v);
  }
  if (auto me = req.Query("max_events")) {
    auto v = ParseInt(*me, "max_events");
    if (!v.ok()) co_return HttpResponse::Error(v.status());
    if (*v < 1 || *v > options_.max_batch_events) {
      co_return HttpResponse::Error(InvalidArgument("max_events must be between 1 and {}",
                                                    options_.max_batch_events));
    }
    p.batch_events = static_cast<int32_t>(*v);
  }
  r.upgrade = internal::MakeSubscribeSession(*shared_, std::move(hs), std::move(p));
  co_return r;
}

}  // namespace sluice::gateway
