// Message indexes: decoding, encoding and the index path <-> message mapping.
#include "schema/protobuf/wire.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>

#include "base/varint.h"

namespace sluice::schema::protobuf {

namespace {

namespace gp = google::protobuf;

// Declared messages only: map entries and group bodies are not in Confluent's index space.
bool Counts(const gp::Descriptor* d) {
  if (d->options().map_entry()) return false;
  if (const gp::Descriptor* parent = d->containing_type(); parent != nullptr) {
    for (int i = 0; i < parent->field_count(); ++i) {
      const gp::FieldDescriptor* f = parent->field(i);
      if (f->type() == gp::FieldDescriptor::TYPE_GROUP && f->message_type() == d) return false;
    }
  }
  return true;
}

template <typename Get>
const gp::Descriptor* NthCounted(int count, Get get, int32_t n) {
  for (int i = 0; i < count; ++i) {
    const gp::Descriptor* d = get(i);
    if (!Counts(d)) continue;
    if (n-- == 0) return d;
  }
  return nullptr;
}

}  // namespace

Result<DecodedMessageIndexes> DecodeMessageIndexes(std::string_view data) {
  const auto* begin = reinterpret_cast<const uint8_t*>(data.data());
  const auto* p = begin;
  const auto* end = p + data.size();
  int64_t count = 0;
  if (!varint::DecodeSigned(p, end, &count)) {
    return InvalidArgument("message indexes: truncated or overlong count");
  }
  DecodedMessageIndexes out;
  if (count == 0) {
    out.indexes.push_back(0);
    out.size = static_cast<size_t>(p - begin);
    return out;
  }
  if (count < 0 || static_cast<uint64_t>(count) > kMaxMessageIndexes) {
    return InvalidArgument("message indexes: count {} outside 0..{}", count, kMaxMessageIndexes);
  }
  out.indexes.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    int64_t index = 0;
    if (!varint::DecodeSigned(p, end, &index)) {
      return InvalidArgument("message indexes: truncated or overlong index {}", i);
    }
    if (index < 0 || index > INT32_MAX) {
      return InvalidArgument("message indexes: index {} is {}, outside 0..{}", i, index,
                             INT32_MAX);
    }
    out.indexes.push_back(static_cast<int32_t>(index));
  }
  out.size = static_cast<size_t>(p - begin);
  return out;
}

void AppendMessageIndexes(std::span<const int32_t> indexes, std::string& out) {
  if (indexes.empty() || (indexes.size() == 1 && indexes[0] == 0)) {
    out.push_back('\0');
    return;
  }
  varint::AppendSigned(out, static_cast<int64_t>(indexes.size()));
  for (int32_t i : indexes) varint::AppendSigned(out, i);
}

Result<const gp::Descriptor*> FindMessageByIndexes(const gp::FileDescriptor& file,
                                                   std::span<const int32_t> indexes) {
  static constexpr int32_t kFirst[] = {0};
  if (indexes.empty()) indexes = kFirst;
  const gp::Descriptor* d = NthCounted(
      file.message_type_count(), [&](int i) { return file.message_type(i); }, indexes[0]);
  if (d == nullptr) {
    return InvalidArgument("message indexes: no top-level message at index {} (the file has {})",
                           indexes[0], file.message_type_count());
  }
  for (size_t k = 1; k < indexes.size(); ++k) {
    const gp::Descriptor* parent = d;
    d = NthCounted(
        parent->nested_type_count(), [&](int i) { return parent->nested_type(i); }, indexes[k]);
    if (d == nullptr) {
      return InvalidArgument("message indexes: message '{}' has no nested message at index {}",
                             parent->full_name(), indexes[k]);
    }
  }
  return d;
}

std::vector<int32_t> MessageIndexesOf(const gp::Descriptor& message) {
  std::vector<int32_t> path;
  for (const gp::Descriptor* d = &message; d != nullptr; d = d->containing_type()) {
    const gp::Descriptor* parent = d->containing_type();
    int count = parent != nullptr ? parent->nested_type_count() : d->file()->message_type_count();
    int32_t index = 0;
    for (int i = 0; i < count; ++i) {
      const gp::Descriptor* sibling =
          parent != nullptr ? parent->nested_type(i) : d->file()->message_type(i);
      if (sibling == d) break;
      if (Counts(sibling)) ++index;
    }
    path.push_back(index);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace sluice::schema::protobuf
