// SequenceTracker: producer sequences and stored results for idempotent publishing.
#include "grpc_gateway/internal/sequence_tracker.h"

namespace sluice::grpc_gateway::internal {

SequenceTracker::SequenceTracker(size_t max_producers, size_t window, size_t max_result_bytes)
    : max_producers_(max_producers < 1 ? 1 : max_producers),
      window_(window < 1 ? 1 : window),
      max_result_bytes_(max_result_bytes) {}

void SequenceTracker::Touch(Lru::iterator it) { lru_.splice(lru_.begin(), lru_, it); }

SequenceTracker::Producer* SequenceTracker::Find(std::string_view producer) {
  auto it = index_.find(producer);
  if (it == index_.end()) return nullptr;
  Touch(it->second);
  return &*it->second;
}

void SequenceTracker::Evict(Lru::iterator it) {
  for (auto& [seq, e] : it->window) {
    if (e.result) result_bytes_ -= e.result->size();
  }
  index_.erase(std::string_view(it->id));
  lru_.erase(it);
}

void SequenceTracker::EvictWhileOverBudget() {
  while (lru_.size() > max_producers_ ||
         (result_bytes_ > max_result_bytes_ && lru_.size() > 1)) {
    Evict(std::prev(lru_.end()));
  }
}

SequenceTracker::Decision SequenceTracker::Begin(std::string_view producer, uint64_t seq) {
  std::lock_guard lock(mu_);
  Decision d;
  Producer* p = Find(producer);
  if (p == nullptr) {
    lru_.emplace_front();
    lru_.front().id = std::string(producer);
    index_.emplace(std::string_view(lru_.front().id), lru_.begin());
    p = &lru_.front();
    p->next = seq;
    EvictWhileOverBudget();
  }
  if (seq == p->next) {
    p->window[seq] = Entry{};
    p->next = seq + 1;
    while (p->window.size() > window_) {
      auto first = p->window.begin();
      if (first->second.result) result_bytes_ -= first->second.result->size();
      p->window.erase(first);
    }
    d.verdict = Verdict::kNew;
    return d;
  }
  if (seq > p->next) {
    d.verdict = Verdict::kGap;
    d.expected = p->next;
    return d;
  }
  auto it = p->window.find(seq);
  if (it == p->window.end()) {
    d.verdict = Verdict::kTooOld;
    d.expected = p->next;
    return d;
  }
  switch (it->second.state) {
    case State::kDone:
      d.verdict = Verdict::kDuplicate;
      d.stored = it->second.result;
      return d;
    case State::kInFlight:
      d.verdict = Verdict::kInFlight;
      return d;
    case State::kFailed:
      it->second.state = State::kInFlight;
      d.verdict = Verdict::kRetry;
      return d;
  }
  return d;
}

void SequenceTracker::Succeeded(std::string_view producer, uint64_t seq,
                                std::shared_ptr<const std::string> result) {
  std::lock_guard lock(mu_);
  Producer* p = Find(producer);
  if (p == nullptr) return;  // evicted meanwhile
  auto it = p->window.find(seq);
  if (it == p->window.end()) return;  // slid out of the window meanwhile
  if (it->second.result) result_bytes_ -= it->second.result->size();
  result_bytes_ += result ? result->size() : 0;
  it->second.state = State::kDone;
  it->second.result = std::move(result);
  EvictWhileOverBudget();
}

void SequenceTracker::Failed(std::string_view producer, uint64_t seq) {
  std::lock_guard lock(mu_);
  Producer* p = Find(producer);
  if (p == nullptr) return;
  auto it = p->window.find(seq);
  if (it != p->window.end() && it->second.state == State::kInFlight) {
    it->second.state = State::kFailed;
  }
}

size_t SequenceTracker::producers() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

size_t SequenceTracker::result_bytes() const {
  std::lock_guard lock(mu_);
  return result_bytes_;
}

}  // namespace sluice::grpc_gateway::internal
