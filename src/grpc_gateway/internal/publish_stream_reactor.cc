// PublishStream: a bidirectional stream of PublishRequest → PublishResponse with a bounded
// number of messages being handled at once. See PublishStreamReactor.
#include <deque>
#include <mutex>

#include "base/logging.h"
#include "grpc_gateway/internal/reactors.h"

namespace sluice::grpc_gateway::internal {
namespace {

// One PublishStream call. Created by gRPC's handler, deleted in OnDone. Reactions run on gRPC
// threads (concurrently with each other, except OnDone); publishes run on the stream's shard
// (all of a stream's messages go to one shard, in arrival order, so their appends are issued in
// sequence order) and hand their answer back through Answer(), from the shard.
//
// Invariants (under mu_):
//  1. A read starts only when none is outstanding and no message is being admitted (Admit runs
//     in arrival order and incoming_ is not overwritten while in use).
//  2. busy_ + writes_.size() <= max_inflight while reading_; no read is started beyond it, so a
//     stream holds at most max_inflight requests and answers (HTTP/2 flow control then stops
//     the client).
//  3. At most one write is outstanding: writes_.front() while writing_.
//  4. Finish is called once, when reads are closed, nothing is busy and no write is pending;
//     after it no reaction starts new work, so OnDone can delete the reactor.
class PublishStreamReactor final
    : public grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishResponse> {
 public:
  PublishStreamReactor(ServiceContext& sc, grpc::CallbackServerContext* ctx)
      : sc_(sc), shard_(sc.NextShard()), max_inflight_(sc.options.max_inflight_per_stream) {
    auto p = sc_.Authenticate(*ctx);
    if (!p.ok()) {
      finished_ = true;
      Finish(ToGrpcStatus(p.status()));
      return;
    }
    principal_ = std::move(p).value();
    rate_key_ = ServiceContext::RateKey(*ctx, *principal_);
    reading_ = true;
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock lock(mu_);
    reading_ = false;
    if (!ok || finished_ || !end_status_.ok()) {
      read_closed_ = true;
      MaybeFinishLocked();
      return;
    }
    if (Status st = CheckNotExpired(*principal_); !st.ok()) {
      // The credentials ended: stop reading, answer what is being published, then finish.
      end_status_ = ToGrpcStatus(st);
      read_closed_ = true;
      MaybeFinishLocked();
      return;
    }
    ++busy_;
    admitting_ = true;  // incoming_ is in use: no read into it until Admit is done
    lock.unlock();

    // Admit before the next read starts: the sequence check needs messages in arrival order,
    // and the next OnReadDone may run on another gRPC thread.
    auto pending = std::make_unique<PendingPublish>();
    auto settled = Admit(sc_, principal_, rate_key_, incoming_, pending.get());
    const uint64_t seq = incoming_.sequence();
    incoming_.Clear();
    if (settled) {
      Answer(std::move(*settled));
      std::lock_guard relock(mu_);
      admitting_ = false;
      MaybeReadLocked();
      return;
    }
    auto task = [this, pending = std::move(pending)]() -> Task<void> {
      v1::PublishResponse out = co_await RunPublish(&sc_, pending.get());
      Answer(std::move(out));
    };
    // Posted before the next read can start, so the stream's publishes reach its shard in
    // arrival order.
    asio::co_spawn(sc_.shards.context(shard_), std::move(task),
                   [this, seq](std::exception_ptr e) {
                     if (!e) return;
                     std::string what = "unknown error";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       what = ex.what();
                     } catch (...) {
                     }
                     logging::Get("grpc").error("publish failed: {}", what);
                     Answer(ErrorResponse(seq, Internal("publish failed: {}", what)));
                   });
    std::lock_guard relock(mu_);
    admitting_ = false;
    MaybeReadLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writes_.pop_front();
    writing_ = false;
    if (!ok) {
      // The client is gone: drop the remaining answers; nothing more can be written.
      write_broken_ = true;
      writes_.clear();
    } else if (!writes_.empty()) {
      writing_ = true;
      StartWrite(&writes_.front());
    }
    MaybeReadLocked();
    MaybeFinishLocked();
  }

  void OnCancel() override {}  // pending reads and writes complete with ok=false

  void OnDone() override { delete this; }

 private:
  // A message is settled: queue its answer (written in completion order).
  void Answer(v1::PublishResponse resp) {
    std::lock_guard lock(mu_);
    --busy_;
    if (!write_broken_) {
      writes_.push_back(std::move(resp));
      if (!writing_) {
        writing_ = true;
        StartWrite(&writes_.front());
      }
    }
    MaybeReadLocked();
    MaybeFinishLocked();
  }

  void MaybeReadLocked() {
    if (reading_ || admitting_ || read_closed_ || finished_ || write_broken_ || !end_status_.ok()) return;
    if (busy_ + static_cast<int>(writes_.size()) >= max_inflight_) return;
    reading_ = true;
    StartRead(&incoming_);
  }

  void MaybeFinishLocked() {
    if (finished_ || !read_closed_ || busy_ > 0 || writing_ || !writes_.empty()) return;
    finished_ = true;
    Finish(end_status_);
  }

  ServiceContext& sc_;
  const runtime::ShardId shard_;
  const int max_inflight_;
  std::shared_ptr<const gateway::Principal> principal_;
  std::string rate_key_;
  v1::PublishRequest incoming_;  // target of the outstanding read

  std::mutex mu_;
  bool reading_ = false;      // a read is outstanding
  bool admitting_ = false;    // OnReadDone is admitting incoming_ (outside the lock)
  bool read_closed_ = false;  // the client half-closed, the call ended, or we stopped reading
  bool writing_ = false;
  bool write_broken_ = false;
  bool finished_ = false;
  int busy_ = 0;  // messages admitted and not yet answered
  std::deque<v1::PublishResponse> writes_;  // answers not yet written; front is being written
  grpc::Status end_status_ = grpc::Status::OK;
};

}  // namespace

grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishResponse>* NewPublishStreamReactor(
    ServiceContext& sc, grpc::CallbackServerContext* ctx) {
  return new PublishStreamReactor(sc, ctx);
}

}  // namespace sluice::grpc_gateway::internal
