// Helpers shared by the RestApi handlers: body/parameter parsing and JSON rendering of log types.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "codec/json_value.h"
#include "codec/json_writer.h"
#include "gateway/http.h"
#include "gateway/publisher.h"
#include "storage/log.h"

namespace sluice::codec {
class JsonParser;
}

namespace sluice::gateway::internal {

// True for media types the JSON routes accept: none given, application/json, application/*+json.
bool IsJsonMediaType(std::string_view media_type);
// True for NDJSON media types: application/x-ndjson, application/ndjson, application/jsonl,
// application/x-jsonlines.
bool IsNdjsonMediaType(std::string_view media_type);
// 415 response (error_code unsupported_media_type) naming what is accepted.
HttpResponse UnsupportedMediaType(const HttpRequest& req, std::string_view accepted);

// Parses a JSON request body; the status says what is wrong and where.
Result<codec::JsonValue> ParseJsonBody(const HttpRequest& req);

// A query parameter as an integer in [min, max]; nullopt when absent.
// Errors: kInvalidArgument naming the parameter (non-numeric, negative, out of range).
Result<std::optional<int64_t>> IntParam(const HttpRequest& req, std::string_view name,
                                        int64_t min, int64_t max);
// A boolean query parameter: true/false or 1/0, any case; `absent` when it is not given.
// Errors: kInvalidArgument naming the parameter, so that a misspelt "dry_run=yes" is refused
// instead of read as false (which would deploy for real).
Result<bool> BoolParam(const HttpRequest& req, std::string_view name, bool absent);
// A query parameter naming a point in time: milliseconds since the epoch, or an RFC 3339
// date-time at or after the epoch ("2026-12-01T09:30:00Z"; an offset's '+' may come unencoded).
// nullopt when absent. Errors: kInvalidArgument naming the parameter and both forms.
Result<std::optional<int64_t>> TimeParam(const HttpRequest& req, std::string_view name);
// Parses a path segment as a partition number (>= 0).
Result<int32_t> ParsePartition(const std::string& s);

// Checks that the object `v` has only the fields in `allowed`, each at most once: a field the
// server would ignore (a typo, a field of another route) must not pass as applied.
// Errors: kInvalidArgument "unknown field 'f' in <what>; expected a, b" or "field 'f' appears
// twice in <what>".
Status CheckFields(const codec::JsonValue& v, std::initializer_list<std::string_view> allowed,
                   std::string_view what);

// {"k": "v"|number|bool} → string map for TopicConfig::Apply. Errors: kInvalidArgument for a
// value of another type, or a key given twice (also in two spellings: "retention_ms" and
// "retention.ms"), which would otherwise keep one of the values silently.
Result<std::map<std::string, std::string>> ConfigObjectToMap(const codec::JsonValue& v);


// Writes a fetched record's fields into the open object: offset, timestamp, key, value (raw
// when it is valid JSON, else a string), headers. Shared by fetch and WebSocket subscribe.
void WriteRecordFields(codec::JsonWriter& w, codec::JsonParser& parser,
                       const model::RecordView& rec);

// Writes a topic description object.
void WriteTopicDescription(codec::JsonWriter& w, const storage::TopicDescription& d);

}  // namespace sluice::gateway::internal
