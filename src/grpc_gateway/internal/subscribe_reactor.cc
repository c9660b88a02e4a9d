// Subscribe: a server stream of a topic's events (from an offset, a time, the start, or live).
#include <algorithm>
#include <mutex>

#include "base/logging.h"
#include "grpc_gateway/internal/reactors.h"
#include "storage/log.h"

namespace sluice::grpc_gateway::internal {
namespace {

constexpr int32_t kDefaultEventsPerMessage = 500;
constexpr int32_t kMaxEventsPerMessage = 10000;
constexpr int64_t kMaxBytesPerMessage = 1 << 20;  // soft: one stored batch may exceed it
constexpr int32_t kLongPollMs = 200;              // also how quickly a cancel is noticed

// What the reading coroutine (on a shard) and the reactor's reactions (gRPC threads) share.
// Shared so that either side may outlive the other's last use of it.
struct SubscribeState {
  explicit SubscribeState(asio::io_context& io) : executor(io.get_executor()), wake(io) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::io_context::executor_type executor;
  asio::steady_timer wake;  // touched only on the shard; cancelled when a write ends
  std::mutex mu;
  bool write_done = false;  // guarded by mu
  bool write_ok = true;     // guarded by mu
  std::atomic<bool> cancelled{false};
};

// One Subscribe call. Created by gRPC's handler, deleted in OnDone. A coroutine on one shard
// reads the partitions in turn and writes one SubscribeResponse at a time, waiting for each
// write to complete before reading on (so a slow client holds at most one message here), then
// calls Finish; nothing touches the reactor after that.
class SubscribeReactor final : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  SubscribeReactor(ServiceContext& sc, grpc::CallbackServerContext* ctx,
                   const v1::SubscribeRequest* req)
      : sc_(sc), request_(*req) {
    auto p = sc_.Authenticate(*ctx);
    Status st = p.ok() ? sc_.Authorize(**p, auth_rbac::Action::kConsume, req->topic())
                       : p.status();
    if (st.ok() && req->topic().empty()) st = InvalidArgument("topic is required");
    if (st.ok() && (req->max_events_per_message() < 0 ||
                    req->max_events_per_message() > kMaxEventsPerMessage)) {
      st = InvalidArgument("max_events_per_message must be 0..{}", kMaxEventsPerMessage);
    }
    if (!st.ok()) {
      Finish(ToGrpcStatus(st));
      return;
    }
    principal_ = (*p)->name;
    auto& io = sc_.shards.context(sc_.NextShard());
    state_ = std::make_shared<SubscribeState>(io);
    auto task = [this]() -> Task<void> {
      Status end = co_await Run();
      Finish(ToGrpcStatus(end));
    };
    asio::co_spawn(io, std::move(task), [this](std::exception_ptr e) {
      if (!e) return;
      std::string what = "unknown error";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      logging::Get("grpc").error("subscribe failed: {}", what);
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, what));
    });
  }

  void OnWriteDone(bool ok) override {
    auto st = state_;
    {
      std::lock_guard lock(st->mu);
      st->write_done = true;
      st->write_ok = ok;
    }
    asio::post(st->executor, [st] { st->wake.cancel(); });
  }

  void OnCancel() override {
    if (!state_) return;
    auto st = state_;
    st->cancelled.store(true);
    asio::post(st->executor, [st] { st->wake.cancel(); });
  }

  void OnDone() override { delete this; }

 private:
  // Reads and writes until cancelled or an error; the status the call ends with.
  Task<Status> Run() {
    storage::Log* log = sc_.publisher.log();
    if (log == nullptr) co_return Unavailable("the event store is not open");
    const std::string topic = request_.topic();
    auto d = co_await log->DescribeTopic(topic);
    if (!d.ok()) co_return d.status();
    std::vector<int32_t> partitions(request_.partitions().begin(), request_.partitions().end());
    if (partitions.empty()) {
      for (const auto& p : d->partitions) partitions.push_back(p.partition.value());
    }
    std::vector<model::Offset> next;
    for (int32_t p : partitions) {
      auto info = std::find_if(d->partitions.begin(), d->partitions.end(),
                               [p](const storage::PartitionInfo& i) {
                                 return i.partition.value() == p;
                               });
      if (info == d->partitions.end()) {
        co_return InvalidArgument("partition {} does not exist; topic {} has {} partitions", p,
                                  topic, d->partitions.size());
      }
      switch (request_.start_case()) {
        case v1::SubscribeRequest::kOffset:
          next.push_back(model::Offset(request_.offset()));
          break;
        case v1::SubscribeRequest::kTimestampMs: {
          model::TopicPartition tp(topic, model::PartitionId(p));
          auto o = co_await log->OffsetForTimestamp(tp, request_.timestamp_ms());
          if (!o.ok()) co_return o.status();
          next.push_back(*o);
          break;
        }
        case v1::SubscribeRequest::kLatest:
          next.push_back(info->high_watermark);
          break;
        case v1::SubscribeRequest::kEarliest:
        case v1::SubscribeRequest::START_NOT_SET:
          next.push_back(info->log_start_offset);
          break;
      }
    }
    const int32_t per_message = request_.max_events_per_message() == 0
                                    ? kDefaultEventsPerMessage
                                    : request_.max_events_per_message();
    size_t turn = 0;
    int idle_rounds = 0;
    const bool tally_ids = sc_.publisher.records_consumers();
    while (!state_->cancelled.load()) {
      v1::SubscribeResponse out;
      int64_t bytes = 0;
      gateway::SchemaIdTally ids;
      // One pass over the partitions; the last one long-polls when everything was empty.
      for (size_t k = 0; k < partitions.size() && out.events_size() < per_message; ++k) {
        size_t i = (turn + k) % partitions.size();
        storage::ReadOptions ro;
        ro.max_records = per_message - out.events_size();
        ro.max_bytes = std::max<int64_t>(1, kMaxBytesPerMessage - bytes);
        ro.wait_ms = (idle_rounds > 0 && k + 1 == partitions.size() && out.events_size() == 0)
                         ? kLongPollMs
                         : 0;
        model::TopicPartition tp(topic, model::PartitionId(partitions[i]));
        auto r = co_await log->Read(tp, next[i], ro);
        if (!r.ok()) co_return r.status().WithContext(fmt::format("partition {}", partitions[i]));
        const int32_t p = partitions[i];
        Status st = r->ForEachRecord([&](const model::RecordView& rv) {
          v1::ConsumedEvent* e = out.add_events();
          e->set_partition(p);
          e->set_offset(rv.offset.value());
          e->set_timestamp_ms(rv.timestamp);
          if (rv.key) e->set_key(rv.key->data(), rv.key->size());
          if (rv.value) e->set_value(rv.value->data(), rv.value->size());
          if (tally_ids) ids.Add(rv.value);
          for (const auto& h : rv.headers) {
            v1::Header* hh = e->add_headers();
            hh->set_key(h.key.data(), h.key.size());
            if (h.value) hh->set_value(h.value->data(), h.value->size());
          }
          bytes += static_cast<int64_t>((rv.key ? rv.key->size() : 0) +
                                        (rv.value ? rv.value->size() : 0));
        });
        if (!st.ok()) co_return st;
        next[i] = r->next_offset;
      }
      turn = (turn + 1) % partitions.size();
      if (out.events_size() == 0) {
        ++idle_rounds;
        continue;
      }
      idle_rounds = 0;
      sc_.publisher.RecordConsumed(topic, principal_, ids);
      {
        std::lock_guard lock(state_->mu);
        state_->write_done = false;
      }
      StartWrite(&out);
      // Wait for the write (OnWriteDone cancels the timer through a post to this shard).
      while (true) {
        {
          std::lock_guard lock(state_->mu);
          if (state_->write_done) {
            if (!state_->write_ok) co_return Status::Ok();  // the client went away
            break;
          }
        }
        state_->wake.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await state_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    co_return Status::Ok();  // cancelled
  }

  ServiceContext& sc_;
  const v1::SubscribeRequest request_;
  std::string principal_ = "anonymous";  // recorded in the schema lineage
  std::shared_ptr<SubscribeState> state_;
};

}  // namespace

grpc::ServerWriteReactor<v1::SubscribeResponse>* NewSubscribeReactor(
    ServiceContext& sc, grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* req) {
  return new SubscribeReactor(sc, ctx, req);
}

}  // namespace sluice::grpc_gateway::internal
