// RegistrySchemaSource: Confluent error codes turned into Status codes. See schema_source.h.
#include "registry/schema_source.h"

#include "schema/avro/avro.h"
#include "schema/avro/json_encoding.h"
#include "schema/protobuf/json_encoding.h"

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

RegistrySchemaSource::RegistrySchemaSource(Registry& registry) : registry_(registry) {}
RegistrySchemaSource::~RegistrySchemaSource() = default;

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

Result<std::string> RegistrySchemaSource::EncodeJson(int32_t id, std::string_view json,
                                                     std::string_view where,
                                                     codec::JsonParser& parser) const {
  auto parsed = registry_.Parsed(id);
  if (!parsed.ok()) return ToStatus(parsed.status);
  switch (parsed.value->type()) {
    case schema::SchemaType::kAvro: {
      const auto& avro = static_cast<const schema::avro::AvroSchema&>(*parsed.value);
      return schema::avro::EncodeJsonText(avro.root(), json, parser, where);
    }
    case schema::SchemaType::kProtobuf: {
      auto enc = ProtobufEncoder(id, parsed.value);
      if (!enc.ok()) return enc.status();
      std::string out;
      Status st = (*enc)->Encode(json, out);
      if (!st.ok()) return st.WithContext(where);
      return out;
    }
    case schema::SchemaType::kJson: break;
  }
  return Unimplemented("schema {} is a JSON Schema: its payload is the JSON text itself", id);
}

Result<std::shared_ptr<const schema::protobuf::JsonEncoder>> RegistrySchemaSource::ProtobufEncoder(
    int32_t id, std::shared_ptr<const schema::ParsedSchema> parsed) const {
  {
    std::lock_guard lock(encoders_mu_);
    if (auto it = encoders_.find(id); it != encoders_.end()) return it->second;
  }
  // Compiled outside the lock; two racing requests may both compile, one result is kept.
  auto enc = schema::protobuf::JsonEncoder::Create(std::move(parsed), {});
  if (!enc.ok()) return enc.status();
  std::shared_ptr<const schema::protobuf::JsonEncoder> shared = std::move(enc).value();
  std::lock_guard lock(encoders_mu_);
  if (encoders_.size() >= kMaxEncoders) encoders_.clear();
  return encoders_.emplace(id, std::move(shared)).first->second;
}

}  // namespace sluice::registry
