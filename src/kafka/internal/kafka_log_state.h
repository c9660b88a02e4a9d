// KafkaLog::State: everything a KafkaLog owns (clients, threads, caches), shared by the .cc
// files that implement its data path, group offsets and admin calls.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kafka/internal/completion.h"
#include "kafka/internal/rdkafka_util.h"
#include "kafka/kafka_log.h"

namespace sluice::kafka {

// A consumer used for one Read at a time. It stays assigned between reads: when the next read
// asks for `position` of the same partition its records are often already fetched.
struct ReadConsumer {
  internal::Handle rk;
  std::optional<model::TopicPartition> assigned;
  int64_t position = -1;  // next offset the local queue delivers for `assigned`
};

// A consumer configured with group.id, used only to commit and fetch that group's offsets.
struct GroupClient {
  internal::Handle rk;
  uint64_t last_use = 0;
};

// Per-Append bookkeeping shared with librdkafka's delivery-report callback.
// Invariant: `self` keeps the state alive while any message is in flight (remaining > 0).
struct AppendState {
  struct Slot {
    AppendState* owner = nullptr;
    int64_t offset = -1;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string errstr;
    int64_t timestamp = -1;
    rd_kafka_timestamp_type_t ts_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  };
  explicit AppendState(size_t n) : slots(n), remaining(n) {
    for (auto& s : slots) s.owner = this;
  }
  // Marks k more messages as settled; signals `done` when none are left.
  void Settle(size_t k) {
    std::shared_ptr<AppendState> keep;
    {
      std::lock_guard lock(mu);
      remaining -= k;
      if (remaining == 0) keep = std::move(self);
    }
    if (keep) done.Signal();
  }
  std::vector<Slot> slots;
  std::mutex mu;
  size_t remaining;
  std::shared_ptr<AppendState> self;
  internal::Completion done;
};

struct KafkaLog::State {
  State(KafkaLogOptions o, runtime::Shards& s) : options(std::move(o)), shards(s) {}

  // Runs fn() (returning Status or Result<T>) on an io thread; resumes on the caller's
  // executor. Fails with kUnavailable when stopping or when max_pending_io calls are queued.
  //
  // Call it with a named lambda, `auto work = [...] {...}; co_await RunIo(std::move(work));`:
  // GCC 12 destroys a capturing lambda temporary in a co_await expression twice. For the same
  // reason RunIo is not a coroutine and takes fn by reference; co_spawn moves it into the new
  // coroutine's frame.
  template <typename Fn>
  auto RunIo(Fn&& fn) -> Task<decltype(fn())> {
    using R = decltype(fn());
    const bool full = pending_io.fetch_add(1) >= options.max_pending_io;
    if (full || stopping.load()) {
      pending_io.fetch_sub(1);
      // Rejected without queueing behind the io threads (which are gone once stopped).
      return asio::co_spawn(
          asio::system_executor(),
          [full, limit = options.max_pending_io]() -> Task<R> {
            if (!full) co_return R(Unavailable("kafka log is stopping"));
            co_return R(Unavailable("kafka log: {} blocking calls queued (max_pending_io)", limit));
          },
          asio::use_awaitable);
    }
    return asio::co_spawn(
        io->get_executor(),
        [this, f = std::forward<Fn>(fn)]() mutable -> Task<R> {
          R r = stopping.load() ? R(Unavailable("kafka log is stopping")) : f();
          pending_io.fetch_sub(1);
          co_return r;
        },
        asio::use_awaitable);
  }

  // Properties shared by every client: bootstrap servers, then the user's properties.
  std::map<std::string, std::string> BaseProperties() const;

  // --- metadata (kafka_log.cc) ---
  // Fetches the list of every topic (never names one: brokers that auto-create topics on a
  // named metadata request, such as the mock, would create it). Blocking.
  Status RefreshTopics();
  // Checks that tp exists, from the cache or after one refresh. kNotFound when it does not.
  Task<Status> CheckPartition(const model::TopicPartition& tp);
  Task<Result<int32_t>> PartitionCount(const std::string& topic);
  void ForgetTopic(const std::string& topic);
  // Full metadata of every topic. Blocking.
  Result<internal::Metadata> AllMetadata();

  // --- read consumers (kafka_log_read.cc) ---
  Result<std::unique_ptr<ReadConsumer>> AcquireConsumer(const model::TopicPartition& tp,
                                                        int64_t offset);
  void ReleaseConsumer(std::unique_ptr<ReadConsumer> c);
  Result<storage::ReadResult> ReadBlocking(const model::TopicPartition& tp, model::Offset offset,
                                           const storage::ReadOptions& opts);
  Result<std::shared_ptr<GroupClient>> Group(const std::string& group);

  // --- admin helpers (kafka_log_admin.cc) ---
  // Waits for the result event of an admin call on q. Blocking.
  Result<internal::Event> AwaitAdmin(rd_kafka_queue_t* q, rd_kafka_event_type_t type,
                                     std::string_view what);
  // Topic configs as TopicConfig (only the keys Kafka has), plus the raw dynamic entries.
  Status DescribeConfigs(const std::vector<std::string>& topics,
                         std::map<std::string, storage::TopicConfig>& configs,
                         std::map<std::string, std::map<std::string, std::string>>* dynamic);
  Result<storage::TopicDescription> DescribeBlocking(const std::string& name);

  KafkaLogOptions options;
  runtime::Shards& shards;

  internal::Handle producer;
  std::thread poll_thread;
  std::atomic<bool> stop_poll{false};
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::unique_ptr<asio::thread_pool> io;
  std::atomic<int> pending_io{0};

  std::mutex md_mu;
  std::map<std::string, int32_t> topics;  // name -> partition count
  std::chrono::steady_clock::time_point topics_time;
  bool topics_valid = false;

  std::mutex pool_mu;
  std::vector<std::unique_ptr<ReadConsumer>> idle;

  std::mutex group_mu;
  std::map<std::string, std::shared_ptr<GroupClient>> groups;
  uint64_t group_clock = 0;
};

// Kafka topic-config names for the TopicConfig keys that have one.
const std::map<std::string, std::string>& KafkaConfigNames();

}  // namespace sluice::kafka
