// CloudEvents 1.0 over HTTP (binary, structured and batched modes) decoded into records laid
// out like the CloudEvents Kafka protocol binding's binary mode. See envelope_decoding.h.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <set>
#include <string>

#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"
#include "gateway/internal/base64.h"

namespace sluice::gateway {

using codec::JsonValue;

namespace {

constexpr std::string_view kSpecVersion = "1.0";

bool ValidAttributeName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsJsonContentType(std::string_view ct) {
  auto semi = ct.find(';');
  std::string mt(ct.substr(0, semi));
  while (!mt.empty() && mt.back() == ' ') mt.pop_back();
  for (char& c : mt) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mt.empty() || mt == "application/json" || mt == "text/json" || mt.ends_with("+json");
}

// Percent-decoding of binary-mode header values (CloudEvents HTTP binding §3.1.3.2).
std::optional<std::string> PercentDecodeHeader(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

// Collects one event's attributes (any mode) and turns them into a record.
class EventBuilder {
 public:
  explicit EventBuilder(std::string where) : where_(std::move(where)) {}

  // Adds one context attribute or extension (string form). Errors name the attribute.
  Status Attribute(std::string_view name, std::string value) {
    if (!ValidAttributeName(name)) {
      return InvalidArgument(
          "{}: attribute name '{}' is invalid: CloudEvents attribute names are lower-case "
          "letters and digits",
          where_, name);
    }
    // A set, not a scan of attrs_: an event may carry very many extensions.
    if (!names_.emplace(name).second) {
      return InvalidArgument("{}: attribute '{}' given twice", where_, name);
    }
    attrs_.emplace_back(std::string(name), std::move(value));
    return Status::Ok();
  }
  void SetData(std::optional<std::string> data) { data_ = std::move(data); }

  Status Build(PublishEvent& out) {
    for (std::string_view req : {"specversion", "id", "source", "type"}) {
      const std::string* v = Find(req);
      if (v == nullptr) {
        return InvalidArgument("{}: missing required attribute '{}' (CloudEvents 1.0 requires "
                               "id, source, specversion and type)",
                               where_, req);
      }
      if (v->empty()) return InvalidArgument("{}: attribute '{}' must not be empty", where_, req);
    }
    if (*Find("specversion") != kSpecVersion) {
      return InvalidArgument("{}: unsupported specversion '{}'; only \"1.0\" is accepted", where_,
                             *Find("specversion"));
    }
    if (const std::string* t = Find("time"); t != nullptr && !ParseRfc3339Millis(*t)) {
      return InvalidArgument("{}: attribute 'time' must be an RFC 3339 timestamp, got '{}'",
                             where_, *t);
    }
    model::ProduceRecord& r = out.record;
    r.value = std::move(data_);
    for (auto& [n, v] : attrs_) {
      if (n == "partitionkey") {
        r.key = std::move(v);
      } else if (n == "datacontenttype") {
        r.headers.emplace_back("content-type", std::move(v));
      } else if (n == "traceparent" || n == "tracestate") {
        r.headers.emplace_back(n, std::move(v));
      } else {
        r.headers.emplace_back("ce_" + n, std::move(v));
      }
    }
    return Status::Ok();
  }

  const std::string& where() const { return where_; }

 private:
  const std::string* Find(std::string_view name) const {
    for (const auto& [n, v] : attrs_) {
      if (n == name) return &v;
    }
    return nullptr;
  }

  std::string where_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  std::set<std::string, std::less<>> names_;
  std::optional<std::string> data_;
};

// One event in the JSON event format (structured mode, or an element of a batch).
Status StructuredEvent(const JsonValue& v, const std::string& where, PublishEvent& out) {
  if (!v.is_object()) {
    return InvalidArgument("{}: a CloudEvent in JSON format must be an object, got {}", where,
                           JsonValue::TypeName(v.type()));
  }
  EventBuilder b(where);
  const JsonValue* data = nullptr;
  const JsonValue* data_base64 = nullptr;
  std::string content_type;
  for (const auto& [k, f] : v.members()) {
    if (k == "data") {
      data = &f;
      continue;
    }
    if (k == "data_base64") {
      data_base64 = &f;
      continue;
    }
    if (f.is_null()) continue;  // JSON null = attribute not set (JSON event format §3.1)
    std::string s;
    if (f.is_string()) {
      s = f.text();
    } else if (f.is_number()) {
      s = f.ToJson();
    } else if (f.is_bool()) {
      s = f.bool_value() ? "true" : "false";
    } else {
      return InvalidArgument("{}: attribute '{}' must be a string, number or boolean, got {}",
                             where, k, JsonValue::TypeName(f.type()));
    }
    if (k == "datacontenttype") content_type = s;
    if ((k == "specversion" || k == "id" || k == "source" || k == "type" || k == "time" ||
         k == "datacontenttype" || k == "dataschema" || k == "subject" ||
         k == "partitionkey") &&
        !f.is_string()) {
      return InvalidArgument("{}: attribute '{}' must be a string", where, k);
    }
    SLUICE_RETURN_IF_ERROR(b.Attribute(k, std::move(s)));
  }
  if (data != nullptr && data_base64 != nullptr && !data->is_null() && !data_base64->is_null()) {
    return InvalidArgument("{}: give either 'data' or 'data_base64', not both", where);
  }
  if (data_base64 != nullptr && !data_base64->is_null()) {
    if (!data_base64->is_string()) {
      return InvalidArgument("{}: 'data_base64' must be a base64 string", where);
    }
    auto bytes = internal::Base64Decode(data_base64->text());
    if (!bytes) return InvalidArgument("{}: 'data_base64' is not valid base64", where);
    b.SetData(std::move(*bytes));
  } else if (data != nullptr && !data->is_null()) {
    // JSON data is stored as JSON text; a string under a non-JSON content type is the data
    // itself (text/plain, application/xml...).
    if (data->is_string() && !IsJsonContentType(content_type)) {
      b.SetData(data->text());
    } else {
      b.SetData(data->ToJson());
    }
  }
  return b.Build(out);
}

Status Push(PublishEvent e, const std::string& where, const DecodeLimits& limits,
            std::vector<PublishEvent>& out) {
  if (out.size() >= limits.max_events) {
    return ResourceExhausted("more than {} events in one request", limits.max_events);
  }
  size_t bytes = EventPayloadBytes(e.record);
  if (bytes > limits.max_event_bytes) {
    return ResourceExhausted("{} is {} bytes; the limit is {} bytes", where, bytes,
                             limits.max_event_bytes);
  }
  out.push_back(std::move(e));
  return Status::Ok();
}

int Digits(std::string_view s, size_t pos, size_t n, bool& ok) {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<int64_t> ParseRfc3339Millis(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  bool ok = true;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int year = Digits(s, 0, 4, ok), mon = Digits(s, 5, 2, ok), day = Digits(s, 8, 2, ok);
  int hour = Digits(s, 11, 2, ok), min = Digits(s, 14, 2, ok), sec = Digits(s, 17, 2, ok);
  if (!ok || mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  // No 31 April or 29 February 2026: timegm would roll them into the next month.
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[mon - 1] + (mon == 2 && leap ? 1 : 0)) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    if (pos + 6 != s.size() || s[pos + 3] != ':') return std::nullopt;
    int oh = Digits(s, pos + 1, 2, ok), om = Digits(s, pos + 4, 2, ok);
    if (!ok || oh > 23 || om > 59) return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec == 60 ? 59 : sec;
  time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_min * 60LL) * 1000 + millis;
}

std::optional<int64_t> ParseTimeMillis(std::string_view s) {
  int64_t ms = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    std::string text(s);
    std::replace(text.begin(), text.end(), ' ', '+');
    ms = ParseRfc3339Millis(text).value_or(-1);
  }
  if (ms < 0) return std::nullopt;
  return ms;
}

CloudEventsMode DetectCloudEventsMode(std::string_view media_type, const HeaderList& headers) {
  if (media_type.starts_with("application/cloudevents-batch")) return CloudEventsMode::kBatch;
  if (media_type.starts_with("application/cloudevents")) return CloudEventsMode::kStructured;
  for (const auto& [n, v] : headers) {
    if (n == "ce-specversion") return CloudEventsMode::kBinary;
  }
  return CloudEventsMode::kNone;
}

Status DecodeCloudEvents(CloudEventsMode mode, std::string_view content_type,
                         const HeaderList& headers, std::string_view body,
                         const DecodeLimits& limits, codec::JsonParser& parser,
                         std::vector<PublishEvent>& out) {
  switch (mode) {
    case CloudEventsMode::kNone:
      return InvalidArgument("not a CloudEvents request");
    case CloudEventsMode::kBinary: {
      EventBuilder b("event 0");
      for (const auto& [n, v] : headers) {
        if (!n.starts_with("ce-")) continue;
        std::string_view name = std::string_view(n).substr(3);
        if (name == "datacontenttype") {
          return InvalidArgument(
              "event 0: binary mode carries datacontenttype in Content-Type, not in a "
              "ce-datacontenttype header");
        }
        auto value = PercentDecodeHeader(v);
        if (!value) {
          return InvalidArgument("event 0: header '{}' has a malformed percent-escape", n);
        }
        SLUICE_RETURN_IF_ERROR(b.Attribute(name, std::move(*value)));
      }
      if (!content_type.empty()) {
        SLUICE_RETURN_IF_ERROR(b.Attribute("datacontenttype", std::string(content_type)));
      }
      if (!body.empty()) b.SetData(std::string(body));
      PublishEvent e;
      SLUICE_RETURN_IF_ERROR(b.Build(e));
      return Push(std::move(e), "event 0", limits, out);
    }
    case CloudEventsMode::kStructured: {
      auto v = parser.Parse(body);
      if (!v.ok()) return v.status().WithContext("request body");
      PublishEvent e;
      SLUICE_RETURN_IF_ERROR(StructuredEvent(*v, "event 0", e));
      return Push(std::move(e), "event 0", limits, out);
    }
    case CloudEventsMode::kBatch: {
      auto v = parser.Parse(body);
      if (!v.ok()) return v.status().WithContext("request body");
      if (!v->is_array()) {
        return InvalidArgument(
            "a application/cloudevents-batch+json body must be a JSON array of events");
      }
      if (v->items().size() > limits.max_events) {
        return ResourceExhausted("more than {} events in one request", limits.max_events);
      }
      out.reserve(v->items().size());
      for (size_t i = 0; i < v->items().size(); ++i) {
        std::string where = fmt::format("event {}", i);
        PublishEvent e;
        SLUICE_RETURN_IF_ERROR(StructuredEvent(v->items()[i], where, e));
        SLUICE_RETURN_IF_ERROR(Push(std::move(e), where, limits, out));
      }
      return Status::Ok();
    }
  }
  return Internal("unknown CloudEvents mode");
}

}  // namespace sluice::gateway
