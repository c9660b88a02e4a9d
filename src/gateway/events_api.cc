// RestApi produce and fetch: parsing events (plain JSON, arrays, NDJSON, envelopes), validating
// the whole request before anything is appended, partitioning, one Append per partition (in
// parallel across partitions) and rendering fetched records.
#include <algorithm>
#include <chrono>
#include <memory>

#include "codec/json_parser.h"
#include "gateway/internal/api_util.h"
#include "gateway/partitioner.h"
#include "gateway/rest_api.h"

namespace sluice::gateway {

using codec::JsonValue;
using codec::JsonWriter;

namespace {

struct PendingEvent {
  model::ProduceRecord record;
  int32_t partition = -1;  // -1: not chosen yet
  size_t bound_bytes = 0;  // upper bound of its encoded size in a batch
};

// Upper bound of one record's encoded size inside a RecordBatch v2 (varints at their maximum).
size_t RecordBound(const model::ProduceRecord& r) {
  size_t n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
  if (r.key) n += r.key->size();
  if (r.value) n += r.value->size();
  for (const auto& h : r.headers) n += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

size_t EventBytes(const model::ProduceRecord& r) {
  size_t n = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& h : r.headers) n += h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

// Builds one event from a parsed JSON value; `where` names it in errors ("event 3").
Status ToEvent(const JsonValue& v, bool envelope, const std::string& where, PendingEvent& out) {
  if (!envelope) {
    out.record.value = v.ToJson();
    return Status::Ok();
  }
  if (!v.is_object()) {
    return InvalidArgument("{}: with envelope=true each event must be an object with "
                           "\"value\" and optional \"key\", \"headers\", \"timestamp\", "
                           "\"partition\"", where);
  }
  for (const auto& [k, f] : v.members()) {
    if (k == "value") {
      if (!f.is_null()) out.record.value = f.ToJson();
    } else if (k == "key") {
      if (f.is_string()) {
        out.record.key = f.text();
      } else if (!f.is_null()) {
        out.record.key = f.ToJson();
      }
    } else if (k == "headers") {
      if (!f.is_object() && !f.is_null()) {
        return InvalidArgument("{}: \"headers\" must be an object of strings", where);
      }
      for (const auto& [hk, hv] : f.members()) {
        if (hv.is_null()) {
          out.record.headers.push_back(model::Header{hk, std::nullopt});
        } else if (hv.is_string()) {
          out.record.headers.push_back(model::Header{hk, hv.text()});
        } else {
          return InvalidArgument("{}: header '{}' must be a string or null", where, hk);
        }
      }
    } else if (k == "timestamp") {
      auto ts = f.AsInt64();
      if (!ts || *ts < 0) {
        return InvalidArgument("{}: \"timestamp\" must be a non-negative integer (ms since "
                               "the epoch)", where);
      }
      out.record.timestamp = *ts;
    } else if (k == "partition") {
      auto p = f.AsInt64();
      if (!p || *p < 0 || *p > INT32_MAX) {
        return InvalidArgument("{}: \"partition\" must be a non-negative integer", where);
      }
      out.partition = static_cast<int32_t>(*p);
    } else {
      return InvalidArgument("{}: unknown envelope field '{}'; expected key, value, headers, "
                             "timestamp, partition", where, k);
    }
  }
  return Status::Ok();
}

// Runs every task concurrently on the calling shard's executor and waits for all.
template <typename T>
Task<std::vector<T>> WhenAll(std::vector<std::function<Task<T>()>> fns) {
  if (fns.size() == 1) {
    std::vector<T> one;
    one.push_back(co_await fns[0]());
    co_return one;
  }
  auto ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(asio::any_io_executor e, size_t n) : results(n), remaining(n), timer(e) {}
    std::vector<T> results;
    size_t remaining;
    asio::steady_timer timer;
  };
  auto st = std::make_shared<State>(ex, fns.size());
  st->timer.expires_at(asio::steady_timer::time_point::max());
  for (size_t i = 0; i < fns.size(); ++i) {
    asio::co_spawn(
        ex,
        [st, i, fn = std::move(fns[i])]() -> Task<void> {
          try {
            st->results[i] = co_await fn();
          } catch (const std::exception& e) {
            st->results[i] = T(Internal("append failed: {}", e.what()));
          }
          if (--st->remaining == 0) st->timer.cancel();
        },
        asio::detached);
  }
  while (st->remaining > 0) {
    boost::system::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(st->results);
}

}  // namespace

Task<HttpResponse> RestApi::Produce(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return HttpResponse::Error(st);
  std::string mt = req.MediaType();
  bool ndjson = internal::IsNdjsonMediaType(mt);
  if (!ndjson && !internal::IsJsonMediaType(mt)) {
    co_return internal::UnsupportedMediaType(req, "application/json or application/x-ndjson");
  }
  auto env = req.Query("envelope");
  if (env && *env != "true" && *env != "false") {
    co_return HttpResponse::Error(InvalidArgument("envelope must be true or false"));
  }
  bool envelope = env && *env == "true";

  // 1. Parse and validate everything before touching the log.
  std::vector<PendingEvent> events;
  codec::JsonParser parser;
  auto push = [&](PendingEvent e, const std::string& where) -> Status {
    if (events.size() >= static_cast<size_t>(options_.max_events_per_request)) {
      return ResourceExhausted("more than {} events in one request",
                               options_.max_events_per_request);
    }
    size_t bytes = EventBytes(e.record);
    if (bytes > static_cast<size_t>(options_.max_event_bytes)) {
      return ResourceExhausted("{} is {} bytes; the limit is {} bytes", where, bytes,
                               options_.max_event_bytes);
    }
    e.bound_bytes = RecordBound(e.record);
    events.push_back(std::move(e));
    return Status::Ok();
  };
  auto add = [&](const JsonValue& v, const std::string& where) -> Status {
    PendingEvent e;
    SLUICE_RETURN_IF_ERROR(ToEvent(v, envelope, where, e));
    return push(std::move(e), where);
  };
  // Plain events need no tree: validate and minify in one SIMD pass.
  auto add_text = [&](std::string value, const std::string& where) -> Status {
    PendingEvent e;
    e.record.value = std::move(value);
    return push(std::move(e), where);
  };
  if (ndjson) {
    std::string_view body = req.body;
    size_t line_no = 0;
    while (!body.empty()) {
      ++line_no;
      auto nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      std::string where = fmt::format("line {}", line_no);
      if (!envelope) {
        auto m = parser.Minify(line);
        if (!m.ok()) co_return HttpResponse::Error(m.status().WithContext(where));
        st = add_text(std::move(m->text), where);
      } else {
        auto v = parser.Parse(line);
        if (!v.ok()) co_return HttpResponse::Error(v.status().WithContext(where));
        st = add(*v, where);
      }
      if (!st.ok()) co_return HttpResponse::Error(st);
    }
  } else if (!envelope) {
    auto m = parser.Minify(req.body);
    if (!m.ok()) co_return HttpResponse::Error(m.status().WithContext("request body"));
    if (!m->is_array) {
      st = add_text(std::move(m->text), "event 0");
      if (!st.ok()) co_return HttpResponse::Error(st);
    } else {
      auto v = parser.Parse(m->text);
      if (!v.ok()) co_return HttpResponse::Error(v.status().WithContext("request body"));
      for (size_t i = 0; i < v->items().size(); ++i) {
        st = add(v->items()[i], fmt::format("event {}", i));
        if (!st.ok()) co_return HttpResponse::Error(st);
      }
    }
  } else {
    auto v = parser.Parse(req.body);
    if (!v.ok()) co_return HttpResponse::Error(v.status().WithContext("request body"));
    if (v->is_array()) {
      for (size_t i = 0; i < v->items().size(); ++i) {
        st = add(v->items()[i], fmt::format("event {}", i));
        if (!st.ok()) co_return HttpResponse::Error(st);
      }
    } else {
      st = add(*v, "event 0");
      if (!st.ok()) co_return HttpResponse::Error(st);
    }
  }
  if (events.empty()) co_return HttpResponse::Error(InvalidArgument("no events in request"));

  auto meta = co_await GetTopicMeta(*log, topic);
  if (!meta.ok()) co_return HttpResponse::Error(meta.status());
  const int32_t partitions = meta->partitions;
  const size_t batch_limit = static_cast<size_t>(std::max(meta->max_message_bytes, 1024));
  // Keyless events of one request stick to one partition (one append), rotating per request.
  const auto sticky = static_cast<int32_t>(sticky_.fetch_add(1) % static_cast<uint64_t>(partitions));
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (e.partition >= partitions) {
      co_return HttpResponse::Error(InvalidArgument(
          "event {}: partition {} does not exist; topic {} has {} partitions", i, e.partition,
          topic, partitions));
    }
    if (e.partition < 0) {
      e.partition = e.record.key ? PartitionForKey(*e.record.key, partitions) : sticky;
    }
    if (e.bound_bytes + model::batch_layout::kHeaderSize > batch_limit) {
      co_return HttpResponse::Error(ResourceExhausted(
          "event {} is too large for topic {} (max_message_bytes {})", i, topic, batch_limit));
    }
  }

  // 2. Group per partition, split into batches under the topic's batch limit.
  struct Chunk {
    int32_t partition;
    std::vector<size_t> indexes;
  };
  std::map<int32_t, std::vector<Chunk>> per_partition;
  std::map<int32_t, size_t> chunk_bytes;
  for (size_t i = 0; i < events.size(); ++i) {
    int32_t p = events[i].partition;
    auto& chunks = per_partition[p];
    size_t& bytes = chunk_bytes[p];
    if (chunks.empty() ||
        bytes + events[i].bound_bytes + model::batch_layout::kHeaderSize > batch_limit) {
      chunks.push_back(Chunk{p, {}});
      bytes = 0;
    }
    chunks.back().indexes.push_back(i);
    bytes += events[i].bound_bytes;
  }

  // 3. Append: partitions in parallel, chunks of one partition in order.
  std::vector<std::function<Task<Status>()>> tasks;
  std::vector<model::Offset> offsets(events.size());
  for (auto& [p, chunks] : per_partition) {
    tasks.push_back([log, topic, p = p, chunks = &chunks, &events, &offsets]() -> Task<Status> {
      for (const Chunk& c : *chunks) {
        std::vector<model::ProduceRecord> records;
        records.reserve(c.indexes.size());
        for (size_t i : c.indexes) records.push_back(std::move(events[i].record));
        auto r = co_await log->Append(model::TopicPartition{topic, model::PartitionId(p)},
                                      std::move(records));
        if (!r.ok()) co_return r.status().WithContext(fmt::format("partition {}", p));
        for (size_t k = 0; k < c.indexes.size(); ++k) {
          offsets[c.indexes[k]] = r->base_offset + static_cast<int64_t>(k);
        }
      }
      co_return Status::Ok();
    });
  }
  auto results = co_await WhenAll<Status>(std::move(tasks));
  for (const auto& r : results) {
    if (!r.ok()) {
      if (r.code() == ErrorCode::kNotFound) ForgetTopic(topic);
      co_return HttpResponse::Error(r);
    }
  }
  JsonWriter w;
  w.BeginObject().Key("offsets").BeginArray();
  for (size_t i = 0; i < events.size(); ++i) {
    w.BeginObject().Field("partition", events[i].partition);
    w.Field("offset", offsets[i].value()).EndObject();
  }
  w.EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
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
  auto since = internal::IntParam(req, "since", 0, INT64_MAX);
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
      co_return HttpResponse::Error(
          NotFound("topic {} has no partition {}", topic, *partition));
    }
    from = d->partitions[*partition].log_start_offset;
  }
  storage::ReadOptions ro;
  ro.max_records = static_cast<int32_t>(max->value_or(options_.default_fetch_max));
  // Long polls wait in slices so a stopping server answers them (empty) within a slice.
  constexpr int32_t kWaitSliceMs = 250;
  auto wait_until = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(wait->value_or(0));
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
                       "high_watermark is {}", from.value(), fmt::format("{}", tp),
                       pi.log_start_offset.value(), pi.high_watermark.value()));
      }
    }
    co_return HttpResponse::Error(r.status());
  }
  JsonWriter w;
  codec::JsonParser parser;
  w.BeginObject().Key("events").BeginArray();
  model::Offset next = r->next_offset;
  bool any = false;
  st = r->ForEachRecord([&](const model::RecordView& rec) {
    any = true;
    next = rec.offset + 1;
    w.BeginObject();
    w.Field("offset", rec.offset.value());
    w.Field("timestamp", rec.timestamp);
    w.Key("key");
    if (rec.key) {
      w.String(*rec.key);
    } else {
      w.Null();
    }
    w.Key("value");
    if (!rec.value) {
      w.Null();
    } else if (parser.IsValid(*rec.value)) {
      w.Raw(*rec.value);
    } else {
      w.String(*rec.value);
    }
    w.Key("headers").BeginObject();
    for (const auto& h : rec.headers) {
      w.Key(h.key);
      if (h.value) {
        w.String(*h.value);
      } else {
        w.Null();
      }
    }
    w.EndObject();
    w.EndObject();
  });
  if (!st.ok()) co_return HttpResponse::Error(st);
  if (!any && next < from) next = from;
  w.EndArray();
  w.Field("next_offset", next.value());
  w.Field("high_watermark", r->high_watermark.value());
  w.Field("log_start_offset", r->log_start_offset.value());
  w.EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

}  // namespace sluice::gateway
