// Confluent REST Proxy v2 and v3 produce on the Publisher. See rest_proxy_api.h and
// docs/rest-proxy.md.
#include "gateway/rest_proxy_api.h"

#include <algorithm>
#include <ctime>
#include <tuple>
#include <map>
#include <memory>

#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "gateway/content_encoding.h"
#include "gateway/internal/api_util.h"
#include "gateway/rest_api.h"
#include "gateway/security.h"
#include "storage/log.h"

namespace sluice::gateway {

using codec::JsonWriter;

namespace {

constexpr std::string_view kV2ContentType = "application/vnd.kafka.v2+json";

// REST Proxy error codes: the HTTP status times 100 plus a detail (v2), or the HTTP status (v3).
int V2Code(const Status& st) {
  switch (st.code()) {
    case ErrorCode::kInvalidArgument: return 40002;
    case ErrorCode::kNotFound: return 40401;
    case ErrorCode::kResourceExhausted: return 41301;
    case ErrorCode::kFailedPrecondition: return 42206;
    case ErrorCode::kUnauthenticated: return 40101;
    case ErrorCode::kPermissionDenied: return 40301;
    case ErrorCode::kUnavailable: return 50003;
    default: return 50002;
  }
}

HttpResponse V2Error(int http_status, int code, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Field("error_code", static_cast<int64_t>(code)).Field("message", message);
  w.EndObject();
  HttpResponse r = HttpResponse::Json(http_status, w.Take());
  r.content_type = kV2ContentType;
  if (http_status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}
HttpResponse V2Error(const Status& st) {
  int code = V2Code(st);
  return V2Error(code / 100, code, st.message());
}

HttpResponse V3Error(int http_status, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Field("error_code", static_cast<int64_t>(http_status)).Field("message", message);
  w.EndObject();
  HttpResponse r = HttpResponse::Json(http_status, w.Take());
  if (http_status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

// Confluent wire format: magic byte 0, the schema id big-endian, then the payload.
std::string WireFormat(int32_t id, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  out.push_back('\0');
  uint32_t u = static_cast<uint32_t>(id);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
  out.append(payload);
  return out;
}

std::string Rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms % 1000));
}

// How a request names a schema, resolved to an id by ResolveSchema.
struct SchemaSpec {
  std::string subject;
  std::optional<int32_t> id;
  std::optional<int32_t> version;  // -1 = latest
  std::optional<std::string> text;
  bool operator<(const SchemaSpec& o) const {
    return std::tie(subject, id, version, text) < std::tie(o.subject, o.id, o.version, o.text);
  }
};

// A resolved schema: its id and format.
struct ResolvedSchema {
  int32_t id = 0;
  schema::SchemaType type = schema::SchemaType::kJson;
};

// The schema format an embedded format needs; nullopt for the schemaless ones.
std::optional<schema::SchemaType> SchemaTypeOf(EmbeddedFormat f) {
  switch (f) {
    case EmbeddedFormat::kAvro: return schema::SchemaType::kAvro;
    case EmbeddedFormat::kJsonSchema: return schema::SchemaType::kJson;
    case EmbeddedFormat::kProtobuf: return schema::SchemaType::kProtobuf;
    default: return std::nullopt;
  }
}

// Resolves a schema to an id: registers inline text (as `want`, JSON Schema when unset),
// checks given ids, else takes the subject's latest version. With `want`, the schema must be
// of that format. Errors: kNotFound (no such id/subject), kInvalidArgument (bad schema),
// kFailedPrecondition (incompatible), kUnimplemented (a schema of another format than `want`).
Task<Result<ResolvedSchema>> ResolveSchema(SchemaSource* schemas, SchemaSpec spec,
                                           std::optional<schema::SchemaType> want) {
  int32_t id = 0;
  if (spec.text) {
    std::string subject = spec.subject;
    std::string text = *spec.text;
    auto r = co_await schemas->Register(std::move(subject),
                                        want.value_or(schema::SchemaType::kJson), std::move(text));
    if (!r.ok()) co_return r.status();
    id = *r;
  } else if (spec.id) {
    id = *spec.id;
  } else {
    auto r = schemas->VersionId(spec.subject, spec.version);
    if (!r.ok()) {
      co_return NotFound("no schema given and subject '{}' has none registered: {}", spec.subject,
                         r.status().message());
    }
    id = *r;
  }
  auto type = schemas->TypeOf(id);
  if (!type.ok()) co_return NotFound("schema {} not found", id);
  if (want && *type != *want) {
    co_return Unimplemented("schema {} is {}, but the data is sent as {}", id,
                            schema::SchemaTypeName(*type), schema::SchemaTypeName(*want));
  }
  co_return ResolvedSchema{id, *type};
}

// Turns a key or value (JSON text) into the Confluent wire format for a resolved schema:
// JSON Schema validates the text and stores it; Avro and Protobuf encode it to binary. `where`
// names it in errors ("records[2].value"). Errors: kFailedPrecondition (does not match).
Status EncodeSchemaData(SchemaSource* schemas, const ResolvedSchema& schema,
                        std::optional<std::string>& data, std::string_view where,
                        codec::JsonParser& parser) {
  if (!data) return Status::Ok();
  if (schema.type == schema::SchemaType::kJson) {
    Status st = schemas->Validate(schema.id, *data);
    if (!st.ok()) {
      return FailedPrecondition("{} does not match schema {}: {}", where, schema.id,
                                st.message());
    }
    *data = WireFormat(schema.id, *data);
    return Status::Ok();
  }
  auto payload = schemas->EncodeJson(schema.id, *data, where, parser);
  if (!payload.ok()) {
    if (payload.status().code() == ErrorCode::kInvalidArgument) {
      return FailedPrecondition("{} (schema {})", payload.status().message(), schema.id);
    }
    return payload.status();
  }
  *data = WireFormat(schema.id, *payload);
  return Status::Ok();
}

// v2 request-level schema errors, in the REST Proxy's codes.
HttpResponse SchemaError(const Status& st, bool is_key) {
  switch (st.code()) {
    case ErrorCode::kNotFound:
      return V2Error(404, 40403, st.message());
    case ErrorCode::kInvalidArgument:
      return V2Error(422, 42205, st.message());
    case ErrorCode::kFailedPrecondition:
      return V2Error(409, 40901, st.message());
    case ErrorCode::kUnimplemented:
      return V2Error(415, 41502, st.message());
    default:
      (void)is_key;
      return V2Error(st);
  }
}

}  // namespace

RestProxyApi::RestProxyApi(RestProxyOptions options, Publisher& publisher, const Clock& clock)
    : options_(std::move(options)), publisher_(publisher), clock_(clock) {}

void RestProxyApi::Register(Router& router) {
  auto produce = RouteAccess::On("topic:{topic}", {auth_rbac::Action::kProduce});
  router.Add(
      "POST", "/topics/{topic}", [this](HttpRequest& r) { return ProduceV2(r); },
      "restproxy_v2_produce", produce);
  router.Add(
      "POST", "/topics/{topic}/partitions/{partition}",
      [this](HttpRequest& r) { return ProduceV2(r); }, "restproxy_v2_produce_partition", produce);
  router.Add(
      "POST", "/v3/clusters/{cluster}/topics/{topic}/records",
      [this](HttpRequest& r) { return ProduceV3(r); }, "restproxy_v3_produce", produce);
  router.Add(
      "GET", "/v3/clusters", [this](HttpRequest& r) { return ListClusters(r); },
      "restproxy_v3_clusters");
  router.Add(
      "GET", "/v3/clusters/{cluster}", [this](HttpRequest& r) { return GetCluster(r); },
      "restproxy_v3_cluster");
}

Task<HttpResponse> RestProxyApi::ProduceV2(HttpRequest& req) {
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return V2Error(404, 40401, st.message());
  int32_t path_partition = -1;
  if (req.path_params.count("partition") != 0) {
    auto p = internal::ParsePartition(req.Param("partition"));
    if (!p.ok()) co_return V2Error(404, 40402, p.status().message());
    path_partition = *p;
  }
  st = DecodeRequestBodyInPlace(req, static_cast<size_t>(options_.max_request_bytes));
  if (!st.ok()) {
    int http = st.code() == ErrorCode::kUnimplemented ? 415 : ErrorCodeToHttp(st.code());
    co_return V2Error(http, http * 100 + 1, st.message());
  }
  std::string mt = req.MediaType();
  auto format = ParseV2MediaType(mt);
  if (!format) {
    co_return V2Error(415, 41501,
                      fmt::format("unsupported Content-Type '{}'; send application/vnd.kafka."
                                  "{{binary,json,jsonschema,avro,protobuf}}.v2+json",
                                  req.Header("content-type")));
  }
  // One parser for the request (simdjson buffers), used only between suspension points.
  auto parser = std::make_unique<codec::JsonParser>();
  Result<V2Request> decoded = DecodeRestProxyV2(req.body, *format, options_.limits, *parser);
  if (!decoded.ok()) {
    co_return decoded.status().code() == ErrorCode::kResourceExhausted
        ? V2Error(413, 41301, decoded.status().message())
        : V2Error(400, 40001, decoded.status().message());
  }
  V2Request& body = *decoded;
  if (path_partition >= 0) {
    for (auto& r : body.records) r.event.partition = path_partition;
  }

  // Schema formats: resolve the key and value schemas once for the request.
  std::optional<int32_t> key_id, value_id;
  if (auto want = SchemaTypeOf(*format)) {
    SchemaSource* schemas = schemas_.load();
    if (schemas == nullptr) {
      co_return V2Error(503, 50003,
                        fmt::format("the {} format needs the schema registry, which is not running",
                                    EmbeddedFormatName(*format)));
    }
    std::optional<ResolvedSchema> key_schema, value_schema;
    bool any_key = false, any_value = false;
    for (const auto& r : body.records) {
      any_key |= r.event.record.key.has_value();
      any_value |= r.event.record.value.has_value();
    }
    if (any_key || body.key_schema || body.key_schema_id) {
      SchemaSpec spec{topic + "-key", body.key_schema_id, std::nullopt, body.key_schema};
      auto id = co_await ResolveSchema(schemas, std::move(spec), want);
      if (!id.ok()) {
        if (id.status().code() == ErrorCode::kNotFound && !body.key_schema_id) {
          co_return V2Error(422, 42201, "records have keys but no key schema was given: " +
                                            id.status().message());
        }
        co_return SchemaError(id.status(), true);
      }
      key_schema = *id;
      key_id = id->id;
    }
    if (any_value || body.value_schema || body.value_schema_id) {
      SchemaSpec spec{topic + "-value", body.value_schema_id, std::nullopt, body.value_schema};
      auto id = co_await ResolveSchema(schemas, std::move(spec), want);
      if (!id.ok()) {
        if (id.status().code() == ErrorCode::kNotFound && !body.value_schema_id) {
          co_return V2Error(422, 42202, "no value schema was given: " + id.status().message());
        }
        co_return SchemaError(id.status(), false);
      }
      value_schema = *id;
      value_id = id->id;
    }
    // JSON Schema errors keep their "record N: value" wording; the binary formats name the
    // field path from the request ("records[2].value.address.zip").
    const bool json_schema = *want == schema::SchemaType::kJson;
    for (size_t i = 0; i < body.records.size(); ++i) {
      auto& r = body.records[i];
      if (!r.error.ok()) continue;
      if (key_schema) {
        std::string where = json_schema ? fmt::format("record {}: key", i)
                                        : fmt::format("records[{}].key", i);
        r.error = EncodeSchemaData(schemas, *key_schema, r.event.record.key, where, *parser);
      }
      if (r.error.ok() && value_schema) {
        std::string where = json_schema ? fmt::format("record {}: value", i)
                                        : fmt::format("records[{}].value", i);
        r.error = EncodeSchemaData(schemas, *value_schema, r.event.record.value, where, *parser);
      }
      // Binary encodings change the size: check the limit again.
      if (r.error.ok() && EventPayloadBytes(r.event.record) > options_.limits.max_event_bytes) {
        r.error = ResourceExhausted("record {} is {} bytes; the limit is {} bytes", i,
                                    EventPayloadBytes(r.event.record),
                                    options_.limits.max_event_bytes);
      }
    }
  }

  // Publish the records that decoded; the others keep their own error.
  std::vector<PublishEvent> events;
  std::vector<size_t> index;  // events[k] is body.records[index[k]]
  for (size_t i = 0; i < body.records.size(); ++i) {
    if (!body.records[i].error.ok()) continue;
    index.push_back(i);
    events.push_back(std::move(body.records[i].event));
  }
  Result<PublishOutcome> out;
  if (!events.empty()) {
    // Rate limits and lineage as on the own API; trace context travels with the events.
    AddTraceHeaders(req, events);
    std::string rate_key;
    RateDecision decision;
    PublishOptions po = HttpPublishOptions(req, &rate_key, &decision);
    po.per_event_errors = true;
    out = co_await publisher_.Publish(topic, events, po);
    if (!out.ok() && !decision.allowed) {
      HttpResponse r = V2Error(429, 42901, out.status().message());
      r.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
      co_return r;
    }
    if (!out.ok()) {
      if (out.status().code() == ErrorCode::kNotFound) {
        co_return V2Error(404, 40401, out.status().message());
      }
      co_return V2Error(out.status());
    }
    for (const auto& [k, err] : out->errors) body.records[index[k]].error = err;
  }

  JsonWriter w;
  w.BeginObject().Key("key_schema_id");
  key_id ? w.Int(*key_id) : w.Null();
  w.Key("value_schema_id");
  value_id ? w.Int(*value_id) : w.Null();
  w.Key("offsets").BeginArray();
  size_t k = 0, ok = 0;
  int first_error = 0;
  for (size_t i = 0; i < body.records.size(); ++i) {
    const auto& r = body.records[i];
    w.BeginObject();
    if (r.error.ok()) {
      w.Field("partition", static_cast<int64_t>(events[k].partition));
      w.Field("offset", out->offsets[k].value());
      w.Key("error_code").Null().Key("error").Null();
      ++ok;
    } else {
      int code = V2Code(r.error);
      if (r.error.code() == ErrorCode::kFailedPrecondition) code = 42206;
      if (first_error == 0) first_error = code;
      w.Key("partition").Null().Key("offset").Null();
      w.Field("error_code", static_cast<int64_t>(code)).Field("error", r.error.message());
    }
    if (k < index.size() && index[k] == i) ++k;
    w.EndObject();
  }
  w.EndArray().EndObject();
  // Unlike the original proxy, a request where every record failed is not a 200.
  HttpResponse resp = HttpResponse::Json(ok > 0 ? 200 : first_error / 100, w.Take());
  resp.content_type = kV2ContentType;
  if (resp.status == 503) resp.headers.emplace_back("Retry-After", "1");
  co_return resp;
}

Task<HttpResponse> RestProxyApi::ProduceV3(HttpRequest& req) {
  const std::string& topic = req.Param("topic");
  if (req.Param("cluster") != options_.cluster_id) {
    co_return V3Error(404, fmt::format("cluster '{}' not found; this server's cluster is '{}'",
                                       req.Param("cluster"), options_.cluster_id));
  }
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return V3Error(404, st.message());
  st = DecodeRequestBodyInPlace(req, static_cast<size_t>(options_.max_request_bytes));
  if (!st.ok()) {
    co_return V3Error(st.code() == ErrorCode::kUnimplemented ? 415 : ErrorCodeToHttp(st.code()),
                      st.message());
  }
  if (!internal::IsJsonMediaType(req.MediaType())) {
    co_return internal::UnsupportedMediaType(req, "application/json");
  }
  auto parser = std::make_unique<codec::JsonParser>();
  Result<std::vector<V3Record>> decoded = DecodeRestProxyV3(req.body, options_.limits, *parser);
  if (!decoded.ok()) {
    co_return V3Error(decoded.status().code() == ErrorCode::kResourceExhausted ? 413 : 400,
                      decoded.status().message());
  }
  std::vector<V3Record>& records = *decoded;
  const int64_t now = clock_.NowMs();

  // Schema-based keys and values: resolved per distinct spec, validated, wire-formatted.
  std::map<std::pair<SchemaSpec, std::string>, Result<ResolvedSchema>> resolved;
  for (size_t i = 0; i < records.size(); ++i) {
    V3Record& rec = records[i];
    if (!rec.error.ok()) continue;
    for (int side = 0; side < 2; ++side) {
      const bool is_key = side == 0;
      std::optional<V3Data>& d = is_key ? rec.key : rec.value;
      if (!d || !d->schema_based || !rec.error.ok()) continue;
      // The format: the type given, else the registered schema's (JSON Schema for inline text).
      std::optional<schema::SchemaType> want;
      if (d->type == "AVRO") want = schema::SchemaType::kAvro;
      if (d->type == "PROTOBUF") want = schema::SchemaType::kProtobuf;
      if (d->type == "JSONSCHEMA" || (d->type.empty() && d->schema)) {
        want = schema::SchemaType::kJson;
      }
      SchemaSource* schemas = schemas_.load();
      if (schemas == nullptr) {
        rec.error = Unavailable("schema-based data needs the schema registry, which is not running");
        continue;
      }
      SchemaSpec spec{d->subject.value_or(topic + (is_key ? "-key" : "-value")), d->schema_id,
                      d->schema_version, d->schema};
      auto resolved_key = std::make_pair(spec, d->type);
      auto it = resolved.find(resolved_key);
      if (it == resolved.end()) {
        SchemaSpec copy = spec;
        auto id = co_await ResolveSchema(schemas, std::move(copy), want);
        it = resolved.emplace(std::move(resolved_key), std::move(id)).first;
      }
      if (!it->second.ok()) {
        rec.error = it->second.status();
        continue;
      }
      const ResolvedSchema& rs = *it->second;
      std::optional<std::string>& target = is_key ? rec.event.record.key : rec.event.record.value;
      target = d->bytes;
      std::string where = rs.type == schema::SchemaType::kJson
                              ? fmt::format("record {}: {}", i, is_key ? "key" : "value")
                              : fmt::format("records[{}].{}", i, is_key ? "key" : "value");
      rec.error = EncodeSchemaData(schemas, rs, target, where, *parser);
      if (rec.error.ok()) {
        d->schema_id = rs.id;
        d->type = rs.type == schema::SchemaType::kJson ? "JSONSCHEMA"
                                                       : std::string(schema::SchemaTypeName(rs.type));
      }
    }
    if (rec.error.ok() && EventPayloadBytes(rec.event.record) > options_.limits.max_event_bytes) {
      rec.error = ResourceExhausted("record {} is {} bytes; the limit is {} bytes", i,
                                    EventPayloadBytes(rec.event.record),
                                    options_.limits.max_event_bytes);
    }
    if (rec.event.record.timestamp == model::kNoTimestamp) rec.event.record.timestamp = now;
  }

  std::vector<PublishEvent> events;
  std::vector<size_t> index;
  // Sizes for the reports, taken now: the publisher moves the records into the log.
  std::vector<std::pair<int64_t, int64_t>> sizes;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!records[i].error.ok()) continue;
    index.push_back(i);
    const auto& rec = records[i].event.record;
    sizes.emplace_back(rec.key ? static_cast<int64_t>(rec.key->size()) : 0,
                       rec.value ? static_cast<int64_t>(rec.value->size()) : 0);
    events.push_back(std::move(records[i].event));
  }
  int64_t rate_limited_after = -1;  // Retry-After seconds when rate limited
  Result<PublishOutcome> out;
  if (!events.empty()) {
    // Rate limits and lineage as on the own API; trace context travels with the events.
    AddTraceHeaders(req, events);
    std::string rate_key;
    RateDecision decision;
    PublishOptions po = HttpPublishOptions(req, &rate_key, &decision);
    po.per_event_errors = true;
    out = co_await publisher_.Publish(topic, events, po);
    if (!out.ok() && !decision.allowed) {
      // Over the rate limit: every record reports 429 (as the REST Proxy's limiter does).
      for (size_t i : index) {
        records[i].error = ResourceExhausted("rate limited: {}", out.status().message());
      }
      rate_limited_after = decision.retry_after_s;
    } else if (!out.ok()) {
      // The whole request failed (no topic, store busy): every record reports it.
      for (size_t i : index) records[i].error = out.status();
    } else {
      for (const auto& [k, err] : out->errors) records[index[k]].error = err;
    }
  }

  std::string body;
  size_t k = 0, ok = 0;
  int first_error = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const V3Record& r = records[i];
    JsonWriter w;
    w.BeginObject();
    if (r.error.ok()) {
      const PublishEvent& e = events[k];
      w.Field("error_code", int64_t{200});
      w.Field("cluster_id", options_.cluster_id).Field("topic_name", topic);
      w.Field("partition_id", static_cast<int64_t>(e.partition));
      w.Field("offset", out->offsets[k].value());
      w.Field("timestamp", Rfc3339(e.record.timestamp));
      for (bool is_key : {true, false}) {
        const auto& d = is_key ? r.key : r.value;
        if (!d) continue;
        w.Key(is_key ? "key" : "value").BeginObject();
        w.Field("type", d->type);
        w.Field("size", is_key ? sizes[k].first : sizes[k].second);
        if (d->schema_id) w.Field("schema_id", static_cast<int64_t>(*d->schema_id));
        w.EndObject();
      }
      ++ok;
    } else {
      int code = ErrorCodeToHttp(r.error.code());
      if (r.error.code() == ErrorCode::kFailedPrecondition) code = 422;
      if (rate_limited_after >= 0 && r.error.code() == ErrorCode::kResourceExhausted) code = 429;
      if (r.error.code() == ErrorCode::kUnimplemented) code = 415;
      if (first_error == 0) first_error = code;
      w.Field("error_code", static_cast<int64_t>(code)).Field("message", r.error.message());
    }
    if (k < index.size() && index[k] == i) ++k;
    w.EndObject();
    body += w.Take();
    if (records.size() > 1) body.push_back('\n');
  }
  // One record: its report with its own status. Streamed: 200 (as the REST Proxy) unless every
  // record failed.
  HttpResponse resp = HttpResponse::Json(ok > 0 ? 200 : first_error, std::move(body));
  if (resp.status == 503) resp.headers.emplace_back("Retry-After", "1");
  if (resp.status == 429) {
    resp.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(rate_limited_after, 1)));
  }
  co_return resp;
}

Task<HttpResponse> RestProxyApi::ListClusters(HttpRequest&) {
  JsonWriter w;
  w.BeginObject().Field("kind", "KafkaClusterList");
  w.Key("metadata").BeginObject().Field("self", "/v3/clusters").EndObject();
  w.Key("data").BeginArray().BeginObject();
  w.Field("kind", "KafkaCluster").Field("cluster_id", options_.cluster_id);
  w.EndObject().EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestProxyApi::GetCluster(HttpRequest& req) {
  if (req.Param("cluster") != options_.cluster_id) {
    co_return V3Error(404, fmt::format("cluster '{}' not found", req.Param("cluster")));
  }
  JsonWriter w;
  w.BeginObject().Field("kind", "KafkaCluster").Field("cluster_id", options_.cluster_id);
  w.Key("metadata").BeginObject().Field("self", "/v3/clusters/" + options_.cluster_id);
  w.EndObject().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

}  // namespace sluice::gateway
