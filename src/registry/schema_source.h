// RegistrySchemaSource: the registry seen through gateway::SchemaSource, so the REST Proxy front
// end can resolve, register and check schemas without the gateway depending on the registry.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "gateway/schema_source.h"
#include "registry/registry.h"

namespace sluice::schema::protobuf {
class JsonEncoder;
}

namespace sluice::registry {

// Thread-safe (as Registry). Borrows the registry, which outlives it. Keeps the compiled
// Protobuf JSON encoders (one per id, at most kMaxEncoders; the cache is emptied beyond that).
class RegistrySchemaSource final : public gateway::SchemaSource {
 public:
  static constexpr size_t kMaxEncoders = 1024;

  explicit RegistrySchemaSource(Registry& registry);
  ~RegistrySchemaSource() override;

  Task<Result<int32_t>> Register(std::string subject, schema::SchemaType type,
                                 std::string schema) override;
  Result<int32_t> VersionId(const std::string& subject,
                            std::optional<int32_t> version) const override;
  Result<schema::SchemaType> TypeOf(int32_t id) const override;
  Status Validate(int32_t id, std::string_view payload) const override;
  Result<std::string> EncodeJson(int32_t id, std::string_view json, std::string_view where,
                                 codec::JsonParser& parser) const override;

 private:
  Result<std::shared_ptr<const schema::protobuf::JsonEncoder>> ProtobufEncoder(
      int32_t id, std::shared_ptr<const schema::ParsedSchema> parsed) const;

  Registry& registry_;
  mutable std::mutex encoders_mu_;
  mutable std::unordered_map<int32_t, std::shared_ptr<const schema::protobuf::JsonEncoder>>
      encoders_;
};

}  // namespace sluice::registry
