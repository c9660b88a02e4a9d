// StateWriter / StateReader: the little binary format operator state and checkpoints are written
// in — zig-zag varints, length-prefixed byte strings — with a reader that never reads past its
// input and remembers the first error (docs/formats/checkpoint.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/varint.h"

namespace sluice::stream {

class StateWriter {
 public:
  explicit StateWriter(std::string& out) : out_(out) {}
  void I64(int64_t v) { varint::AppendSigned(out_, v); }
  void U64(uint64_t v) { varint::AppendUnsigned(out_, v); }
  void Bytes(std::string_view b) {
    U64(b.size());
    out_.append(b);
  }
  // A nested blob written by `fn(StateWriter&)`, length-prefixed so readers can skip it.
  template <typename Fn>
  void Nested(Fn&& fn) {
    std::string inner;
    StateWriter w(inner);
    fn(w);
    Bytes(inner);
  }
  std::string& out() { return out_; }

 private:
  std::string& out_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  int64_t I64() {
    int64_t v = 0;
    auto p = reinterpret_cast<const uint8_t*>(in_.data());
    const uint8_t* start = p;
    if (!ok_ || !varint::DecodeSigned(p, start + in_.size(), &v)) return Fail();
    in_.remove_prefix(static_cast<size_t>(p - start));
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    auto p = reinterpret_cast<const uint8_t*>(in_.data());
    const uint8_t* start = p;
    if (!ok_ || !varint::DecodeUnsigned(p, start + in_.size(), &v)) return static_cast<uint64_t>(Fail());
    in_.remove_prefix(static_cast<size_t>(p - start));
    return v;
  }
  // A count of items that each take at least `min_item_bytes`: refuses counts the remaining
  // bytes cannot hold (so a corrupt count cannot make the caller allocate without bound).
  uint64_t Count(size_t min_item_bytes = 1) {
    uint64_t n = U64();
    if (ok_ && n > in_.size() / std::max<size_t>(1, min_item_bytes)) return static_cast<uint64_t>(Fail());
    return n;
  }
  std::string_view Bytes() {
    uint64_t n = U64();
    if (!ok_ || n > in_.size()) {
      Fail();
      return {};
    }
    std::string_view b = in_.substr(0, n);
    in_.remove_prefix(n);
    return b;
  }
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  Status status(std::string_view what) const {
    return ok_ ? Status::Ok() : DataLoss("{}: state truncated or corrupt", what);
  }

 private:
  int64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace sluice::stream
