// JSON → Protobuf binary through libprotobuf's JSON transcoder on a DynamicMessage. See
// json_encoding.h.
#include "schema/protobuf/json_encoding.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {

namespace {
constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";
}  // namespace

JsonEncoder::~JsonEncoder() = default;

Result<std::unique_ptr<JsonEncoder>> JsonEncoder::Create(
    std::shared_ptr<const ParsedSchema> schema, std::span<const int32_t> message_indexes) {
  const auto* pb = dynamic_cast<const ProtobufSchema*>(schema.get());
  if (pb == nullptr) return InvalidArgument("not a Protobuf schema");
  if (pb->file()->message_type_count() == 0) {
    return InvalidArgument("the Protobuf schema declares no message");
  }
  auto message = FindMessageByIndexes(*pb->file(), message_indexes);
  if (!message.ok()) return message.status();
  std::unique_ptr<JsonEncoder> e(new JsonEncoder());
  e->message_ = *message;
  e->factory_ = std::make_unique<google::protobuf::DynamicMessageFactory>(pb->file()->pool());
  e->prototype_ = e->factory_->GetPrototype(e->message_);
  if (e->prototype_ == nullptr) {
    return InvalidArgument("no message type for '{}'", e->message_->full_name());
  }
  e->resolver_.reset(google::protobuf::util::NewTypeResolverForDescriptorPool(
      std::string(kTypeUrlPrefix), pb->file()->pool()));
  e->type_url_ = fmt::format("{}/{}", kTypeUrlPrefix, e->message_->full_name());
  AppendMessageIndexes(MessageIndexesOf(*e->message_), e->indexes_);
  e->schema_ = std::move(schema);
  return e;
}

const std::string& JsonEncoder::message_name() const { return message_->full_name(); }

Status JsonEncoder::Encode(std::string_view json, std::string& out) const {
  // The transcoder behind util::JsonStringToMessage, with the type resolver built once, then a
  // DynamicMessage so that missing required fields are named and the bytes come out in field
  // order, as Confluent's (Java) serializer writes them.
  std::string binary;
  google::protobuf::util::JsonParseOptions options;  // unknown fields are errors
  auto st = google::protobuf::util::JsonToBinaryString(
      resolver_.get(), type_url_, google::protobuf::StringPiece(json.data(), json.size()),
      &binary, options);
  if (!st.ok()) {
    return InvalidArgument("not a valid JSON '{}': {}", message_->full_name(),
                           std::string(st.message()));
  }
  std::unique_ptr<google::protobuf::Message> msg(prototype_->New());
  if (!msg->ParsePartialFromString(binary)) {
    return InvalidArgument("not a valid JSON '{}'", message_->full_name());
  }
  if (!msg->IsInitialized()) {
    return InvalidArgument("'{}' is missing required fields: {}", message_->full_name(),
                           msg->InitializationErrorString());
  }
  std::string bytes;
  if (!msg->SerializePartialToString(&bytes)) {
    return InvalidArgument("'{}' could not be serialized", message_->full_name());
  }
  out += indexes_;
  out += bytes;
  return Status::Ok();
}

}  // namespace sluice::schema::protobuf
