// ProducerDedup: see producer_dedup.h.
#include "gateway/producer_dedup.h"

namespace sluice::gateway {

ProducerDedup::ProducerDedup(ProducerDedupOptions options) : options_(options) {}

void ProducerDedup::Touch(Producer& p) { lru_.splice(lru_.begin(), lru_, p.lru); }

ProducerDedup::Lookup ProducerDedup::Begin(std::string_view key, int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = producers_.find(std::string(key));
  if (it == producers_.end()) {
    lru_.emplace_front(key);
    it = producers_.emplace(std::string(key), Producer{}).first;
    it->second.lru = lru_.begin();
    bytes_ += 2 * key.size();
  }
  Producer& p = it->second;
  Touch(p);
  auto s = p.slots.find(seq);
  if (s != p.slots.end()) {
    if (!s->second.done) return {Outcome::kInProgress, {}};
    return {Outcome::kDuplicate, s->second.result};
  }
  if (p.slots.size() >= options_.window && seq < p.slots.begin()->first) {
    return {Outcome::kTooOld, {}};
  }
  p.slots.emplace(seq, Slot{});
  // Keep the window: drop the oldest finished sequences.
  while (p.slots.size() > options_.window) {
    auto oldest = p.slots.begin();
    if (!oldest->second.done) break;
    bytes_ -= oldest->second.result.size();
    p.slots.erase(oldest);
  }
  return {Outcome::kNew, {}};
}

void ProducerDedup::Finish(std::string_view key, int64_t seq, std::string result) {
  std::lock_guard lock(mu_);
  auto it = producers_.find(std::string(key));
  if (it == producers_.end()) return;  // evicted meanwhile
  auto s = it->second.slots.find(seq);
  if (s == it->second.slots.end()) return;
  bytes_ -= s->second.result.size();
  bytes_ += result.size();
  s->second.done = true;
  s->second.result = std::move(result);
  EvictLocked();
}

void ProducerDedup::Abandon(std::string_view key, int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = producers_.find(std::string(key));
  if (it == producers_.end()) return;
  auto s = it->second.slots.find(seq);
  if (s != it->second.slots.end() && !s->second.done) it->second.slots.erase(s);
}

void ProducerDedup::EvictLocked() {
  // Never evict the producer just used (front), so a single huge result still answers once.
  while (bytes_ > options_.max_bytes && lru_.size() > 1) {
    const std::string& victim = lru_.back();
    auto it = producers_.find(victim);
    for (const auto& [seq, slot] : it->second.slots) bytes_ -= slot.result.size();
    bytes_ -= 2 * victim.size();
    producers_.erase(it);
    lru_.pop_back();
  }
}

size_t ProducerDedup::producers() const {
  std::lock_guard lock(mu_);
  return producers_.size();
}

size_t ProducerDedup::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace sluice::gateway
