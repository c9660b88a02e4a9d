// Sluice's own produce body: plain JSON events, arrays, NDJSON and envelopes. See
// envelope_decoding.h.
#include <algorithm>

#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"

namespace sluice::gateway {

using codec::JsonValue;

// Builds one event from a parsed JSON value; `where` names it in errors ("event 3").
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

namespace {

using PendingEvent = PublishEvent;


// Names an event in error messages ("event 3", "line 7"); formatted only when an error is
// reported.
struct Where {
  const char* kind;  // "event" or "line"
  size_t n = 0;
  std::string ToString() const { return fmt::format("{} {}", kind, n); }
};

// Parses and validates a produce body into events; nothing is appended. Synchronous so the
// Produce coroutine's frame stays small.
class EventParser {
 public:
  EventParser(const DecodeLimits& options, codec::JsonParser& parser, bool envelope,
              std::vector<PendingEvent>& events)
      : options_(options), parser_(parser), envelope_(envelope), events_(events) {}

  Status Parse(std::string_view body, bool ndjson) {
    if (ndjson) return ParseNdjson(body);
    if (!envelope_) {
      // Plain events need no tree: validate and minify in one SIMD pass (runtime-dispatched
      // simdjson DOM), then split arrays on the minified text.
      auto m = parser_.Minify(body);
      if (!m.ok()) return m.status().WithContext("request body");
      if (!m->is_array) return AddText(std::move(m->text), Where{"event", 0});
      std::vector<std::string_view> items;
      SLUICE_RETURN_IF_ERROR(
          codec::JsonParser::SplitMinifiedArray(m->text, items).WithContext("request body"));
      events_.reserve(std::min(items.size(), MaxEvents() + 1));
      for (size_t i = 0; i < items.size(); ++i) {
        SLUICE_RETURN_IF_ERROR(AddText(std::string(items[i]), Where{"event", i}));
      }
      return Status::Ok();
    }
    auto v = parser_.Parse(body);
    if (!v.ok()) return v.status().WithContext("request body");
    if (!v->is_array()) return AddValue(*v, Where{"event", 0});
    for (size_t i = 0; i < v->items().size(); ++i) {
      SLUICE_RETURN_IF_ERROR(AddValue(v->items()[i], Where{"event", i}));
    }
    return Status::Ok();
  }

 private:
  size_t MaxEvents() const { return options_.max_events; }

  Status ParseNdjson(std::string_view body) {
    size_t line_no = 0;
    while (!body.empty()) {
      ++line_no;
      auto nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      Where where{"line", line_no};
      if (!envelope_) {
        auto m = parser_.Minify(line);
        if (!m.ok()) return m.status().WithContext(where.ToString());
        SLUICE_RETURN_IF_ERROR(AddText(std::move(m->text), where));
      } else {
        auto v = parser_.Parse(line);
        if (!v.ok()) return v.status().WithContext(where.ToString());
        SLUICE_RETURN_IF_ERROR(AddValue(*v, where));
      }
    }
    return Status::Ok();
  }

  Status Push(PendingEvent e, const Where& where) {
    if (events_.size() >= MaxEvents()) {
      return ResourceExhausted("more than {} events in one request",
                               options_.max_events);
    }
    size_t bytes = EventPayloadBytes(e.record);
    if (bytes > options_.max_event_bytes) {
      return ResourceExhausted("{} is {} bytes; the limit is {} bytes", where.ToString(), bytes,
                               options_.max_event_bytes);
    }
    events_.push_back(std::move(e));
    return Status::Ok();
  }

  Status AddValue(const JsonValue& v, const Where& where) {
    PendingEvent e;
    SLUICE_RETURN_IF_ERROR(EventFromJson(v, envelope_, where.ToString(), e));
    return Push(std::move(e), where);
  }

  Status AddText(std::string value, const Where& where) {
    PendingEvent e;
    e.record.value = std::move(value);
    return Push(std::move(e), where);
  }

  const DecodeLimits& options_;
  codec::JsonParser& parser_;
  const bool envelope_;
  std::vector<PendingEvent>& events_;
};

}  // namespace

size_t EventPayloadBytes(const model::ProduceRecord& r) {
  size_t n = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& h : r.headers) n += h.key.size() + (h.value ? h.value->size() : 0);
  return n;
}

Status DecodeSluiceEvents(std::string_view body, bool ndjson, bool envelope,
                          const DecodeLimits& limits, codec::JsonParser& parser,
                          std::vector<PublishEvent>& out) {
  EventParser ep(limits, parser, envelope, out);
  return ep.Parse(body, ndjson);
}

}  // namespace sluice::gateway
