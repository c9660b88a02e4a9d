// Helpers shared by the RestApi handlers.
#include "gateway/internal/api_util.h"

#include <charconv>

#include "codec/json_parser.h"

namespace sluice::gateway::internal {

bool IsJsonMediaType(const std::string& mt) {
  if (mt.empty() || mt == "application/json") return true;
  return mt.starts_with("application/") && mt.ends_with("+json");
}

bool IsNdjsonMediaType(const std::string& mt) {
  return mt == "application/x-ndjson" || mt == "application/ndjson" ||
         mt == "application/jsonl" || mt == "application/x-jsonlines";
}

HttpResponse UnsupportedMediaType(const HttpRequest& req, std::string_view accepted) {
  return HttpResponse::Error(
      415, "invalid_argument",
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

Result<int32_t> ParsePartition(const std::string& s) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return InvalidArgument("partition must be a non-negative integer, got '{}'", s);
  }
  return v;
}

Result<std::map<std::string, std::string>> ConfigObjectToMap(const codec::JsonValue& v) {
  if (!v.is_object()) {
    return InvalidArgument("\"config\" must be an object, got {}",
                           codec::JsonValue::TypeName(v.type()));
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.members()) {
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
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

Status EventFromJson(const codec::JsonValue& v, bool envelope, const std::string& where,
                     PublishEvent& out) {
  if (!envelope) {
    out.record.value = v.ToJson();
    return Status::Ok();
  }
  if (!v.is_object()) {
    return InvalidArgument(
        "{}: with envelope=true each event must be an object with "
        "\"value\" and optional \"key\", \"headers\", \"timestamp\", "
        "\"partition\"",
        where);
  }
  for (const auto& [k, f] : v.members()) {
    if (k == "value") {
      if (!f.is_null()) out.record.value = f.ToJson();
    } else if (k == "key") {
      if (f.is_string()) {
        out.record.key = f.text();
      } else if (!f.is_null()) {
        out.record.key = f.ToJson();
      }
    } else if (k == "headers") {
      if (!f.is_object() && !f.is_null()) {
        return InvalidArgument("{}: \"headers\" must be an object of strings", where);
      }
      for (const auto& [hk, hv] : f.members()) {
        if (hv.is_null()) {
          out.record.headers.push_back(model::Header{hk, std::nullopt});
        } else if (hv.is_string()) {
          out.record.headers.push_back(model::Header{hk, hv.text()});
        } else {
          return InvalidArgument("{}: header '{}' must be a string or null", where, hk);
        }
      }
    } else if (k == "timestamp") {
      auto ts = f.AsInt64();
      if (!ts || *ts < 0) {
        return InvalidArgument(
            "{}: \"timestamp\" must be a non-negative integer (ms since "
            "the epoch)",
            where);
      }
      out.record.timestamp = *ts;
    } else if (k == "partition") {
      auto p = f.AsInt64();
      if (!p || *p < 0 || *p > INT32_MAX) {
        return InvalidArgument("{}: \"partition\" must be a non-negative integer", where);
      }
      out.partition = static_cast<int32_t>(*p);
    } else {
      return InvalidArgument(
          "{}: unknown envelope field '{}'; expected key, value, headers, "
          "timestamp, partition",
          where, k);
    }
  }
  return Status::Ok();
}

}  // namespace sluice::gateway::internal
