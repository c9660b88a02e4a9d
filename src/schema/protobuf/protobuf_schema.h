// ProtobufSchema: the ParsedSchema of one parsed .proto file. Heavy (includes libprotobuf's
// descriptor.h): include it only where descriptors are needed; others use protobuf.h.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <map>
#include <memory>
#include <string>

#include "schema/schema.h"

namespace sluice::schema::protobuf {

// Where a file of the schema's pool came from. Compatibility compares messages reached
// through a field again unless both sides come from the same subject and version (as
// Confluent's diff does).
struct FileOrigin {
  enum class Kind { kRoot, kReference, kBuiltin };
  Kind kind = Kind::kRoot;
  std::string subject;  // reference subject (kReference) or file name (kBuiltin)
  int32_t version = 0;
};

// Immutable after Parse; thread-safe for concurrent reads (the pool has no fallback
// database, so its lookups never mutate it). Owns its DescriptorPool; descriptors returned
// by file() live as long as the schema.
class ProtobufSchema final : public ParsedSchema {
 public:
  // Built by Parse() only. `raw` is the parser's output for the root file (type names as
  // written, options uninterpreted, in source order); `file` its built descriptor in `pool`.
  ProtobufSchema(std::unique_ptr<google::protobuf::DescriptorPool> pool,
                 const google::protobuf::FileDescriptor* file,
                 google::protobuf::FileDescriptorProto raw,
                 std::map<std::string, FileOrigin> origins);

  SchemaType type() const override { return SchemaType::kProtobuf; }
  const std::string& canonical() const override { return canonical_; }
  std::string Normalized() const override;
  std::vector<std::string> CheckCanRead(const ParsedSchema& writer) const override;
  Result<std::unique_ptr<ValueDecoder>> CompileDecoder(
      std::span<const int32_t> message_indexes) const override;
  // The first top-level message's fields (what payloads without message indexes carry).
  std::unordered_map<std::string, model::ValueType> FieldTypes() const override;
  Result<std::unique_ptr<Validator>> CompileValidator(
      std::span<const int32_t> message_indexes) const override;

  const google::protobuf::FileDescriptor* file() const { return file_; }
  const google::protobuf::FileDescriptorProto& raw() const { return raw_; }
  // Origin of a file of this schema's pool (kBuiltin when unknown).
  FileOrigin OriginOf(const google::protobuf::FileDescriptor* file) const;

 private:
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  const google::protobuf::FileDescriptor* file_;
  google::protobuf::FileDescriptorProto raw_;
  std::map<std::string, FileOrigin> origins_;  // by file name
  std::string canonical_;
};

}  // namespace sluice::schema::protobuf
