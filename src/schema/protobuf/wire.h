// Confluent's Protobuf wire details: the message-index list that follows the 5-byte schema-ID
// prefix (see ../shared/reference/schema-registry.md §6 and docs/formats/ when written), and
// the mapping between an index path and the message it names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace google::protobuf {
class Descriptor;
class FileDescriptor;
}  // namespace google::protobuf

namespace sluice::schema::protobuf {

// Longest index path accepted when decoding (nesting deeper than this is not a real schema).
inline constexpr size_t kMaxMessageIndexes = 64;

struct DecodedMessageIndexes {
  std::vector<int32_t> indexes;  // [0] for the short form
  size_t size = 0;               // bytes consumed from the input
};

// Decodes the list at the start of `data`: a zig-zag varint count, then that many zig-zag
// varint indexes. The single byte 0x00 (count 0) means [0]; the long form 0x02 0x00 is [0] too.
// Errors: kInvalidArgument for a truncated or overlong varint, a negative count or index,
// an index above INT32_MAX, or more than kMaxMessageIndexes entries.
Result<DecodedMessageIndexes> DecodeMessageIndexes(std::string_view data);

// Appends the encoding of `indexes`; [0] and the empty list are written as the single byte
// 0x00, as Confluent's serializers do.
void AppendMessageIndexes(std::span<const int32_t> indexes, std::string& out);

// The message an index path names in `file`: the first index picks a top-level message, each
// further one a nested message of the previous. Only messages the .proto text declares count
// (not the synthetic map-entry messages, nor group bodies), matching Confluent. Empty = [0].
// Errors: kInvalidArgument naming the index that is out of range.
Result<const google::protobuf::Descriptor*> FindMessageByIndexes(
    const google::protobuf::FileDescriptor& file, std::span<const int32_t> indexes);

// The index path of `message` within its file (the inverse of FindMessageByIndexes).
std::vector<int32_t> MessageIndexesOf(const google::protobuf::Descriptor& message);

}  // namespace sluice::schema::protobuf
