// SendBatcher: see send_batcher.h.
#include "gateway/internal/send_batcher.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>

namespace sluice::gateway::internal {

namespace {
constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
}  // namespace

std::shared_ptr<SendBatcher> SendBatcher::Create(unsigned entries) {
  auto ring = std::make_unique<io_uring>();
  // SUBMIT_ALL: one bad entry does not stop the rest of the batch; COOP_TASKRUN: no
  // inter-processor interrupt for completions. Both are hints (Linux 5.18 / 5.19): without them
  // the ring works the same, so an older kernel gets a plain ring.
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
  if (io_uring_queue_init_params(entries, ring.get(), &params) < 0) {
    params = io_uring_params{};
    if (io_uring_queue_init_params(entries, ring.get(), &params) < 0) return nullptr;
  }
  // IORING_OP_SENDMSG needs Linux 5.3; an older ring would fail every send with -EINVAL.
  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  const bool sendmsg_ok =
      probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SENDMSG) != 0;
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!sendmsg_ok) {
    io_uring_queue_exit(ring.get());
    return nullptr;
  }
  return std::shared_ptr<SendBatcher>(new SendBatcher(std::move(ring), entries));
}

SendBatcher::SendBatcher(std::unique_ptr<io_uring> ring, unsigned entries)
    : ring_(std::move(ring)), entries_(entries) {
  queued_.reserve(entries);
}

SendBatcher::~SendBatcher() { io_uring_queue_exit(ring_.get()); }

void SendBatcher::Queue(Send* s, const asio::any_io_executor& ex) {
  s->done = false;
  queued_.push_back(s);
  if (!posted_) {
    posted_ = true;
    asio::post(ex, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->Flush();
    });
  }
}

void SendBatcher::Flush() {
  posted_ = false;
  if (queued_.empty()) return;
  io_uring* ring = ring_.get();
  for (size_t i = 0; i < queued_.size();) {
    const size_t n = std::min<size_t>(entries_, queued_.size() - i);
    size_t prepared = 0;
    if (!broken_) {
      for (; prepared < n; ++prepared) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring);
        if (sqe == nullptr) break;
        Send* s = queued_[i + prepared];
        io_uring_prep_sendmsg(sqe, s->fd, &s->msg, kSendFlags);
        io_uring_sqe_set_data(sqe, s);
      }
    }
    // The sends run inside this call. Entries the kernel did not take stay unsubmitted for
    // good (the ring is not entered again once broken) and go out by sendmsg below.
    int submitted = prepared > 0 ? io_uring_submit(ring) : 0;
    if (submitted < 0) submitted = 0;
    if (static_cast<size_t>(submitted) != prepared) broken_ = true;
    if (submitted > 0) ++batches_;
    // Reap: with MSG_DONTWAIT every send completes during the submit (sent, partly sent or
    // -EAGAIN). Should one have been parked instead (a kernel that polls despite the flag), it
    // is cancelled and waited for: a Send must never be completed twice or left in the kernel.
    int outstanding = submitted;
    bool cancelled = false;
    while (outstanding > 0) {
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_peek_cqe(ring, &cqe);
      if (r == -EAGAIN && !cancelled) {
        cancelled = true;
        for (size_t k = i; k < i + static_cast<size_t>(submitted); ++k) {
          if (queued_[k]->done) continue;
          io_uring_sqe* sqe = io_uring_get_sqe(ring);
          if (sqe == nullptr) break;
          io_uring_prep_cancel64(sqe, reinterpret_cast<uintptr_t>(queued_[k]), 0);
          io_uring_sqe_set_data(sqe, nullptr);
        }
        int c = io_uring_submit(ring);
        if (c > 0) outstanding += c;
        broken_ = true;  // behaves unlike this code expects: stop using it
        continue;
      }
      if (r == -EAGAIN) r = io_uring_wait_cqe(ring, &cqe);
      if (r < 0) {
        // Cannot learn the outcome: fail the rest (their connections close) rather than risk
        // sending a response twice.
        broken_ = true;
        for (size_t k = i; k < i + static_cast<size_t>(submitted); ++k) {
          Send* s = queued_[k];
          if (!s->done) {
            s->result = -EIO;
            s->done = true;
          }
        }
        break;
      }
      auto* s = static_cast<Send*>(io_uring_cqe_get_data(cqe));
      if (s != nullptr) {
        // A cancelled send sent nothing: the caller writes it all the slow way.
        s->result = cqe->res == -ECANCELED ? -EAGAIN : cqe->res;
        s->done = true;
      }
      io_uring_cqe_seen(ring, cqe);
      --outstanding;
    }
    for (size_t k = i; k < i + n; ++k) {
      Send* s = queued_[k];
      if (s->done) continue;
      ssize_t r = ::sendmsg(s->fd, &s->msg, kSendFlags);
      s->result = r < 0 ? -errno : r;
      s->done = true;
    }
    sends_ += n;
    i += n;
  }
  queued_.clear();
  flushed_.NotifyAll();
}

}  // namespace sluice::gateway::internal
