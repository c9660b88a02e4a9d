#include "schema/schema.h"

namespace sluice::schema {

std::string_view SchemaTypeName(SchemaType type) {
  switch (type) {
    case SchemaType::kAvro:
      return "AVRO";
    case SchemaType::kJson:
      return "JSON";
    case SchemaType::kProtobuf:
      return "PROTOBUF";
  }
  return "AVRO";
}

std::optional<SchemaType> ParseSchemaType(std::string_view name) {
  if (name == "AVRO") return SchemaType::kAvro;
  if (name == "JSON") return SchemaType::kJson;
  if (name == "PROTOBUF") return SchemaType::kProtobuf;
  return std::nullopt;
}

}  // namespace sluice::schema
