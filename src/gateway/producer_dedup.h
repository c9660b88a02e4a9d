// ProducerDedup: remembers the results of recent (producer, sequence) requests so a retried
// request gets the original result instead of being appended twice (WebSocket frames with
// "producer" + "seq"; usable by any front end with client sequence numbers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::gateway {

struct ProducerDedupOptions {
  // Results remembered per producer (the highest sequences); an older sequence is refused as
  // too old once the window is full.
  size_t window = 64;
  // Bytes of remembered results and keys over all producers; beyond it the least recently
  // used producers are forgotten.
  size_t max_bytes = 32 * 1024 * 1024;
};

// Thread-safe (one mutex; a lookup is a hash probe and a small map operation). One per front
// end, shared by its shards; owned by that front end.
//
// Invariants:
//  1. A producer's slots hold at most `window` sequences, each either in progress or done.
//  2. bytes_ is the sum of key and result sizes of every producer held.
class ProducerDedup {
 public:
  explicit ProducerDedup(ProducerDedupOptions options = {});

  enum class Outcome {
    kNew,         // not seen: now in progress; the caller must Finish or Abandon it
    kDuplicate,   // done before: `result` is what it answered
    kInProgress,  // another request with this sequence is being processed right now
    kTooOld,      // below the remembered window: cannot tell, so it is refused
  };
  struct Lookup {
    Outcome outcome = Outcome::kNew;
    std::string result;
  };
  // `key` names the producer (callers include the topic and principal in it).
  Lookup Begin(std::string_view key, int64_t seq);
  // Records the result of a sequence that Begin returned kNew for.
  void Finish(std::string_view key, int64_t seq, std::string result);
  // Forgets an in-progress sequence (it failed as a whole; a retry runs it again).
  void Abandon(std::string_view key, int64_t seq);

  size_t producers() const;
  size_t bytes() const;

 private:
  struct Slot {
    bool done = false;
    std::string result;
  };
  struct Producer {
    std::map<int64_t, Slot> slots;
    std::list<std::string>::iterator lru;
  };
  void Touch(Producer& p);
  void EvictLocked();

  const ProducerDedupOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Producer> producers_;  // guarded by mu_
  std::list<std::string> lru_;                           // front = most recently used
  size_t bytes_ = 0;
};

}  // namespace sluice::gateway
