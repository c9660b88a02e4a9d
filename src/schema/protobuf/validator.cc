#include "schema/protobuf/protobuf_schema.h"
namespace sluice::schema::protobuf {
Result<std::unique_ptr<Validator>> ProtobufSchema::CompileValidator(std::span<const int32_t>) const { return Unimplemented("x"); }
}
