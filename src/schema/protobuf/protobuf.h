// Protobuf schemas for the registry: parse .proto text (proto2 and proto3, imports resolved
// through references) into a ParsedSchema with Confluent's canonical printing, its
// compatibility rules and a payload validator. See README.md in this directory.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "base/status.h"
#include "schema/schema.h"

namespace sluice::schema::protobuf {

// Parses `text` as a .proto file. Each `import` is looked up among `references` by
// ResolvedReference::name (the import path; the references' own references count too),
// then among the well-known types compiled into libprotobuf (google/protobuf/*.proto).
// The result is a ProtobufSchema (protobuf_schema.h), owning a private DescriptorPool.
// Errors: kInvalidArgument "line L:C: <problem>" for syntax and definition errors (1-based;
// prefixed with "import 'x.proto': " when the problem is in a referenced file), or
// "import 'x.proto' is not resolved: no reference with that name" for a missing import.
Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references);

}  // namespace sluice::schema::protobuf
