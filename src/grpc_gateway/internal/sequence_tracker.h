// SequenceTracker: per producer id, which publish sequences were accepted and what they
// answered, so that a resent message gets its original result instead of a second append
// (gRPC PublishStream / Publish idempotence, docs/grpc.md).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::grpc_gateway::internal {

// Thread-safe (one mutex; gRPC threads call it directly). Owned by the GrpcServer and shared
// by every call. Memory is bounded: at most `max_producers` producers (least recently used
// forgotten first), per producer the last `window` sequences, and at most `max_result_bytes`
// bytes of stored results over all producers (LRU producers dropped beyond it).
//
// Invariants:
//  1. Per producer, every kept sequence is < next and >= next - window.
//  2. result_bytes_ is the sum of the sizes of every stored result.
class SequenceTracker {
 public:
  SequenceTracker(size_t max_producers, size_t window, size_t max_result_bytes);

  enum class Verdict {
    kNew,        // publish it; then call Succeeded or Failed
    kRetry,      // an earlier attempt failed with nothing appended: publish it again
    kDuplicate,  // already published: answer `stored`, append nothing
    kInFlight,   // the same sequence is being published right now (another stream)
    kGap,        // a later sequence than expected: refused, `expected` says which
    kTooOld,     // below the window: cannot tell whether it was published; refused
  };
  struct Decision {
    Verdict verdict = Verdict::kNew;
    std::shared_ptr<const std::string> stored;  // kDuplicate: the original answer
    uint64_t expected = 0;                      // kGap: the next sequence accepted
  };

  // Called when a message (producer, seq) arrives. The first message of an unknown producer
  // is always kNew, whatever its sequence.
  Decision Begin(std::string_view producer, uint64_t seq);
  // The publish of (producer, seq) ended: appended (its serialized answer is kept for
  // resends), or failed with nothing appended (a resend publishes again).
  void Succeeded(std::string_view producer, uint64_t seq, std::shared_ptr<const std::string> result);
  void Failed(std::string_view producer, uint64_t seq);

  size_t producers() const;
  size_t result_bytes() const;

 private:
  enum class State { kInFlight, kDone, kFailed };
  struct Entry {
    State state = State::kInFlight;
    std::shared_ptr<const std::string> result;
  };
  struct Producer {
    std::string id;
    uint64_t next = 0;                 // next sequence accepted as new
    std::map<uint64_t, Entry> window;  // recent sequences
  };
  using Lru = std::list<Producer>;

  Producer* Find(std::string_view producer);  // and marks it most recently used
  void Touch(Lru::iterator it);
  void Evict(Lru::iterator it);
  void EvictWhileOverBudget();

  const size_t max_producers_;
  const size_t window_;
  const size_t max_result_bytes_;
  mutable std::mutex mu_;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> index_;  // keys view Producer::id
  size_t result_bytes_ = 0;
};

}  // namespace sluice::grpc_gateway::internal
