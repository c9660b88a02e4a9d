// Publisher: checks, partitions and appends one request's events. See publisher.h.
#include "gateway/publisher.h"

#include <algorithm>
#include <memory>

#include "base/clock.h"
#include "model/partitioner.h"
#include "model/record_batch.h"

namespace sluice::gateway {

namespace {

// Upper bound of one record's encoded size inside a RecordBatch v2 (varints at their maximum).
size_t RecordBound(const model::ProduceRecord& r) {
  size_t n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
  if (r.key) n += r.key->size();
  if (r.value) n += r.value->size();
  for (const auto& h : r.headers) n += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

// Events of one partition split into batches under the topic's batch limit (indexes into the
// request's events), appended in order.
struct Chunk {
  std::vector<size_t> indexes;
};
using PartitionChunks = std::map<int32_t, std::vector<Chunk>>;

PartitionChunks GroupIntoChunks(const std::vector<PublishEvent>& events,
                                const std::vector<size_t>& bounds,
                                const std::vector<uint8_t>& skip, size_t batch_limit) {
  PartitionChunks per_partition;
  std::map<int32_t, size_t> chunk_bytes;
  for (size_t i = 0; i < events.size(); ++i) {
    if (skip[i] != 0) continue;
    int32_t p = events[i].partition;
    auto& chunks = per_partition[p];
    size_t& bytes = chunk_bytes[p];
    if (chunks.empty() ||
        bytes + bounds[i] + model::batch_layout::kHeaderSize > batch_limit) {
      chunks.emplace_back();
      chunks.back().indexes.reserve(events.size() - i);
      bytes = 0;
    }
    chunks.back().indexes.push_back(i);
    bytes += bounds[i];
  }
  return per_partition;
}

// Appends one partition's chunks in order, recording each event's offset. A failed chunk fails
// it and every later chunk of the partition (their order would break otherwise).
Task<Status> AppendChunks(storage::Log* log, const std::string* topic, int32_t p,
                          const std::vector<Chunk>* chunks, std::vector<PublishEvent>* events,
                          PublishOutcome* out) {
  for (const Chunk& c : *chunks) {
    std::vector<model::ProduceRecord> records;
    records.reserve(c.indexes.size());
    for (size_t i : c.indexes) records.push_back(std::move((*events)[i].record));
    auto r = co_await log->Append(model::TopicPartition{*topic, model::PartitionId(p)},
                                  std::move(records));
    if (!r.ok()) co_return r.status().WithContext(fmt::format("partition {}", p));
    for (size_t k = 0; k < c.indexes.size(); ++k) {
      out->offsets[c.indexes[k]] = r->base_offset + static_cast<int64_t>(k);
    }
  }
  co_return Status::Ok();
}

// Runs every task concurrently on the calling shard's executor and waits for all.
template <typename T>
Task<std::vector<T>> WhenAll(std::vector<std::function<Task<T>()>> fns) {
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

// Appends every partition's chunks, partitions in parallel. Returns one status per partition
// (in per_partition's order).
Task<std::vector<Status>> AppendAll(storage::Log* log, const std::string* topic,
                                    const PartitionChunks* per_partition,
                                    std::vector<PublishEvent>* events, PublishOutcome* out) {
  if (per_partition->size() == 1) {
    const auto& [p, chunks] = *per_partition->begin();
    Status st = co_await AppendChunks(log, topic, p, &chunks, events, out);
    std::vector<Status> one;
    one.push_back(std::move(st));
    co_return one;
  }
  std::vector<std::function<Task<Status>()>> tasks;
  for (const auto& [p, chunks] : *per_partition) {
    tasks.push_back([=, p = p, chunks = &chunks]() {
      return AppendChunks(log, topic, p, chunks, events, out);
    });
  }
  co_return co_await WhenAll<Status>(std::move(tasks));
}

// Releases the request's bytes from the in-flight budget when the publish ends.
class InflightGuard {
 public:
  InflightGuard(std::atomic<int64_t>& counter, int64_t bytes) : counter_(counter), bytes_(bytes) {}
  ~InflightGuard() { counter_.fetch_sub(bytes_, std::memory_order_relaxed); }
  InflightGuard(const InflightGuard&) = delete;
  InflightGuard& operator=(const InflightGuard&) = delete;

 private:
  std::atomic<int64_t>& counter_;
  int64_t bytes_;
};

}  // namespace

Publisher::Publisher(PublisherOptions options) : options_(options) {}

Status Publisher::ValidateValue(std::string_view topic, std::string_view value,
                                int32_t* id) const {
  if (!value_validator_) {
    return Unavailable("topic '{}' requires schema validation and the schema registry is off",
                       topic);
  }
  Status st = value_validator_(topic, value, id);
  if (st.code() == ErrorCode::kNotFound) {
    return FailedPrecondition("topic '{}' requires schema validation: {}", topic, st.message());
  }
  if (!st.ok()) {
    return InvalidArgument("does not match the schema of subject '{}-value': {}", topic,
                           st.message());
  }
  return Status::Ok();
}

Task<Result<Publisher::TopicMeta>> Publisher::GetTopicMeta(const std::string& topic) {
  if (auto cached = CachedTopicMeta(topic)) co_return *cached;
  storage::Log* log = log_.load();
  if (log == nullptr) co_return Unavailable("the event store is not open");
  auto now = CoarseSteadyNow();
  auto d = co_await log->DescribeTopic(topic);
  if (!d.ok()) co_return d.status();
  TopicMeta m;
  m.partitions = static_cast<int32_t>(d->partitions.size());
  if (m.partitions == 0) m.partitions = d->config.partitions;
  m.max_message_bytes = d->config.max_message_bytes;
  m.validate_values = d->config.value_schema_validation;
  if (d->config.dead_letter_invalid) {
    m.dead_letter_topic =
        d->config.dead_letter_topic.empty() ? topic + ".dlq" : d->config.dead_letter_topic;
  }
  m.fetched = now;
  std::lock_guard lock(meta_mu_);
  meta_[topic] = m;
  co_return m;
}

std::optional<Publisher::TopicMeta> Publisher::CachedTopicMeta(const std::string& topic) {
  auto now = CoarseSteadyNow();
  std::lock_guard lock(meta_mu_);
  auto it = meta_.find(topic);
  if (it != meta_.end() && now - it->second.fetched < std::chrono::seconds(1)) {
    return it->second;
  }
  return std::nullopt;
}

void Publisher::ForgetTopic(const std::string& topic) {
  std::lock_guard lock(meta_mu_);
  meta_.erase(topic);
}

Task<Result<PublishOutcome>> Publisher::Publish(const std::string& topic,
                                                std::vector<PublishEvent>& events,
                                                PublishOptions options) {
  storage::Log* log = log_.load();
  if (log == nullptr) co_return Unavailable("the event store is not open");
  if (events.empty()) co_return InvalidArgument("no events in request");
  Result<TopicMeta> meta;
  if (auto cached = CachedTopicMeta(topic)) {
    meta = *cached;
  } else {
    meta = co_await GetTopicMeta(topic);
  }
  if (!meta.ok()) co_return meta.status();

  PublishOutcome out;
  out.partitions.resize(events.size());
  out.offsets.assign(events.size(), model::Offset(-1));  // -1: not appended
  auto fail = [&](size_t i, Status st) -> Status {
    if (!options.per_event_errors) return st;
    out.errors.emplace(i, std::move(st));
    return Status::Ok();
  };
  const size_t batch_limit = static_cast<size_t>(std::max(meta->max_message_bytes, 1024));
  // Keyless events of one request stick to one partition (one append), rotating per request.
  // Prefer a partition this shard owns (no hop to another thread); as with Kafka's sticky
  // partitioner, keyless events promise no particular partition. The rotation is per thread:
  // with one counter for all, connections that alternate between two shards gave each shard
  // seeds of one parity, and a shard owning two partitions of a topic used only one of them.
  thread_local uint64_t keyless_rotation = 0;
  const uint64_t seed = keyless_rotation++;
  const auto local = log->LocalPartition(topic, meta->partitions, seed);
  const auto sticky =
      local ? local->value() : static_cast<int32_t>(seed % static_cast<uint64_t>(meta->partitions));
  std::vector<size_t> bounds(events.size());
  int64_t request_bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    bounds[i] = RecordBound(e.record);
    request_bytes += static_cast<int64_t>(bounds[i]);
    Status st;
    if (e.partition >= meta->partitions) {
      st = InvalidArgument("event {}: partition {} does not exist; topic {} has {} partitions", i,
                           e.partition, topic, meta->partitions);
    } else if (bounds[i] + model::batch_layout::kHeaderSize > batch_limit) {
      st = ResourceExhausted("event {} is too large for topic {} (max_message_bytes {})", i,
                             topic, batch_limit);
    } else if (meta->validate_values) {
      int32_t id = 0;
      if (!e.record.value) {
        st = InvalidArgument("event {}: a null value cannot match a schema", i);
      } else {
        st = ValidateValue(topic, *e.record.value, &id);
        if (st.ok() && e.record.key && key_validator_) {
          // Keys are checked when the subject "<topic>-key" has a schema (TopicNameStrategy).
          Status kst = key_validator_(topic, *e.record.key);
          if (!kst.ok() && kst.code() != ErrorCode::kNotFound) {
            st = kst.code() == ErrorCode::kInvalidArgument
                     ? InvalidArgument("key does not match the schema of subject '{}-key': {}",
                                       topic, kst.message())
                     : kst;
          }
        }
        if (st.ok()) {
          if (out.schema_ids.empty() || out.schema_ids.back().first != id) {
            out.schema_ids.emplace_back(id, 0);
          }
          out.schema_ids.back().second++;
        } else if (st.code() == ErrorCode::kInvalidArgument) {
          if (!meta->dead_letter_topic.empty() && !options.internal) {
            out.dead_lettered.emplace(
                i, PublishOutcome::DeadLetter{
                       meta->dead_letter_topic,
                       st.message().starts_with("key ") ? st.message()
                                                        : fmt::format("value {}", st.message())});
            continue;
          }
          st = st.message().starts_with("key ")
                   ? InvalidArgument("event {}: {}", i, st.message())
                   : InvalidArgument("event {} {}", i, st.message());
        } else {
          co_return st;  // no schema / registry off: the whole topic is refused
        }
      }
    }
    if (!st.ok()) {
      st = fail(i, std::move(st));
      if (!st.ok()) co_return st;
      continue;
    }
    if (e.partition < 0) {
      e.partition = e.record.key ? model::PartitionForKey(*e.record.key, meta->partitions) : sticky;
    }
    out.partitions[i] = e.partition;
  }
  if (out.errors.size() == events.size()) co_return std::move(out);

  if (limiter_ != nullptr && limiter_->enabled() && !options.internal) {
    int64_t payload = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      payload += static_cast<int64_t>(EventPayloadBytes(events[i].record));
    }
    RateDecision d;
    std::string_view who = options.rate_key.empty() ? options.principal : options.rate_key;
    const auto n = static_cast<int64_t>(events.size());
    if (!limiter_->Take(who, topic, n, payload, SystemClock::Instance().MonotonicNs(), &d)) {
      Status st = ResourceExhausted("rate limit of {} exceeded; retry in {} s", d.scope,
                                    d.retry_after_s);
      if (options.rate_decision != nullptr) *options.rate_decision = std::move(d);
      co_return st;
    }
    if (options.rate_decision != nullptr) *options.rate_decision = std::move(d);
  }

  // Bounded memory: refuse rather than queue when too much is already being appended.
  int64_t before = inflight_bytes_.fetch_add(request_bytes, std::memory_order_relaxed);
  InflightGuard guard(inflight_bytes_, request_bytes);
  if (before > 0 && before + request_bytes > options_.max_inflight_bytes) {
    co_return Unavailable("the event store is busy ({} bytes being appended); retry shortly",
                          before);
  }

  // Dead letters first: if the main append then fails the client retries, and the worst case
  // is a repeated dead letter, never an accepted event without its dead letter.
  if (!out.dead_lettered.empty()) {
    Status st = co_await AppendDeadLetters(topic, events, out);
    if (!st.ok()) co_return st;
  }

  // Fast path (single events, keyless or same-key batches): every event to one partition and
  // within one batch — one Append, no grouping structures.
  if (out.errors.empty() && out.dead_lettered.empty()) {
    const int32_t p0 = events[0].partition;
    size_t total = model::batch_layout::kHeaderSize;
    bool one = true;
    for (size_t i = 0; i < events.size() && one; ++i) {
      total += bounds[i];
      one = events[i].partition == p0 && total <= batch_limit;
    }
    if (one) {
      std::vector<model::ProduceRecord> records;
      records.reserve(events.size());
      for (auto& e : events) records.push_back(std::move(e.record));
      model::TopicPartition tp{topic, model::PartitionId(p0)};
      auto r = co_await log->Append(tp, std::move(records));
      if (!r.ok()) {
        if (r.status().code() == ErrorCode::kNotFound) ForgetTopic(topic);
        Status st = r.status().WithContext(fmt::format("partition {}", p0));
        if (!options.per_event_errors) co_return st;
        for (size_t i = 0; i < events.size(); ++i) out.errors.emplace(i, st);
        co_return std::move(out);
      }
      for (size_t i = 0; i < events.size(); ++i) {
        out.offsets[i] = r->base_offset + static_cast<int64_t>(i);
      }
      if (lineage_) {
        for (const auto& [id, n] : out.schema_ids) lineage_(topic, id, n, options.principal);
      }
      co_return std::move(out);
    }
  }

  std::vector<uint8_t> skip(events.size(), 0);
  for (const auto& [i, st] : out.errors) skip[i] = 1;
  for (const auto& [i, d] : out.dead_lettered) skip[i] = 1;
  PartitionChunks per_partition = GroupIntoChunks(events, bounds, skip, batch_limit);
  auto results = co_await AppendAll(log, &topic, &per_partition, &events, &out);
  size_t k = 0;
  for (const auto& [p, chunks] : per_partition) {
    Status& st = results[k++];
    if (st.ok()) continue;
    if (st.code() == ErrorCode::kNotFound) ForgetTopic(topic);
    if (!options.per_event_errors) co_return std::move(st);
    for (const Chunk& c : chunks) {
      for (size_t i : c.indexes) {
        if (out.offsets[i].value() < 0 && out.errors.count(i) == 0 &&
            out.dead_lettered.count(i) == 0) {
          out.errors.emplace(i, st);
        }
      }
    }
  }
  if (lineage_) {
    for (const auto& [id, n] : out.schema_ids) lineage_(topic, id, n, options.principal);
  }
  co_return std::move(out);
}

Task<Status> Publisher::AppendDeadLetters(const std::string& topic,
                                          std::vector<PublishEvent>& events,
                                          PublishOutcome& out) {
  const std::string& dlq = out.dead_lettered.begin()->second.topic;
  std::vector<PublishEvent> letters;
  letters.reserve(out.dead_lettered.size());
  for (const auto& [i, d] : out.dead_lettered) {
    PublishEvent e;
    e.record = events[i].record;  // unchanged, plus why and from where
    e.record.headers.push_back(model::Header{"sluice-dlq-reason", d.reason});
    e.record.headers.push_back(model::Header{"sluice-dlq-topic", topic});
    letters.push_back(std::move(e));
  }
  auto meta = co_await GetTopicMeta(dlq);
  if (!meta.ok() && meta.status().code() == ErrorCode::kNotFound) {
    // Created on first use with one partition and the store's defaults (documented).
    storage::Log* log = log_.load();
    if (log == nullptr) co_return Unavailable("the event store is not open");
    storage::TopicConfig config = options_.dead_letter_topic_config;
    config.partitions = 1;
    Status created = co_await log->CreateTopic(dlq, config);
    if (!created.ok() && created.code() != ErrorCode::kAlreadyExists) {
      co_return created.WithContext(fmt::format("creating dead-letter topic {}", dlq));
    }
  }
  PublishOptions internal;
  internal.internal = true;
  auto r = co_await Publish(dlq, letters, internal);
  if (!r.ok()) co_return r.status().WithContext(fmt::format("dead-letter topic {}", dlq));
  size_t k = 0;
  for (auto& [i, d] : out.dead_lettered) {
    out.partitions[i] = letters[k].partition;
    out.offsets[i] = r->offsets[k];
    ++k;
  }
  co_return Status::Ok();
}

}  // namespace sluice::gateway
