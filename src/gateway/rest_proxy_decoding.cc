// Confluent REST Proxy request bodies (v2 {"records":[...]}, v3 records and the v3 streamed
// mode) decoded into events with per-record errors. See envelope_decoding.h.
#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"
#include "gateway/internal/base64.h"

namespace sluice::gateway {

using codec::JsonValue;

namespace {

Status CheckSize(const PublishEvent& e, const std::string& where, const DecodeLimits& limits) {
  size_t bytes = EventPayloadBytes(e.record);
  if (bytes > limits.max_event_bytes) {
    return ResourceExhausted("{} is {} bytes; the limit is {} bytes", where, bytes,
                             limits.max_event_bytes);
  }
  return Status::Ok();
}

Result<int32_t> Partition(const JsonValue& v, std::string_view field, const std::string& where) {
  auto p = v.AsInt64();
  if (!v.is_number() || !p || *p < 0 || *p > INT32_MAX) {
    return InvalidArgument("{}: '{}' must be a non-negative integer", where, field);
  }
  return static_cast<int32_t>(*p);
}

// A v2 key or value in the request's embedded format.
Result<std::optional<std::string>> V2Data(const JsonValue& v, EmbeddedFormat format,
                                          std::string_view field, const std::string& where) {
  if (v.is_null()) return std::optional<std::string>();
  if (format != EmbeddedFormat::kBinary) return std::optional<std::string>(v.ToJson());
  if (!v.is_string()) {
    return InvalidArgument("{}: '{}' must be a base64 string in the binary format", where, field);
  }
  auto bytes = internal::Base64Decode(v.text());
  if (!bytes) return InvalidArgument("{}: '{}' is not valid base64", where, field);
  return std::optional<std::string>(std::move(*bytes));
}

// Finds the end of one JSON value starting with '{' at text[pos]: the index after its closing
// brace, or npos when the text ends first. Strings (and their escapes) are skipped.
size_t ObjectEnd(std::string_view text, size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One v3 data object ({"type","data",...}).
Result<V3Data> DecodeV3Data(const JsonValue& v, std::string_view field, const std::string& where) {
  if (!v.is_object()) {
    return InvalidArgument("{}: '{}' must be an object like {{\"type\":\"JSON\",\"data\":...}}",
                           where, field);
  }
  V3Data d;
  const JsonValue* data = nullptr;
  for (const auto& [k, f] : v.members()) {
    if (k == "type") {
      if (!f.is_string()) return InvalidArgument("{}: '{}.type' must be a string", where, field);
      d.type = f.text();
    } else if (k == "data") {
      data = &f;
    } else if (k == "schema_id") {
      auto id = f.AsInt64();
      if (!f.is_number() || !id || *id < 0 || *id > INT32_MAX) {
        return InvalidArgument("{}: '{}.schema_id' must be a non-negative integer", where, field);
      }
      d.schema_id = static_cast<int32_t>(*id);
    } else if (k == "schema_version") {
      auto ver = f.AsInt64();
      if (!f.is_number() || !ver || *ver < -1 || *ver == 0 || *ver > INT32_MAX) {
        return InvalidArgument("{}: '{}.schema_version' must be a positive integer (or -1)",
                               where, field);
      }
      d.schema_version = static_cast<int32_t>(*ver);
    } else if (k == "schema") {
      if (!f.is_string()) return InvalidArgument("{}: '{}.schema' must be a string", where, field);
      d.schema = f.text();
    } else if (k == "subject") {
      if (!f.is_string()) return InvalidArgument("{}: '{}.subject' must be a string", where, field);
      d.subject = f.text();
    } else if (k == "subject_name_strategy") {
      if (!f.is_string() || f.text() != "TOPIC_NAME") {
        return InvalidArgument("{}: only subject_name_strategy TOPIC_NAME is supported", where);
      }
    } else {
      return InvalidArgument("{}: unknown field '{}.{}'", where, field, k);
    }
  }
  bool has_schema_fields = d.schema_id || d.schema_version || d.schema || d.subject;
  if (d.type.empty() || d.type == "AVRO" || d.type == "JSONSCHEMA" || d.type == "PROTOBUF") {
    d.schema_based = true;
    if (data != nullptr && !data->is_null()) d.bytes = data->ToJson();
    return d;
  }
  if (has_schema_fields) {
    return InvalidArgument("{}: '{}' of type {} cannot name a schema", where, field, d.type);
  }
  if (data == nullptr || data->is_null()) return d;
  if (d.type == "BINARY") {
    if (!data->is_string()) {
      return InvalidArgument("{}: '{}.data' must be a base64 string for type BINARY", where,
                             field);
    }
    auto bytes = internal::Base64Decode(data->text());
    if (!bytes) return InvalidArgument("{}: '{}.data' is not valid base64", where, field);
    d.bytes = std::move(*bytes);
  } else if (d.type == "JSON") {
    d.bytes = data->ToJson();
  } else if (d.type == "STRING") {
    if (!data->is_string()) {
      return InvalidArgument("{}: '{}.data' must be a string for type STRING", where, field);
    }
    d.bytes = data->text();
  } else {
    return InvalidArgument(
        "{}: unknown '{}.type' '{}'; expected BINARY, JSON, STRING, AVRO, JSONSCHEMA or "
        "PROTOBUF",
        where, field, d.type);
  }
  return d;
}

Status DecodeV3Record(const JsonValue& v, const std::string& where, V3Record& rec) {
  if (!v.is_object()) return InvalidArgument("{}: a record must be a JSON object", where);
  model::ProduceRecord& r = rec.event.record;
  for (const auto& [k, f] : v.members()) {
    if (k == "partition_id") {
      if (f.is_null()) continue;
      auto p = Partition(f, "partition_id", where);
      if (!p.ok()) return p.status();
      rec.event.partition = *p;
    } else if (k == "headers") {
      if (f.is_null()) continue;
      if (!f.is_array()) return InvalidArgument("{}: 'headers' must be an array", where);
      for (const auto& h : f.items()) {
        const JsonValue* name = h.is_object() ? h.Find("name") : nullptr;
        if (name == nullptr || !name->is_string()) {
          return InvalidArgument("{}: each header must be {{\"name\":...,\"value\":base64}}",
                                 where);
        }
        const JsonValue* value = h.Find("value");
        if (value == nullptr || value->is_null()) {
          r.headers.emplace_back(name->text(), std::nullopt);
          continue;
        }
        auto bytes = value->is_string() ? internal::Base64Decode(value->text()) : std::nullopt;
        if (!bytes) {
          return InvalidArgument("{}: header '{}' value is not valid base64", where,
                                 name->text());
        }
        r.headers.emplace_back(name->text(), std::move(*bytes));
      }
    } else if (k == "key" || k == "value") {
      if (f.is_null()) continue;
      auto d = DecodeV3Data(f, k, where);
      if (!d.ok()) return d.status();
      if (!d->schema_based) (k == "key" ? r.key : r.value) = d->bytes;
      (k == "key" ? rec.key : rec.value) = std::move(d).value();
    } else if (k == "timestamp") {
      if (f.is_null()) continue;
      auto ms = f.is_string() ? ParseRfc3339Millis(f.text()) : std::nullopt;
      if (!ms || *ms < 0) {
        return InvalidArgument("{}: 'timestamp' must be an RFC 3339 date-time", where);
      }
      r.timestamp = *ms;
    } else {
      return InvalidArgument(
          "{}: unknown field '{}'; expected partition_id, headers, key, value, timestamp", where,
          k);
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view EmbeddedFormatName(EmbeddedFormat f) {
  switch (f) {
    case EmbeddedFormat::kBinary: return "binary";
    case EmbeddedFormat::kJson: return "json";
    case EmbeddedFormat::kAvro: return "avro";
    case EmbeddedFormat::kJsonSchema: return "jsonschema";
    case EmbeddedFormat::kProtobuf: return "protobuf";
  }
  return "?";
}

std::optional<EmbeddedFormat> ParseV2MediaType(std::string_view mt) {
  constexpr std::string_view kPrefix = "application/vnd.kafka.";
  constexpr std::string_view kSuffix = ".v2+json";
  if (!mt.starts_with(kPrefix) || !mt.ends_with(kSuffix)) return std::nullopt;
  std::string_view f = mt.substr(kPrefix.size(), mt.size() - kPrefix.size() - kSuffix.size());
  for (auto e : {EmbeddedFormat::kBinary, EmbeddedFormat::kJson, EmbeddedFormat::kAvro,
                 EmbeddedFormat::kJsonSchema, EmbeddedFormat::kProtobuf}) {
    if (f == EmbeddedFormatName(e)) return e;
  }
  return std::nullopt;
}

Result<V2Request> DecodeRestProxyV2(std::string_view body, EmbeddedFormat format,
                                    const DecodeLimits& limits, codec::JsonParser& parser) {
  auto v = parser.Parse(body);
  if (!v.ok()) return v.status().WithContext("request body");
  if (!v->is_object()) {
    return InvalidArgument("request body must be an object like {{\"records\":[...]}}");
  }
  V2Request out;
  const JsonValue* records = nullptr;
  for (const auto& [k, f] : v->members()) {
    if (k == "records") {
      records = &f;
    } else if (k == "key_schema" || k == "value_schema") {
      if (f.is_null()) continue;
      if (!f.is_string()) return InvalidArgument("'{}' must be a string holding the schema", k);
      (k == "key_schema" ? out.key_schema : out.value_schema) = f.text();
    } else if (k == "key_schema_id" || k == "value_schema_id") {
      if (f.is_null()) continue;
      auto id = f.AsInt64();
      if (!f.is_number() || !id || *id < 0 || *id > INT32_MAX) {
        return InvalidArgument("'{}' must be a non-negative integer", k);
      }
      (k == "key_schema_id" ? out.key_schema_id : out.value_schema_id) = static_cast<int32_t>(*id);
    }
    // Other fields are ignored, as the REST Proxy does.
  }
  if (records == nullptr || !records->is_array()) {
    return InvalidArgument("request body needs a \"records\" array");
  }
  if (records->items().empty()) return InvalidArgument("\"records\" is empty");
  if (records->items().size() > limits.max_events) {
    return ResourceExhausted("more than {} records in one request", limits.max_events);
  }
  bool schema_format = format != EmbeddedFormat::kBinary && format != EmbeddedFormat::kJson;
  if (!schema_format && (out.key_schema || out.value_schema || out.key_schema_id ||
                         out.value_schema_id)) {
    return InvalidArgument("the {} format takes no schema; send a schema format "
                           "(application/vnd.kafka.jsonschema.v2+json, ...)",
                           EmbeddedFormatName(format));
  }
  if (out.key_schema && out.key_schema_id) {
    return InvalidArgument("give either key_schema or key_schema_id, not both");
  }
  if (out.value_schema && out.value_schema_id) {
    return InvalidArgument("give either value_schema or value_schema_id, not both");
  }
  out.records.resize(records->items().size());
  for (size_t i = 0; i < records->items().size(); ++i) {
    const JsonValue& r = records->items()[i];
    V2Record& rec = out.records[i];
    std::string where = fmt::format("record {}", i);
    auto fail = [&](Status st) { rec.error = std::move(st); };
    if (!r.is_object()) {
      fail(InvalidArgument("{}: must be an object with key, value, partition", where));
      continue;
    }
    for (const auto& [k, f] : r.members()) {
      if (k == "key" || k == "value") {
        auto d = V2Data(f, format, k, where);
        if (!d.ok()) {
          fail(d.status());
          break;
        }
        (k == "key" ? rec.event.record.key : rec.event.record.value) = std::move(d).value();
      } else if (k == "partition") {
        if (f.is_null()) continue;
        auto p = Partition(f, "partition", where);
        if (!p.ok()) {
          fail(p.status());
          break;
        }
        rec.event.partition = *p;
      } else {
        fail(InvalidArgument("{}: unknown field '{}'; expected key, value, partition", where, k));
        break;
      }
    }
    if (rec.error.ok()) rec.error = CheckSize(rec.event, where, limits);
  }
  return out;
}

Result<std::vector<V3Record>> DecodeRestProxyV3(std::string_view body, const DecodeLimits& limits,
                                                codec::JsonParser& parser) {
  std::vector<V3Record> out;
  size_t pos = 0;
  for (;;) {
    while (pos < body.size() && IsSpace(body[pos])) ++pos;
    if (pos >= body.size()) break;
    if (out.size() >= limits.max_events) {
      return ResourceExhausted("more than {} records in one request", limits.max_events);
    }
    std::string where = fmt::format("record {}", out.size());
    V3Record& rec = out.emplace_back();
    if (body[pos] != '{') {
      rec.error = InvalidArgument("{}: expected a JSON object at byte {}", where, pos);
      break;  // framing is lost: nothing after this can be split reliably
    }
    size_t end = ObjectEnd(body, pos);
    if (end == std::string_view::npos) {
      rec.error = InvalidArgument("{}: the JSON object starting at byte {} is not closed", where,
                                  pos);
      break;
    }
    auto v = parser.Parse(body.substr(pos, end - pos));
    pos = end;
    if (!v.ok()) {
      rec.error = v.status().WithContext(where);
      continue;
    }
    rec.error = DecodeV3Record(*v, where, rec);
    if (rec.error.ok()) rec.error = CheckSize(rec.event, where, limits);
  }
  if (out.empty()) return InvalidArgument("request body is empty; send one JSON record or more");
  return out;
}

}  // namespace sluice::gateway
