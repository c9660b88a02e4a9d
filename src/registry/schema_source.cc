// RegistrySchemaSource: Confluent error codes turned into Status codes. See schema_source.h.
#include "registry/schema_source.h"

namespace sluice::registry {

namespace {

Status ToStatus(const SrStatus& s) {
  if (s.ok()) return Status::Ok();
  switch (s.http_status()) {
    case 404: return NotFound("{} (error {})", s.message, s.code);
    case 422: return InvalidArgument("{} (error {})", s.message, s.code);
    case 409:
    case 403: return FailedPrecondition("{} (error {})", s.message, s.code);
    default: return Unavailable("schema registry: {} (error {})", s.message, s.code);
  }
}

}  // namespace

Task<Result<int32_t>> RegistrySchemaSource::Register(std::string subject, schema::SchemaType type,
                                                     std::string schema) {
  SchemaRequest req;
  req.schema = std::move(schema);
  req.type = type;
  auto r = co_await registry_.Register(std::move(subject), std::move(req), /*normalize=*/false);
  if (!r.ok()) co_return ToStatus(r.status);
  co_return r.value.id;
}

Result<int32_t> RegistrySchemaSource::VersionId(const std::string& subject,
                                                std::optional<int32_t> version) const {
  VersionSpec spec;
  if (!version || *version == -1) {
    spec.latest = true;
  } else {
    spec.number = *version;
  }
  auto v = registry_.GetVersion(subject, spec, /*include_deleted=*/false);
  if (!v.ok()) return ToStatus(v.status);
  return v.value.content->id;
}

Result<schema::SchemaType> RegistrySchemaSource::TypeOf(int32_t id) const {
  auto c = registry_.GetById(id);
  if (!c.ok()) return ToStatus(c.status);
  return c.value->type;
}

Status RegistrySchemaSource::Validate(int32_t id, std::string_view payload) const {
  auto v = registry_.ValidatorFor(id);
  if (!v.ok()) return ToStatus(v.status);
  return v.value->Validate(payload);
}

}  // namespace sluice::registry
