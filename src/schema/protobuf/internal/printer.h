// Prints a parsed .proto file the way Confluent's registry stores it (canonical form) or in
// its normalized order. Used by ProtobufSchema; see print.cc for the layout rules.
#pragma once

#include <string>

namespace google::protobuf {
class FileDescriptor;
class FileDescriptorProto;
}  // namespace google::protobuf

namespace sluice::schema::protobuf::internal {

// Canonical text of `raw` (the compiler parser's output: names as written, options in source
// order). Deterministic: whitespace and comments do not change it.
std::string PrintCanonical(const google::protobuf::FileDescriptorProto& raw);

// Normalized text: as canonical, but imports and options sorted, fields by number, enum values
// by number, oneofs by their first field, reserved ranges one per line, and every type name
// fully qualified with a leading dot (resolved through `file`, the built descriptor of `raw`).
// Message order is kept: message indexes depend on it.
std::string PrintNormalized(const google::protobuf::FileDescriptorProto& raw,
                            const google::protobuf::FileDescriptor& file);

}  // namespace sluice::schema::protobuf::internal
