// Helpers shared by the RestApi handlers.
#include "gateway/internal/api_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"

namespace sluice::gateway::internal {

bool IsJsonMediaType(std::string_view mt) {
  if (mt.empty() || mt == "application/json") return true;
  return mt.starts_with("application/") && mt.ends_with("+json");
}

bool IsNdjsonMediaType(std::string_view mt) {
  return mt == "application/x-ndjson" || mt == "application/ndjson" ||
         mt == "application/jsonl" || mt == "application/x-jsonlines";
}

HttpResponse UnsupportedMediaType(const HttpRequest& req, std::string_view accepted) {
  // The same error_code as every other 415 (an unknown Content-Encoding, a pipeline spec's type):
  // one status, one code, as docs/http-api.md's table lists.
  return HttpResponse::Error(
      415, "unsupported_media_type",
      fmt::format("unsupported Content-Type '{}'; send {}", req.Header("content-type"),
                  accepted));
}

Result<codec::JsonValue> ParseJsonBody(const HttpRequest& req) {
  codec::JsonParser parser;
  auto v = parser.Parse(req.body);
  if (!v.ok()) return v.status().WithContext("request body");
  return v;
}

Result<std::optional<int64_t>> IntParam(const HttpRequest& req, std::string_view name,
                                        int64_t min, int64_t max) {
  auto raw = req.Query(name);
  if (!raw) return std::optional<int64_t>();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (raw->empty() || ec != std::errc() || p != raw->data() + raw->size()) {
    return InvalidArgument("query parameter '{}' must be an integer, got '{}'", name, *raw);
  }
  if (v < min || v > max) {
    if (v < 0 && min >= 0) {
      return InvalidArgument("query parameter '{}' must not be negative, got {}", name, v);
    }
    return InvalidArgument("query parameter '{}' must be between {} and {}, got {}", name, min,
                           max, v);
  }
  return std::optional<int64_t>(v);
}

Result<bool> BoolParam(const HttpRequest& req, std::string_view name, bool absent) {
  auto raw = req.Query(name);
  if (!raw) return absent;
  auto is = [&](std::string_view word) {
    return std::equal(raw->begin(), raw->end(), word.begin(), word.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  if (is("true") || is("1")) return true;
  if (is("false") || is("0")) return false;
  return InvalidArgument("query parameter '{}' must be true or false (or 1 or 0), got '{}'", name,
                         *raw);
}

Result<std::optional<int64_t>> TimeParam(const HttpRequest& req, std::string_view name) {
  auto raw = req.Query(name);
  if (!raw) return std::optional<int64_t>();
  std::optional<int64_t> v = ParseTimeMillis(*raw);
  if (!v) {
    return InvalidArgument(
        "query parameter '{}' must be milliseconds since the epoch or an RFC 3339 time at or "
        "after the epoch (2026-12-01T09:30:00Z), got '{}'",
        name, *raw);
  }
  return v;
}

Result<int32_t> ParsePartition(const std::string& s) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return InvalidArgument("partition must be a non-negative integer, got '{}'", s);
  }
  return v;
}

Status CheckFields(const codec::JsonValue& v, std::initializer_list<std::string_view> allowed,
                   std::string_view what) {
  const auto& members = v.members();
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string& k = members[i].first;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string expected;
      for (std::string_view a : allowed) {
        if (!expected.empty()) expected += ", ";
        expected += a;
      }
      return InvalidArgument("unknown field '{}' in {}; expected {}", k, what, expected);
    }
    for (size_t j = 0; j < i; ++j) {
      if (members[j].first == k) return InvalidArgument("field '{}' appears twice in {}", k, what);
    }
  }
  return Status::Ok();
}

Result<std::map<std::string, std::string>> ConfigObjectToMap(const codec::JsonValue& v) {
  if (!v.is_object()) {
    return InvalidArgument("\"config\" must be an object, got {}",
                           codec::JsonValue::TypeName(v.type()));
  }
  std::map<std::string, std::string> out;
  // Canonical spelling (TopicConfig reads '.' as '_') → the key as sent.
  std::map<std::string, std::string, std::less<>> seen;
  for (const auto& [k, val] : v.members()) {
    std::string canonical = k;
    std::replace(canonical.begin(), canonical.end(), '.', '_');
    auto [it, fresh] = seen.emplace(std::move(canonical), k);
    if (!fresh) {
      if (it->second == k) return InvalidArgument("config key '{}' appears twice", k);
      return InvalidArgument("config keys '{}' and '{}' name the same setting; give one",
                             it->second, k);
    }
    if (val.is_string() || val.is_number()) {
      out[k] = val.text();
    } else if (val.is_bool()) {
      out[k] = val.bool_value() ? "true" : "false";
    } else {
      return InvalidArgument("config key '{}' must be a string, number or boolean, got {}", k,
                             codec::JsonValue::TypeName(val.type()));
    }
  }
  return out;
}

void WriteTopicDescription(codec::JsonWriter& w, const storage::TopicDescription& d) {
  w.BeginObject();
  w.Field("name", d.name);
  w.Field("internal", d.internal);
  w.Field("partition_count", static_cast<int64_t>(d.partitions.size()));
  w.Key("config").BeginObject();
  for (const auto& [k, v] : d.config.ToMap()) {
    w.Key(k);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (!v.empty() && ec == std::errc() && p == v.data() + v.size()) {
      w.Int(n);
    } else if (v == "true" || v == "false") {
      w.Bool(v == "true");
    } else {
      w.String(v);
    }
  }
  w.EndObject();
  w.Key("partitions").BeginArray();
  for (const auto& p : d.partitions) {
    w.BeginObject();
    w.Field("partition", p.partition.value());
    w.Field("log_start_offset", p.log_start_offset.value());
    w.Field("high_watermark", p.high_watermark.value());
    w.Field("size_bytes", p.size_bytes);
    w.Field("segments", p.segments);
    if (p.preallocated_bytes >= 0) {
      w.Field("preallocated_bytes", p.preallocated_bytes);
      w.Key("active_segment_preallocated").Bool(p.active_segment_preallocated);
      w.Key("active_segment_recycled").Bool(p.active_segment_recycled);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}


void WriteRecordFields(codec::JsonWriter& w, codec::JsonParser& parser,
                       const model::RecordView& rec) {
  w.Field("offset", rec.offset.value());
  w.Field("timestamp", rec.timestamp);
  w.Key("key");
  if (rec.key) {
    w.String(*rec.key);
  } else {
    w.Null();
  }
  w.Key("value");
  if (!rec.value) {
    w.Null();
  } else if (parser.IsValid(*rec.value)) {
    w.Raw(*rec.value);
  } else {
    w.String(*rec.value);
  }
  w.Key("headers").BeginObject();
  for (const auto& h : rec.headers) {
    w.Key(h.key);
    if (h.value) {
      w.String(*h.value);
    } else {
      w.Null();
    }
  }
  w.EndObject();
}

}  // namespace sluice::gateway::internal
