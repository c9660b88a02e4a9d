// RegistrySchemaSource: the registry seen through gateway::SchemaSource, so the REST Proxy front
// end can resolve, register and check schemas without the gateway depending on the registry.
#pragma once

#include "gateway/schema_source.h"
#include "registry/registry.h"

namespace sluice::registry {

// Thread-safe (as Registry). Borrows the registry, which outlives it.
class RegistrySchemaSource final : public gateway::SchemaSource {
 public:
  explicit RegistrySchemaSource(Registry& registry) : registry_(registry) {}

  Task<Result<int32_t>> Register(std::string subject, schema::SchemaType type,
                                 std::string schema) override;
  Result<int32_t> VersionId(const std::string& subject,
                            std::optional<int32_t> version) const override;
  Result<schema::SchemaType> TypeOf(int32_t id) const override;
  Status Validate(int32_t id, std::string_view payload) const override;

 private:
  Registry& registry_;
};

}  // namespace sluice::registry
