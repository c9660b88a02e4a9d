// Arena: bump allocation in growing blocks, reset per batch.
#include "model/arena.h"

#include <algorithm>
#include <cstring>

namespace sluice::model {

Arena::Arena(size_t first_block_bytes) : next_block_bytes_(std::max<size_t>(first_block_bytes, 256)) {}

void Arena::NewBlock(size_t min_bytes) {
  size_t size = std::max(next_block_bytes_, min_bytes + 16);
  next_block_bytes_ = std::min<size_t>(size * 2, size_t{64} << 20);
  Block b;
  b.data = std::make_unique<std::byte[]>(size);
  b.size = size;
  cur_ = b.data.get();
  end_ = cur_ + size;
  reserved_ += size;
  blocks_.push_back(std::move(b));
}

void* Arena::Allocate(size_t bytes, size_t align) {
  SLUICE_DCHECK((align & (align - 1)) == 0 && align <= 16, "bad alignment {}", align);
  auto p = reinterpret_cast<uintptr_t>(cur_);
  uintptr_t aligned = (p + align - 1) & ~(uintptr_t{align} - 1);
  if (cur_ == nullptr || aligned + bytes > reinterpret_cast<uintptr_t>(end_)) {
    NewBlock(bytes + align);
    p = reinterpret_cast<uintptr_t>(cur_);
    aligned = (p + align - 1) & ~(uintptr_t{align} - 1);
  }
  cur_ = reinterpret_cast<std::byte*>(aligned + bytes);
  used_ += bytes;
  return reinterpret_cast<void*>(aligned);
}

std::string_view Arena::CopyString(std::string_view s) {
  if (s.empty()) return {};
  char* p = static_cast<char*>(Allocate(s.size(), 1));
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

Value Arena::DeepCopy(const Value& v) {
  switch (v.type()) {
    case ValueType::kString: return CopyStringValue(v.string_value());
    case ValueType::kArray: {
      auto items = AllocateArray<Value>(v.items().size());
      for (size_t i = 0; i < items.size(); ++i) items[i] = DeepCopy(v.items()[i]);
      return Value::Array(items);
    }
    case ValueType::kObject: {
      auto members = AllocateArray<Member>(v.members().size());
      for (size_t i = 0; i < members.size(); ++i) {
        members[i].name = CopyString(v.members()[i].name);
        members[i].value = DeepCopy(v.members()[i].value);
      }
      return Value::Object(members);
    }
    default: return v;
  }
}

void Arena::Reset() {
  if (blocks_.empty()) return;
  auto largest = std::max_element(blocks_.begin(), blocks_.end(),
                                  [](const Block& a, const Block& b) { return a.size < b.size; });
  Block keep = std::move(*largest);
  blocks_.clear();
  reserved_ = keep.size;
  cur_ = keep.data.get();
  end_ = cur_ + keep.size;
  blocks_.push_back(std::move(keep));
  used_ = 0;
}

}  // namespace sluice::model
