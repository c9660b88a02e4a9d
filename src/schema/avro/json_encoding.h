// JSON → Avro binary: the Avro specification's JSON encoding, as Confluent's REST Proxy accepts
// it for `key`/`value` of avro requests (Avro Java's JsonDecoder), turned into the binary datum
// the validator (CompileValidator) and every Avro reader accept. How the REST Proxy uses it:
// docs/rest-proxy.md ("Avro and Protobuf").
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "codec/json_value.h"
#include "schema/avro/node.h"

namespace sluice::codec {
class JsonParser;
}

namespace sluice::schema::avro {

// Appends the Avro binary encoding of `value`, read as Avro's JSON encoding of `schema`, to
// `out`:
//   - null: null; boolean: true/false; int/long: integers in range (no fraction, no exponent);
//     float/double: any number, or the strings "NaN", "Infinity", "-Infinity";
//   - string: a string; bytes: a string whose code points are 0-255 (one byte each); fixed: the
//     same with exactly `size` code points; enum: one of its symbols;
//   - record: an object with the fields by name (any order); a missing field takes its default,
//     a field without default must be present; unknown fields are errors;
//   - array: an array; map: an object;
//   - union: null for a null branch, else an object with one member {"<branch>": value}, the
//     branch named by its type name ("int", "array", "map") or, for a named type, its full name
//     (or its short name when that is unique among the branches);
//   - logical types are written as their underlying type (a timestamp-millis is a long, a
//     decimal the bytes of its two's-complement unscaled value).
// Defaults are encoded the way the specification writes them (a union's default belongs to its
// first branch, unwrapped). Recursion is bounded by the JSON depth (kMaxDepth).
// Errors: kInvalidArgument "<path>: expected int, got string" where path is the field path
// from the datum ("address.zip", "items[2]", "tags[\"k\"]"; empty for the datum itself, then
// without the leading "<path>: "), after `root` when given ("records[2].value.address.zip").
// On error `out` may hold a partial datum.
Status EncodeJson(const Node& schema, const codec::JsonValue& value, std::string& out,
                  std::string_view root = {});

// Parses `json` with `parser` and encodes it as above.
// Errors: kInvalidArgument for invalid JSON (positioned) or as EncodeJson.
Result<std::string> EncodeJsonText(const Node& schema, std::string_view json,
                                   codec::JsonParser& parser, std::string_view root = {});

inline constexpr int kMaxJsonEncodingDepth = 128;

}  // namespace sluice::schema::avro
