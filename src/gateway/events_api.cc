// RestApi produce and fetch: decoding the body (Content-Encoding, then Sluice's own events or
// CloudEvents, envelope_decoding.h), validating the whole request before anything is appended,
// publishing through the Publisher and rendering fetched records.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>

#include "codec/json_parser.h"
#include "gateway/content_encoding.h"
#include "gateway/envelope_decoding.h"
#include "gateway/internal/api_util.h"
#include "gateway/publisher.h"
#include "gateway/security.h"
#include "gateway/rest_api.h"

namespace sluice::gateway {

using codec::JsonValue;
using codec::JsonWriter;

namespace {

// The response body {"offsets":[{"partition":P,"offset":O},...]}. Written directly: the keys
// are constants and the values integers, so nothing needs escaping.
std::string OffsetsJson(const std::vector<PublishEvent>& events,
                        const std::vector<model::Offset>& offsets) {
  static constexpr std::string_view kHead = R"({"offsets":[)";
  static constexpr std::string_view kPartition = R"({"partition":)";
  static constexpr std::string_view kOffset = R"(,"offset":)";
  std::string out;
  out.reserve(kHead.size() + 2 + events.size() * (kPartition.size() + kOffset.size() + 32));
  out.append(kHead);
  char num[24];
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(kPartition);
    auto r = std::to_chars(num, num + sizeof(num), events[i].partition);
    out.append(num, r.ptr);
    out.append(kOffset);
    r = std::to_chars(num, num + sizeof(num), offsets[i].value());
    out.append(num, r.ptr);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

}  // namespace

// "ip:10.0.0.7" from "10.0.0.7:53211" ("[::1]:5" → "ip:[::1]"): whose rate limit and
// idempotency keys a request uses while auth is off.
std::string ClientAddressKey(std::string_view remote) {
  auto colon = remote.rfind(':');
  std::string out = "ip:";
  out.append(colon == std::string_view::npos ? remote : remote.substr(0, colon));
  return out;
}

PublishOptions HttpPublishOptions(const HttpRequest& req, std::string* rate_key,
                                  RateDecision* decision) {
  PublishOptions po;
  if (req.principal) {
    po.principal = req.principal->name;
  } else {
    *rate_key = ClientAddressKey(req.remote);
    po.rate_key = *rate_key;
  }
  po.rate_decision = decision;
  return po;
}

void AddRateLimitHeaders(const RateDecision& d, HttpResponse& resp) {
  resp.headers.emplace_back("RateLimit-Limit", std::to_string(d.limit));
  resp.headers.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
  resp.headers.emplace_back("RateLimit-Reset", std::to_string(d.reset_s));
}

namespace {
bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
// W3C trace context: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", ids not all zero.
bool ValidTraceparent(std::string_view t) {
  if (t.size() != 55 || t[2] != '-' || t[35] != '-' || t[52] != '-') return false;
  std::string_view version = t.substr(0, 2), trace = t.substr(3, 32), parent = t.substr(36, 16),
                   flags = t.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace) || !IsLowerHex(parent) ||
      !IsLowerHex(flags)) {
    return false;
  }
  return trace != std::string(32, '0') && parent != std::string(16, '0');
}
bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
}  // namespace

void AddTraceHeaders(const HttpRequest& req, std::vector<PublishEvent>& events) {
  std::string_view rid = req.Header("x-request-id");
  std::string_view tp = req.Header("traceparent");
  std::string_view ts = req.Header("tracestate");
  const bool add_rid = ValidRequestId(rid);
  const bool add_tp = !tp.empty() && ValidTraceparent(tp);  // invalid ones are ignored (W3C)
  if (!add_rid && !add_tp) return;
  for (auto& e : events) {
    if (add_rid) e.record.headers.push_back(model::Header{"x-request-id", std::string(rid)});
    if (add_tp) {
      e.record.headers.push_back(model::Header{"traceparent", std::string(tp)});
      if (!ts.empty() && ts.size() <= 512) {
        e.record.headers.push_back(model::Header{"tracestate", std::string(ts)});
      }
    }
  }
}

// As OffsetsJson, when some events went to the dead-letter topic: those entries also carry
// "dead_letter_topic" and "error" (why).
std::string OffsetsWithDeadLettersJson(const PublishOutcome& out) {
  JsonWriter w;
  w.BeginObject().Key("offsets").BeginArray();
  for (size_t i = 0; i < out.offsets.size(); ++i) {
    w.BeginObject().Field("partition", out.partitions[i]).Field("offset", out.offsets[i].value());
    if (auto it = out.dead_lettered.find(i); it != out.dead_lettered.end()) {
      w.Field("dead_letter_topic", it->second.topic).Field("error", it->second.reason);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

codec::JsonParser& RestApi::ShardParser(std::unique_ptr<codec::JsonParser>& fallback) {
  uint32_t i = runtime::Shards::CurrentIndex();
  if (i < parsers_.size()) return *parsers_[i];
  fallback = std::make_unique<codec::JsonParser>();
  return *fallback;
}

Task<HttpResponse> RestApi::ProduceOnce(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return HttpResponse::Error(st);
  if (auto bad = DecodeRequestBody(req, static_cast<size_t>(options_.max_request_bytes))) {
    co_return std::move(*bad);
  }
  std::string mt_scratch;
  const std::string_view mt = req.MediaType(mt_scratch);
  DecodeLimits limits{static_cast<size_t>(options_.max_event_bytes),
                      static_cast<size_t>(options_.max_events_per_request)};
  std::vector<PublishEvent> events;
  CloudEventsMode ce = DetectCloudEventsMode(mt, req.headers);
  if (ce != CloudEventsMode::kNone) {
    // CloudEvents 1.0 (HTTP protocol binding): only the JSON event format is understood.
    if ((ce == CloudEventsMode::kStructured && mt != "application/cloudevents+json") ||
        (ce == CloudEventsMode::kBatch && mt != "application/cloudevents-batch+json")) {
      co_return internal::UnsupportedMediaType(
          req, "application/cloudevents+json or application/cloudevents-batch+json");
    }
    {
      std::unique_ptr<codec::JsonParser> own;
      st = DecodeCloudEvents(ce, req.Header("content-type"), req.headers, req.body, limits,
                             ShardParser(own), events);
    }
    if (!st.ok()) co_return HttpResponse::Error(st);
    // The batched mode allows an empty array: nothing to append.
    if (events.empty()) co_return HttpResponse::Json(200, R"({"offsets":[]})");
  } else {
    bool ndjson = internal::IsNdjsonMediaType(mt);
    if (!ndjson && !internal::IsJsonMediaType(mt)) {
      co_return internal::UnsupportedMediaType(
          req, "application/json, application/x-ndjson, or CloudEvents");
    }
    auto env = req.Query("envelope");
    if (env && *env != "true" && *env != "false") {
      co_return HttpResponse::Error(InvalidArgument("envelope must be true or false"));
    }
    bool envelope = env && *env == "true";
    // Parse and validate everything before touching the log.
    {
      std::unique_ptr<codec::JsonParser> own;
      st = DecodeSluiceEvents(req.body, ndjson, envelope, limits, ShardParser(own), events);
    }
    if (st.ok() && events.empty()) st = InvalidArgument("no events in request");
    if (!st.ok()) co_return HttpResponse::Error(st);
  }

  // Request id and W3C trace context travel with every event of the request.
  AddTraceHeaders(req, events);

  std::string rate_key;
  RateDecision decision;
  PublishOptions po = HttpPublishOptions(req, &rate_key, &decision);
  auto out = co_await publisher_.Publish(topic, events, po);
  HttpResponse resp;
  if (!out.ok() && !decision.allowed) {
    resp = HttpResponse::Error(429, "rate_limited", out.status().message());
    resp.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
  } else if (!out.ok()) {
    resp = HttpResponse::Error(out.status());
  } else {
    resp = HttpResponse::Json(200, out->dead_lettered.empty()
                                       ? OffsetsJson(events, out->offsets)
                                       : OffsetsWithDeadLettersJson(*out));
  }
  if (decision.limit > 0) AddRateLimitHeaders(decision, resp);
  co_return resp;
}

// Not a coroutine: without an Idempotency-Key (the common case) it hands over ProduceOnce's
// task, so the request costs no extra coroutine frame.
Task<HttpResponse> RestApi::Produce(HttpRequest& req) {
  if (req.Header("idempotency-key").empty()) return ProduceOnce(req);
  return ProduceIdempotent(req);
}

Task<HttpResponse> RestApi::ProduceIdempotent(HttpRequest& req) {
  std::string_view key = req.Header("idempotency-key");
  // Idempotency-Key: the first request with a key runs; retries get its answer back.
  if (key.size() > idempotency_.options().max_key_bytes) {
    co_return HttpResponse::Error(InvalidArgument(
        "Idempotency-Key is {} bytes; at most {} allowed", key.size(),
        idempotency_.options().max_key_bytes));
  }
  std::string scope = (req.principal ? req.principal->name : ClientAddressKey(req.remote)) +
                      '\n' + req.Param("topic");
  const uint64_t body_hash = std::hash<std::string_view>{}(req.body) ^
                             (std::hash<std::string_view>{}(req.target) * 31);
  HttpResponse resp;
  switch (idempotency_.Begin(scope, key, body_hash, clock_.NowMs(), &resp)) {
    case IdempotencyCache::Outcome::kReplay:
      resp.headers.emplace_back("Idempotent-Replayed", "true");
      break;
    case IdempotencyCache::Outcome::kInProgress:
      resp = HttpResponse::Error(409, "conflict",
                                 "a request with this Idempotency-Key is still being processed; "
                                 "retry when it has finished");
      break;
    case IdempotencyCache::Outcome::kMismatch:
      resp = HttpResponse::Error(422, "invalid_argument",
                                 "this Idempotency-Key was used with a different request; use a "
                                 "new key for a new request");
      break;
    case IdempotencyCache::Outcome::kNew: {
      resp = co_await ProduceOnce(req);
      // Done answers are kept for replays; ones worth retrying (429, 5xx) free the key.
      if (resp.status == 429 || resp.status >= 500) {
        idempotency_.Abandon(scope, key);
      } else {
        idempotency_.Complete(scope, key, resp);
      }
      break;
    }
  }
  co_return resp;
}

Task<HttpResponse> RestApi::Fetch(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, true);
  if (!st.ok()) co_return HttpResponse::Error(st);
  auto partition = internal::ParsePartition(req.Param("partition"));
  if (!partition.ok()) co_return HttpResponse::Error(partition.status());
  auto offset = internal::IntParam(req, "offset", 0, INT64_MAX);
  if (!offset.ok()) co_return HttpResponse::Error(offset.status());
  auto since = internal::TimeParam(req, "since");
  if (!since.ok()) co_return HttpResponse::Error(since.status());
  auto max = internal::IntParam(req, "max", 1, options_.max_fetch_max);
  if (!max.ok()) co_return HttpResponse::Error(max.status());
  auto wait = internal::IntParam(req, "wait_ms", 0, options_.max_wait_ms);
  if (!wait.ok()) co_return HttpResponse::Error(wait.status());
  if (offset->has_value() && since->has_value()) {
    co_return HttpResponse::Error(InvalidArgument("give either offset or since, not both"));
  }
  model::TopicPartition tp{topic, model::PartitionId(*partition)};
  model::Offset from;
  if (offset->has_value()) {
    from = model::Offset(**offset);
  } else if (since->has_value()) {
    auto o = co_await log->OffsetForTimestamp(tp, **since);
    if (!o.ok()) co_return HttpResponse::Error(o.status());
    from = *o;
  } else {
    auto d = co_await log->DescribeTopic(topic);
    if (!d.ok()) co_return HttpResponse::Error(d.status());
    if (*partition >= static_cast<int32_t>(d->partitions.size())) {
      co_return HttpResponse::Error(NotFound("topic {} has no partition {}", topic, *partition));
    }
    from = d->partitions[*partition].log_start_offset;
  }
  storage::ReadOptions ro;
  ro.max_records = static_cast<int32_t>(max->value_or(options_.default_fetch_max));
  // Long polls wait in slices so a stopping server answers them (empty) within a slice.
  constexpr int32_t kWaitSliceMs = 250;
  auto wait_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait->value_or(0));
  Result<storage::ReadResult> r;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    wait_until - std::chrono::steady_clock::now())
                    .count();
    ro.wait_ms = static_cast<int32_t>(std::clamp<int64_t>(left, 0, kWaitSliceMs));
    r = co_await log->Read(tp, from, ro);
    if (!r.ok() || !r->batches.empty() || r->high_watermark > from || ro.wait_ms == 0 ||
        stopping_.load()) {
      break;
    }
  }
  if (!r.ok()) {
    if (r.status().code() == ErrorCode::kOutOfRange) {
      auto d = co_await log->DescribeTopic(topic);
      if (d.ok() && *partition < static_cast<int32_t>(d->partitions.size())) {
        const auto& pi = d->partitions[*partition];
        co_return HttpResponse::Error(
            OutOfRange("offset {} is out of range for {}: log_start_offset is {}, "
                       "high_watermark is {}",
                       from.value(), fmt::format("{}", tp), pi.log_start_offset.value(),
                       pi.high_watermark.value()));
      }
    }
    co_return HttpResponse::Error(r.status());
  }
  JsonWriter w;
  std::unique_ptr<codec::JsonParser> own_parser;
  codec::JsonParser& parser = ShardParser(own_parser);  // not used across a co_await
  w.BeginObject().Key("events").BeginArray();
  model::Offset next = r->next_offset;
  bool any = false;
  const bool tally_ids = publisher_.records_consumers();
  SchemaIdTally ids;
  st = r->ForEachRecord([&](const model::RecordView& rec) {
    any = true;
    next = rec.offset + 1;
    if (tally_ids) ids.Add(rec.value);
    w.BeginObject();
    internal::WriteRecordFields(w, parser, rec);
    w.EndObject();
  });
  if (!st.ok()) co_return HttpResponse::Error(st);
  publisher_.RecordConsumed(topic, req.principal != nullptr ? req.principal->name : "anonymous",
                            ids);
  if (!any && next < from) next = from;
  w.EndArray();
  w.Field("next_offset", next.value());
  w.Field("high_watermark", r->high_watermark.value());
  w.Field("log_start_offset", r->log_start_offset.value());
  w.EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

}  // namespace sluice::gateway
