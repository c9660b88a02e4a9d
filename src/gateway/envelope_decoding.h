// Pure decoders of produce request bodies: body + headers in, events (or per-record errors) out.
// Shared by the HTTP handlers and the fuzzer (fuzz/envelope_fuzz.cc); no I/O, no Asio.
//   - Sluice's own events: one JSON value, an array, NDJSON, optionally in envelopes.
//   - CloudEvents 1.0 over HTTP: binary, structured and batched modes.
//   - Confluent REST Proxy v2 bodies ({"records":[...]}) and v3 records (one JSON object per
//     record, several concatenated in the streamed mode).
// Wire shapes and what is stored: docs/http-api.md, docs/rest-proxy.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codec/json_value.h"
#include "gateway/publish_event.h"

namespace sluice::codec {
class JsonParser;
}

namespace sluice::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names lower-case

struct DecodeLimits {
  size_t max_event_bytes = 1024 * 1024;  // key + value + headers of one event
  size_t max_events = 10000;             // events in one request
};

// --- Sluice's own API ---------------------------------------------------------------------

// Builds one event from a parsed JSON value: the value itself, or with `envelope` an object
// {"value", "key", "headers", "timestamp", "partition"} (docs/http-api.md). `where` names the
// event in errors ("event 3"). Errors: kInvalidArgument saying which field is wrong.
Status EventFromJson(const codec::JsonValue& v, bool envelope, const std::string& where,
                     PublishEvent& out);

// Decodes a POST /v1/topics/{topic}/events body. Plain events are stored as written minus
// insignificant whitespace; with `envelope` each event is {"value","key","headers","timestamp",
// "partition"}. Errors (the whole request): kInvalidArgument naming the event or line,
// kResourceExhausted (too many events, an event too large).
Status DecodeSluiceEvents(std::string_view body, bool ndjson, bool envelope,
                          const DecodeLimits& limits, codec::JsonParser& parser,
                          std::vector<PublishEvent>& out);

// --- CloudEvents 1.0 ------------------------------------------------------------------------

enum class CloudEventsMode { kNone, kBinary, kStructured, kBatch };

// By Content-Type: application/cloudevents-batch+json → batch, application/cloudevents+json →
// structured; otherwise binary when a `ce-specversion` header is present; else kNone.
CloudEventsMode DetectCloudEventsMode(std::string_view media_type, const HeaderList& headers);

// Decodes CloudEvents into records (what is stored: docs/http-api.md "CloudEvents"):
//   value = data (JSON text, the string's text, or data_base64 decoded; binary mode: the body),
//   key = partitionkey, headers: traceparent / tracestate as is, content-type =
//   datacontenttype, every other attribute as ce_<name>.
// `content_type` is the raw Content-Type header (binary mode stores it as datacontenttype).
// Errors (the whole request): kInvalidArgument "event 2: missing required attribute 'source'",
// wrong specversion, bad attribute names or values; kResourceExhausted as above.
Status DecodeCloudEvents(CloudEventsMode mode, std::string_view content_type,
                         const HeaderList& headers, std::string_view body,
                         const DecodeLimits& limits, codec::JsonParser& parser,
                         std::vector<PublishEvent>& out);

// --- Confluent REST Proxy -------------------------------------------------------------------

enum class EmbeddedFormat { kBinary, kJson, kAvro, kJsonSchema, kProtobuf };
std::string_view EmbeddedFormatName(EmbeddedFormat f);  // "binary", "json", ...
// application/vnd.kafka.{binary,json,avro,jsonschema,protobuf}.v2+json; nullopt otherwise.
std::optional<EmbeddedFormat> ParseV2MediaType(std::string_view media_type);

// One v2 record. For binary the key/value are the base64-decoded bytes; for every other format
// the minified JSON text of the key/value (schema formats are encoded later by the handler).
struct V2Record {
  PublishEvent event;
  Status error;  // a record that cannot be decoded (bad base64, bad partition); others proceed
};
struct V2Request {
  std::vector<V2Record> records;
  std::optional<std::string> key_schema, value_schema;
  std::optional<int32_t> key_schema_id, value_schema_id;
};
// Errors (the whole request): kInvalidArgument (not JSON, no records array, unknown fields),
// kResourceExhausted (too many records).
Result<V2Request> DecodeRestProxyV2(std::string_view body, EmbeddedFormat format,
                                    const DecodeLimits& limits, codec::JsonParser& parser);

// One key or value of a v3 record: how it was sent and, for schema-based data, how to find the
// schema. `bytes` holds the bytes to store (schemaless) or the JSON text (schema-based).
struct V3Data {
  std::string type;  // "BINARY", "JSON", "STRING", "AVRO", "JSONSCHEMA", "PROTOBUF"
  bool schema_based = false;
  std::optional<std::string> bytes;
  std::optional<int32_t> schema_id;
  std::optional<int32_t> schema_version;
  std::optional<std::string> schema;   // inline schema text
  std::optional<std::string> subject;  // else <topic>-key / <topic>-value
};
struct V3Record {
  PublishEvent event;
  std::optional<V3Data> key, value;  // absent when not sent
  Status error;                      // this record cannot be produced (its report says why)
};
// Splits a v3 body into records: one JSON object, or several concatenated (whitespace between
// them allowed: the streamed mode). A record that is not valid JSON ends the stream with an
// error record (nothing after it can be framed). Errors: kInvalidArgument for an empty body,
// kResourceExhausted beyond limits.max_events.
Result<std::vector<V3Record>> DecodeRestProxyV3(std::string_view body, const DecodeLimits& limits,
                                                codec::JsonParser& parser);

// RFC 3339 date-time ("2024-05-01T12:00:00.123Z", "...+02:00") → milliseconds since the epoch.
std::optional<int64_t> ParseRfc3339Millis(std::string_view s);
// A point in time as people write one: milliseconds since the epoch ("1796083200000") or an
// RFC 3339 date-time; a space where an offset's '+' belongs is read as that '+' (form decoding
// turns an unencoded '+' in a query into a space). nullopt when neither, or before the epoch.
std::optional<int64_t> ParseTimeMillis(std::string_view s);

}  // namespace sluice::gateway
