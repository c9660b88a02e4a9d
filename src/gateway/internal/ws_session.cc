// WebSocket publish and subscribe sessions on Boost.Beast 1.74 (websocket::stream over the
// socket the HTTP server owns, or over its TLS stream for wss://). Protocol: docs/websocket.md.
//
// Writes: Beast allows one read and one write in flight. Each session has at most one writer
// coroutine at a time (`writer_`): the publish worker while frames wait, the subscribe sender
// for the whole session, or a short closer. Whoever wants the connection closed calls
// RequestClose; the writer (or a closer spawned when there is none) sends the close frame.
#include "gateway/internal/ws_session.h"

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include "base/logging.h"
#include "codec/json_value.h"
#include "codec/json_writer.h"
#include "gateway/envelope_decoding.h"
#include "gateway/internal/api_util.h"
#include "metrics/registry.h"
#include "runtime/shards.h"

namespace sluice::gateway::internal {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using codec::JsonValue;
using codec::JsonWriter;

namespace {

spdlog::logger& Logger() {
  static auto& l = logging::Get("gateway");
  return l;
}

using WsStream = websocket::stream<tcp::socket&>;
using WssStream = websocket::stream<asio::ssl::stream<tcp::socket>&>;

// {"code": "...", "message": "..."} plus retry_after_ms for errors worth retrying.
void WriteError(JsonWriter& w, const Status& st) {
  w.BeginObject().Field("code", ErrorCodeName(st.code())).Field("message", st.message());
  if (st.code() == ErrorCode::kUnavailable) w.Field("retry_after_ms", int64_t{1000});
  w.EndObject();
}

// A frame-level error: {"id": ID, "error": {...}}.
std::string FrameError(std::string_view id_json, const Status& st) {
  JsonWriter w;
  w.BeginObject().Key("id").Raw(id_json).Key("error");
  WriteError(w, st);
  w.EndObject();
  return w.Take();
}

bool TryLater(const Status& st) {
  return st.code() == ErrorCode::kUnavailable || st.code() == ErrorCode::kResourceExhausted;
}

// Common part of both modes: the Beast stream, the handshake, the read loop, the single-writer
// rule and closing. Lives in the shared_ptr the server holds until Run returns; coroutines it
// spawns are counted in tasks_ and Run waits for them.
class WsSession : public ConnectionUpgrade {
 public:
  WsSession(WsShared& shared, WsHandshake hs) : shared_(shared), hs_(std::move(hs)) {}

 protected:
  // Calls fn with the session's WebSocket stream, whichever of the two it is (defined before
  // its callers: its return type is deduced).
  template <typename Fn>
  decltype(auto) WithWs(Fn&& fn) {
    return wss_ ? fn(*wss_) : fn(*ws_);
  }

 public:

  Task<void> Run(UpgradedConnection& conn) override {
    conn_ = &conn;
    if (auto* tls = conn.Tls()) {
      wss_.emplace(*tls);
    } else {
      ws_.emplace(conn.Socket());
    }
    wake_.emplace(conn.Socket().get_executor());
    wake_->expires_at(SteadyTimePoint::max());
    tasks_done_.emplace(conn.Socket().get_executor());
    const auto& o = shared_.options;
    WithWs([](auto& ws) {
      ws.read_message_max(0);  // ReadLoop enforces max_frame_bytes (see there)
      ws.auto_fragment(false);
    });
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::milliseconds(o.handshake_timeout_ms);
    t.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
    t.keep_alive_pings = true;
    WithWs([&t](auto& ws) {
      ws.set_option(t);
      ws.set_option(websocket::stream_base::decorator(
          [](websocket::response_type& res) { res.set(http::field::server, "sluice"); }));
    });
    boost::system::error_code ec;
    {
      http::request<http::empty_body> req;
      req.method(http::verb::get);
      req.target(hs_.target);
      req.version(11);
      for (const auto& [k, v] : hs_.headers) req.insert(k, v);
      hs_ = WsHandshake();
      auto accept = WithWs([&](auto& ws) {
        return ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
      });
      co_await std::move(accept);
    }
    if (ec) co_return;
    open_ = true;
    WithWs([](auto& ws) { ws.text(true); });
    Started();
    if (!conn.Buffered().empty()) {
      // Frames sent before the handshake answer: RFC 6455 §4.1 says a client waits.
      RequestClose(websocket::close_code::protocol_error,
                   "data sent before the handshake response");
    } else {
      OnOpen();
    }
    co_await ReadLoop();
    done_ = true;
    Wake();
    while (tasks_ > 0) {
      tasks_done_->expires_at(SteadyTimePoint::max());
      co_await tasks_done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    Ended();
  }

  void Stop() override {
    if (!open_) {
      if (conn_ != nullptr) conn_->SetDeadline(0);  // mid-handshake: just drop it
      return;
    }
    RequestClose(websocket::close_code::going_away, "server stopping");
  }

 protected:
  using SteadyTimePoint = std::chrono::steady_clock::time_point;

  virtual void Started() {}
  virtual void Ended() {}
  // After the handshake: what the server says first.
  virtual void OnOpen() {}
  // One text message from the client.
  virtual void OnMessage(std::string msg) = 0;

  // Ends the connection with `code`: the current writer sends the close frame after its
  // write, or a closer does it now. The first request wins.
  void RequestClose(websocket::close_code code, std::string_view reason) {
    if (close_code_ || done_) return;
    close_code_ = code;
    close_reason_.assign(reason.substr(0, 120));  // a close frame's reason is <= 123 bytes
    Wake();
    if (!writer_) {
      writer_ = true;
      Spawn([this]() -> Task<void> {
        co_await Close();
        writer_ = false;
      });
    }
  }

  // REQUIRES: the caller is the writer and close_code_ is set.
  Task<void> Close() {
    if (closed_ || done_) co_return;
    closed_ = true;
    // No ClearDeadline afterwards: a peer that never answers the close is cut off by it.
    conn_->SetDeadline(shared_.options.write_timeout_ms);
    websocket::close_reason cr(*close_code_, close_reason_);
    boost::system::error_code ec;
    auto close = WithWs([&](auto& ws) {
      return ws.async_close(cr, asio::redirect_error(asio::use_awaitable, ec));
    });
    co_await std::move(close);
  }

  // REQUIRES: the caller is the writer. False when the connection failed.
  Task<bool> Write(const std::string& text) {
    conn_->SetDeadline(shared_.options.write_timeout_ms);
    boost::system::error_code ec;
    auto write = WithWs([&](auto& ws) {
      return ws.async_write(asio::buffer(text), asio::redirect_error(asio::use_awaitable, ec));
    });
    co_await std::move(write);
    conn_->ClearDeadline();
    if (ec) co_return false;
    if (shared_.frames_out != nullptr) shared_.frames_out->Inc();
    co_return true;
  }

  // Runs a coroutine of this session; Run waits for it before returning.
  template <typename Fn>
  void Spawn(Fn fn) {
    ++tasks_;
    asio::co_spawn(
        conn_->Socket().get_executor(),
        [this, fn = std::move(fn)]() -> Task<void> {
          try {
            co_await fn();
          } catch (const std::exception& e) {
            Logger().error("websocket session on {}: {}", conn_->Remote(), e.what());
            conn_->SetDeadline(0);  // nothing sensible left: drop the connection
          }
          if (--tasks_ == 0) tasks_done_->cancel();
        },
        asio::detached);
  }

  // Wakes a writer waiting in WaitWake.
  void Wake() { wake_->cancel(); }
  Task<void> WaitWake(std::chrono::milliseconds at_most) {
    wake_->expires_after(at_most);
    boost::system::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  bool ending() const { return done_ || close_code_.has_value(); }

  WsShared& shared_;
  UpgradedConnection* conn_ = nullptr;
  // Exactly one is set once Run started: ws_ on a plain listener, wss_ on a TLS one.
  std::optional<WsStream> ws_;
  std::optional<WssStream> wss_;
  bool writer_ = false;  // a coroutine owns writing (see the file comment)
  bool done_ = false;    // the read side ended: the connection is gone or closed
  std::optional<websocket::close_code> close_code_;
  std::string close_reason_;

 private:
  // Reads messages in pieces and enforces the frame limit itself: Beast's own limit fails the
  // connection through a teardown that (in 1.74) stops draining after one read and closes with
  // the client's frame still unread, so the kernel answers with a reset and the client never
  // sees the 1009. Here the close handshake reads (and drops) the rest instead.
  Task<void> ReadLoop() {
    static constexpr size_t kReadChunk = 64 * 1024;
    const auto max = static_cast<size_t>(shared_.options.max_frame_bytes);
    beast::flat_buffer buf;
    for (;;) {
      boost::system::error_code ec;
      auto read = WithWs([&](auto& ws) {
        return ws.async_read_some(buf, kReadChunk, asio::redirect_error(asio::use_awaitable, ec));
      });
      co_await std::move(read);
      if (ec) break;  // closed, timed out, bad UTF-8 (Beast sent 1007), protocol error...
      if (close_code_) {  // closing: what still comes is dropped
        buf.consume(buf.size());
        continue;
      }
      if (buf.size() > max) {
        RequestClose(websocket::close_code::too_big,
                     fmt::format("frame larger than {} bytes", max));
        buf.consume(buf.size());
        buf.shrink_to_fit();
        continue;
      }
      if (!WithWs([](auto& ws) { return ws.is_message_done(); })) continue;
      if (shared_.frames_in != nullptr) shared_.frames_in->Inc();
      if (!WithWs([](auto& ws) { return ws.got_text(); })) {
        RequestClose(websocket::close_code::unknown_data,
                     "binary frames are not accepted; send JSON text frames");
      } else {
        OnMessage(beast::buffers_to_string(buf.data()));
      }
      buf.consume(buf.size());
      if (buf.capacity() > 64 * 1024) buf.shrink_to_fit();  // idle connections stay small
    }
  }
  WsHandshake hs_;
  std::optional<asio::steady_timer> wake_;
  std::optional<asio::steady_timer> tasks_done_;
  int tasks_ = 0;
  bool open_ = false;  // the handshake completed
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Publish mode.

class PublishSession final : public WsSession {
 public:
  PublishSession(WsShared& shared, WsHandshake hs, PublishParams params)
      : WsSession(shared, std::move(hs)), params_(std::move(params)) {}
  ~PublishSession() override {
    for (const auto& f : queue_) Release(f);
  }

 private:
  struct Frame {
    std::string text;
    bool over_budget = false;  // not counted in queued_bytes: answered "unavailable"
  };

  void Started() override {
    if (shared_.publishers_active != nullptr) shared_.publishers_active->Add(1);
  }
  void Ended() override {
    if (shared_.publishers_active != nullptr) shared_.publishers_active->Add(-1);
  }

  void OnOpen() override {
    writer_ = true;
    Spawn([this]() -> Task<void> {
      JsonWriter w;
      w.BeginObject()
          .Field("credit", shared_.options.max_inflight_frames)
          .Field("max_frame_bytes", shared_.options.max_frame_bytes)
          .EndObject();
      std::string hello = w.Take();
      co_await Write(hello);
      co_await Drain();
    });
  }

  void OnMessage(std::string msg) override {
    if (queue_.size() + (publishing_ ? 1 : 0) >=
        static_cast<size_t>(shared_.options.max_inflight_frames)) {
      RequestClose(websocket::close_code::policy_error,
                   fmt::format("more than {} frames in flight; wait for acks (credit)",
                               shared_.options.max_inflight_frames));
      return;
    }
    Frame f;
    const auto bytes = static_cast<int64_t>(msg.size());
    if (shared_.queued_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes >
        shared_.options.max_queued_bytes) {
      shared_.queued_bytes.fetch_sub(bytes, std::memory_order_relaxed);
      f.over_budget = true;
      // Keep only the id so the error can name the frame.
      f.text = ExtractIdOnly(msg);
    } else {
      f.text = std::move(msg);
    }
    queue_.push_back(std::move(f));
    if (!writer_) {
      writer_ = true;
      Spawn([this]() -> Task<void> { co_await Drain(); });
    }
  }

  void Release(const Frame& f) {
    if (!f.over_budget) {
      shared_.queued_bytes.fetch_sub(static_cast<int64_t>(f.text.size()),
                                     std::memory_order_relaxed);
    }
  }

  // The writer: publishes queued frames in order and writes their acks; closes if asked.
  // REQUIRES: writer_ was set by the caller.
  Task<void> Drain() {
    while (!queue_.empty() && !ending()) {
      Frame f = std::move(queue_.front());
      queue_.pop_front();
      publishing_ = true;
      std::string ack;
      if (f.over_budget) {
        ack = FrameError(f.text, Unavailable("the server has too many frames waiting; retry"));
        ++try_later_;
      } else {
        ack = co_await PublishFrame(f.text);
      }
      publishing_ = false;
      Release(f);
      if (done_) break;
      if (!co_await Write(ack)) break;
      if (try_later_ >= shared_.options.max_try_later_frames) {
        RequestClose(websocket::close_code::try_again_later,
                     fmt::format("{} frames in a row refused as busy; reconnect later",
                                 try_later_));
      }
    }
    if (close_code_ && !done_) co_await Close();
    writer_ = false;
  }

  // {"id":...} of a frame that will not be parsed (or "null").
  std::string ExtractIdOnly(const std::string& msg) {
    std::unique_ptr<codec::JsonParser> own;
    auto v = shared_.Parser(own).Parse(msg);
    if (v.ok() && v->is_object()) {
      if (const JsonValue* id = v->Find("id"); id != nullptr && (id->is_string() ||
                                                                id->is_number())) {
        return id->ToJson();
      }
    }
    return "null";
  }

  // Publishes one request frame and returns its ack (or frame error). Everything a frame goes
  // through is here: a rate limiter check belongs at the marked point.
  Task<std::string> PublishFrame(const std::string& text) {
    std::string id = "null";
    std::vector<PublishEvent> events;
    std::vector<std::optional<Status>> bad;  // per request event: why it was not published
    std::string producer;
    std::optional<int64_t> seq;
    {
      std::unique_ptr<codec::JsonParser> own;
      auto v = shared_.Parser(own).Parse(text);  // the tree owns its data: no parser after this
      if (!v.ok()) {
        try_later_ = 0;
        co_return FrameError(id, v.status().WithContext("frame"));
      }
      Status st = Decode(*v, id, events, bad, producer, seq);
      if (!st.ok()) {
        try_later_ = 0;
        co_return FrameError(id, st);
      }
    }
    std::string dedup_key;
    if (seq) {
      dedup_key = fmt::format("{}\n{}\n{}", params_.topic, params_.principal, producer);
      auto l = shared_.dedup.Begin(dedup_key, *seq);
      switch (l.outcome) {
        case ProducerDedup::Outcome::kDuplicate:
          try_later_ = 0;
          co_return fmt::format(R"({{"id":{},{},"duplicate":true}})", id, l.result);
        case ProducerDedup::Outcome::kInProgress:
          ++try_later_;
          co_return FrameError(id, Unavailable("producer '{}' sequence {} is still being "
                                               "published; retry to get its result",
                                               producer, *seq));
        case ProducerDedup::Outcome::kTooOld:
          try_later_ = 0;
          co_return FrameError(id, OutOfRange("producer '{}' sequence {} is older than the "
                                              "last {} remembered; it cannot be deduplicated",
                                              producer, *seq, shared_.options.dedup.window));
        case ProducerDedup::Outcome::kNew:
          break;
      }
    }
    // Events that passed decoding are published together; per-event failures keep their slot.
    std::vector<size_t> index;  // published event k is request event index[k]
    std::vector<PublishEvent> good;
    for (size_t i = 0; i < events.size(); ++i) {
      if (bad[i]) continue;
      index.push_back(i);
      good.push_back(std::move(events[i]));
    }
    PublishOutcome out;
    if (!good.empty()) {
      // Rate limits are taken inside Publish (per principal, or client address, and topic):
      // over the limit the frame gets a rate_limited error, and a client that keeps pushing is
      // closed with 1013 (max_try_later_frames).
      PublishOptions po;
      po.per_event_errors = true;
      po.principal = params_.principal;
      po.rate_key = params_.rate_key;
      RateDecision decision;
      po.rate_decision = &decision;
      auto r = co_await shared_.publisher.Publish(params_.topic, good, po);
      if (!r.ok()) {
        if (seq) shared_.dedup.Abandon(dedup_key, *seq);
        if (!decision.allowed) {
          ++try_later_;
          JsonWriter w;
          w.BeginObject().Key("id").Raw(id).Key("error").BeginObject();
          w.Field("code", "rate_limited").Field("message", r.status().message());
          w.Field("retry_after_ms", decision.retry_after_s * 1000).EndObject().EndObject();
          co_return w.Take();
        }
        if (TryLater(r.status())) {
          ++try_later_;
        } else {
          try_later_ = 0;
        }
        co_return FrameError(id, r.status());
      }
      out = std::move(r).value();
    }
    try_later_ = 0;
    JsonWriter w;
    w.BeginArray();
    size_t k = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      if (bad[i]) {
        w.BeginObject().Key("error");
        WriteError(w, *bad[i]);
        w.EndObject();
        continue;
      }
      size_t j = k++;
      if (auto e = out.errors.find(j); e != out.errors.end()) {
        w.BeginObject().Key("error");
        // The publisher names events by their index among those published.
        WriteError(w, Status(e->second.code(),
                             RenumberEvent(e->second.message(), j, i)));
        w.EndObject();
      } else {
        w.BeginObject()
            .Field("partition", good[j].partition)
            .Field("offset", out.offsets[j].value())
            .EndObject();
      }
    }
    w.EndArray();
    std::string results = "\"results\":" + w.Take();
    if (seq) shared_.dedup.Finish(dedup_key, *seq, results);
    co_return fmt::format(R"({{"id":{},{}}})", id, results);
  }

  // "event 3 ..." → "event 5 ..." when the publisher saw request event 5 as its third.
  static std::string RenumberEvent(const std::string& msg, size_t published, size_t request) {
    std::string from = fmt::format("event {}", published);
    if (published == request || !msg.starts_with(from)) return msg;
    return fmt::format("event {}{}", request, msg.substr(from.size()));
  }

  // Reads a request frame: {"id", "event" | "events", "producer", "seq"}. Envelope errors are
  // per event (in `bad`); anything else wrong is the frame's error.
  Status Decode(const JsonValue& v, std::string& id, std::vector<PublishEvent>& events,
                std::vector<std::optional<Status>>& bad, std::string& producer,
                std::optional<int64_t>& seq) {
    if (!v.is_object()) {
      return InvalidArgument("a request frame must be a JSON object with \"id\" and "
                             "\"event\" or \"events\"");
    }
    if (const JsonValue* i = v.Find("id")) {
      if (!i->is_string() && !i->is_number()) {
        return InvalidArgument("\"id\" must be a string or a number");
      }
      if (i->is_string() && i->text().size() > 256) {
        return InvalidArgument("\"id\" is longer than 256 characters");
      }
      id = i->ToJson();
    }
    const JsonValue* one = nullptr;
    const JsonValue* many = nullptr;
    for (const auto& [k, f] : v.members()) {
      if (k == "event") {
        one = &f;
      } else if (k == "events") {
        many = &f;
      } else if (k == "producer") {
        if (!f.is_string() || f.text().empty() || f.text().size() > 256) {
          return InvalidArgument("\"producer\" must be a string of 1-256 characters");
        }
        producer = f.text();
      } else if (k == "seq") {
        auto s = f.AsInt64();
        if (!s || *s < 0) return InvalidArgument("\"seq\" must be a non-negative integer");
        seq = *s;
      } else if (k != "id") {
        return InvalidArgument(
            "unknown field '{}' in request frame; expected id, event, events, producer, seq", k);
      }
    }
    if ((one != nullptr) == (many != nullptr)) {
      return InvalidArgument("a request frame needs exactly one of \"event\" (an object) and "
                             "\"events\" (an array)");
    }
    if (seq.has_value() != !producer.empty()) {
      return InvalidArgument("\"producer\" and \"seq\" go together");
    }
    std::vector<const JsonValue*> items;
    if (one != nullptr) {
      items.push_back(one);
    } else {
      if (!many->is_array() || many->items().empty()) {
        return InvalidArgument("\"events\" must be a non-empty array");
      }
      if (many->items().size() > static_cast<size_t>(shared_.options.max_events_per_frame)) {
        return ResourceExhausted("{} events in one frame; the limit is {}",
                                 many->items().size(), shared_.options.max_events_per_frame);
      }
      for (const auto& e : many->items()) items.push_back(&e);
    }
    events.resize(items.size());
    bad.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      std::string where = fmt::format("event {}", i);
      Status st = EventFromJson(*items[i], /*envelope=*/true, where, events[i]);
      if (st.ok()) {
        size_t bytes = EventPayloadBytes(events[i].record);
        if (bytes > static_cast<size_t>(shared_.options.max_event_bytes)) {
          st = ResourceExhausted("{} is {} bytes; the limit is {} bytes", where, bytes,
                                 shared_.options.max_event_bytes);
        }
      }
      if (!st.ok()) bad[i] = std::move(st);
    }
    return Status::Ok();
  }

  PublishParams params_;
  std::deque<Frame> queue_;  // read, not yet published; at most max_inflight_frames
  bool publishing_ = false;  // the writer holds one frame out of the queue
  int32_t try_later_ = 0;    // consecutive frames refused as busy
};

// ---------------------------------------------------------------------------------------------
// Subscribe mode.

class SubscribeSession final : public WsSession {
 public:
  SubscribeSession(WsShared& shared, WsHandshake hs, SubscribeParams params)
      : WsSession(shared, std::move(hs)), params_(std::move(params)) {}

 private:
  // A long poll waits at most this long on one partition, so other partitions and a closing
  // client are looked at again that often.
  static constexpr int32_t kWaitSliceMs = 250;

  void Started() override {
    if (shared_.subscribers_active != nullptr) shared_.subscribers_active->Add(1);
  }
  void Ended() override {
    if (shared_.subscribers_active != nullptr) shared_.subscribers_active->Add(-1);
  }

  void OnOpen() override {
    writer_ = true;
    Spawn([this]() -> Task<void> { co_await Send(); });
  }

  void OnMessage(std::string msg) override {
    std::unique_ptr<codec::JsonParser> own;
    auto v = shared_.Parser(own).Parse(msg);
    const JsonValue* c = v.ok() && v->is_object() && v->members().size() == 1
                             ? v->Find("credit")
                             : nullptr;
    auto n = c != nullptr ? c->AsInt64() : std::nullopt;
    if (!n || *n < 1) {
      RequestClose(websocket::close_code::policy_error,
                   "a subscriber sends only {\"credit\": N} with N >= 1");
      return;
    }
    if (*n > shared_.options.max_credit || credit_ + *n > shared_.options.max_credit) {
      RequestClose(websocket::close_code::policy_error,
                   fmt::format("more than {} unused credits", shared_.options.max_credit));
      return;
    }
    credit_ += *n;
    Wake();
  }

  // The writer for the whole session: starting positions, then batches as credit allows.
  Task<void> Send() {
    storage::Log* log = shared_.publisher.log();
    Status st = log == nullptr ? Unavailable("the event store is not open") : Status::Ok();
    if (st.ok()) st = co_await Resolve(log);
    if (!st.ok()) {
      JsonWriter w;
      w.BeginObject().Key("error");
      WriteError(w, st);
      w.EndObject();
      std::string text = w.Take();
      co_await Write(text);
      RequestClose(st.code() == ErrorCode::kUnavailable ? websocket::close_code::try_again_later
                                                        : websocket::close_code::policy_error,
                   st.message());
    } else {
      JsonWriter w;
      w.BeginObject().Key("subscribed").BeginObject().Field("topic", params_.topic);
      w.Key("partitions").BeginArray();
      for (const auto& [p, next] : next_) {
        w.BeginObject().Field("partition", p).Field("offset", next.value()).EndObject();
      }
      w.EndArray().EndObject().EndObject();
      std::string text = w.Take();
      bool ok = co_await Write(text);
      while (ok && !ending()) {
        if (credit_ == 0) {
          co_await WaitWake(std::chrono::hours(1));
          continue;
        }
        std::string batch;
        st = co_await NextBatch(log, batch);
        if (!st.ok()) {
          RequestClose(websocket::close_code::internal_error, st.message());
          break;
        }
        if (batch.empty() || ending()) continue;
        --credit_;
        ok = co_await Write(batch);
      }
    }
    if (close_code_ && !done_) co_await Close();
    writer_ = false;
  }

  // Fills next_ with each partition's starting offset.
  Task<Status> Resolve(storage::Log* log) {
    auto d = co_await log->DescribeTopic(params_.topic);
    if (!d.ok()) co_return d.status();
    for (const auto& pi : d->partitions) {
      int32_t p = pi.partition.value();
      if (params_.partition >= 0 && p != params_.partition) continue;
      model::Offset o;
      switch (params_.from) {
        case SubscribeParams::From::kEarliest:
          o = pi.log_start_offset;
          break;
        case SubscribeParams::From::kLatest:
          o = pi.high_watermark;
          break;
        case SubscribeParams::From::kOffset:
          o = std::clamp(model::Offset(params_.from_value), pi.log_start_offset,
                         pi.high_watermark);
          break;
        case SubscribeParams::From::kTime: {
          model::TopicPartition tp{params_.topic, pi.partition};
          auto r = co_await log->OffsetForTimestamp(tp, params_.from_value);
          if (!r.ok()) co_return r.status();
          o = *r;
          break;
        }
      }
      next_[p] = o;
    }
    if (next_.empty()) {
      co_return NotFound("topic {} has no partition {}", params_.topic, params_.partition);
    }
    co_return Status::Ok();
  }

  // Reads the next events (up to batch_events) from the partitions, round robin, waiting up
  // to one slice on one partition when none has any. `batch` stays empty when nothing came.
  Task<Status> NextBatch(storage::Log* log, std::string& batch) {
    JsonWriter w;
    int32_t count = 0;
    std::unique_ptr<codec::JsonParser> own;
    const bool tally_ids = shared_.publisher.records_consumers();
    SchemaIdTally ids;
    for (int round = 0; round < 2 && count == 0 && !ending(); ++round) {
      for (size_t i = 0; i < next_.size() && count < params_.batch_events; ++i) {
        // The first partition after the last one served goes first, so none starves.
        auto pit = next_.begin();
        std::advance(pit, (rr_ + i) % next_.size());
        const int32_t p = pit->first;
        storage::ReadOptions ro;
        ro.max_records = params_.batch_events - count;
        ro.max_bytes = shared_.options.max_batch_bytes;
        ro.wait_ms = (round == 1 && i == 0) ? kWaitSliceMs : 0;
        model::TopicPartition tp{params_.topic, model::PartitionId(p)};
        auto r = co_await log->Read(tp, pit->second, ro);
        if (!r.ok() && r.status().code() == ErrorCode::kOutOfRange) {
          // Retention removed what we were about to read: go on from the log start.
          auto d = co_await log->DescribeTopic(params_.topic);
          if (!d.ok()) co_return d.status();
          if (static_cast<size_t>(p) < d->partitions.size()) {
            const auto& pi = d->partitions[p];
            pit->second = std::clamp(pit->second, pi.log_start_offset, pi.high_watermark);
          }
          continue;
        }
        if (!r.ok()) co_return r.status().WithContext(fmt::format("partition {}", p));
        if (ending()) co_return Status::Ok();
        codec::JsonParser& parser = shared_.Parser(own);  // no suspension from here to the end
        model::Offset next = pit->second;
        bool any = false;
        Status st = r->ForEachRecord([&](const model::RecordView& rec) {
          if (count == 0) w.BeginObject().Key("events").BeginArray();
          ++count;
          any = true;
          next = rec.offset + 1;
          if (tally_ids) ids.Add(rec.value);
          WriteRecord(w, parser, p, rec);
        });
        if (!st.ok()) co_return st.WithContext(fmt::format("partition {}", p));
        // Without records the read may still move on (past compacted-away offsets).
        if (!any && r->next_offset > next) next = r->next_offset;
        pit->second = next;
      }
      rr_ = (rr_ + 1) % next_.size();
    }
    if (count > 0) {
      w.EndArray().EndObject();
      batch = w.Take();
      shared_.publisher.RecordConsumed(params_.topic, params_.principal, ids);
    }
    co_return Status::Ok();
  }

  static void WriteRecord(JsonWriter& w, codec::JsonParser& parser, int32_t p,
                          const model::RecordView& rec) {
    w.BeginObject();
    w.Field("partition", p);
    WriteRecordFields(w, parser, rec);
    w.EndObject();
  }

  SubscribeParams params_;
  std::map<int32_t, model::Offset> next_;  // partition → next offset to send
  size_t rr_ = 0;
  int64_t credit_ = 0;  // batches the client will take
};

}  // namespace

codec::JsonParser& WsShared::Parser(std::unique_ptr<codec::JsonParser>& fallback) {
  uint32_t i = runtime::Shards::CurrentIndex();
  if (i < parsers.size()) return *parsers[i];
  if (fallback == nullptr) fallback = std::make_unique<codec::JsonParser>();
  return *fallback;
}

std::shared_ptr<ConnectionUpgrade> MakePublishSession(WsShared& shared, WsHandshake hs,
                                                      PublishParams params) {
  return std::make_shared<PublishSession>(shared, std::move(hs), std::move(params));
}

std::shared_ptr<ConnectionUpgrade> MakeSubscribeSession(WsShared& shared, WsHandshake hs,
                                                        SubscribeParams params) {
  return std::make_shared<SubscribeSession>(shared, std::move(hs), std::move(params));
}

}  // namespace sluice::gateway::internal
