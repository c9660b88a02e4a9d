#include "schema/protobuf/protobuf_schema.h"
namespace sluice::schema::protobuf {
std::vector<std::string> ProtobufSchema::CheckCanRead(const ParsedSchema&) const { return {}; }
}
