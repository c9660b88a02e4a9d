// JsonParser: walks a simdjson On-Demand document into a JsonValue, turning simdjson error codes
// into messages with a position and what was expected.
#include "codec/json_parser.h"

#include <simdjson.h>

#include "base/check.h"
#include "codec/utf8.h"

namespace sluice::codec {

namespace od = simdjson::ondemand;

namespace {

std::string_view Expectation(simdjson::error_code e) {
  switch (e) {
    case simdjson::EMPTY: return "empty input; expected a JSON value";
    case simdjson::TAPE_ERROR:
    case simdjson::INCORRECT_TYPE:
      return "unexpected character; expected a JSON value, ',' , ':' or a closing bracket";
    case simdjson::STRING_ERROR: return "invalid string or escape sequence";
    case simdjson::UNCLOSED_STRING: return "unterminated string; expected a closing '\"'";
    case simdjson::UNESCAPED_CHARS: return "control character inside a string must be escaped";
    case simdjson::NUMBER_ERROR: return "invalid number";
    case simdjson::T_ATOM_ERROR: return "invalid literal; expected 'true'";
    case simdjson::F_ATOM_ERROR: return "invalid literal; expected 'false'";
    case simdjson::N_ATOM_ERROR: return "invalid literal; expected 'null'";
    case simdjson::DEPTH_ERROR: return "nested too deeply";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::TRAILING_CONTENT: return "unexpected content after the JSON value";
    case simdjson::CAPACITY: return "document too large";
    default: return simdjson::error_message(e);
  }
}

// What simdjson's DOM parser says of a valid number it cannot represent.
bool OutOfRangeNumber(simdjson::error_code e) {
  return e == simdjson::NUMBER_OUT_OF_RANGE || e == simdjson::NUMBER_ERROR;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r')) {
    s.remove_prefix(1);
  }
  return s;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size();
}

// raw_json_token() is a plain string_view on values and a simdjson_result on documents.
simdjson::error_code RawToken(od::value& v, std::string_view& out) {
  out = v.raw_json_token();
  return simdjson::SUCCESS;
}
simdjson::error_code RawToken(od::document& d, std::string_view& out) {
  return d.raw_json_token().get(out);
}

class JsonParserImpl {
 public:
  Result<JsonValue> Parse(std::string_view text) {
    Result<JsonValue> r = ParseImpl(text);
    ReleaseIfLarge(text.size());
    return r;
  }

  Result<JsonParser::Minified> Minify(std::string_view text) {
    Result<JsonParser::Minified> r = MinifyImpl(text);
    ReleaseIfLarge(text.size());
    return r;
  }

  bool IsValid(std::string_view text) {
    bool ok = IsValidImpl(text);
    ReleaseIfLarge(text.size());
    return ok;
  }

 private:
  // A parser kept per thread would otherwise hold ~15 bytes of simdjson buffers per byte of
  // the largest document it ever saw.
  void ReleaseIfLarge(size_t size) {
    if (size <= JsonParser::kRetainBytes) return;
    parser_ = od::parser();
    dom_parser_ = simdjson::dom::parser();
    std::string().swap(buf_);
  }

  Result<JsonValue> ParseImpl(std::string_view text) {
    if (auto bad = FindInvalidUtf8(text)) {
      return InvalidArgument("invalid UTF-8 at byte {}", *bad);
    }
    text_ = text;
    depth_exceeded_ = false;
    buf_.assign(text.data(), text.size());
    buf_.append(simdjson::SIMDJSON_PADDING, ' ');
    od::document doc;
    auto err = parser_.iterate(simdjson::padded_string_view(buf_.data(), text.size(), buf_.size()))
                   .get(doc);
    if (err) return Error(err, nullptr);
    JsonValue out;
    od::json_type type;
    if ((err = doc.type().get(type))) return Error(err, &doc);
    switch (type) {
      case od::json_type::array:
      case od::json_type::object: {
        od::value v;
        if ((err = doc.get_value().get(v))) return Error(err, &doc);
        if ((err = Walk(v, out, 1))) return Error(err, &doc);
        break;
      }
      default: {
        if ((err = Scalar(doc, type, out))) return Error(err, &doc);
        // A number simdjson cannot hold (a big integer, 1e400) is kept as written, but the
        // document does not move past it: nothing but whitespace may surround it.
        if (type == od::json_type::number && out.ToJson() == TrimLeft(TrimRight(text))) {
          return out;
        }
      }
    }
    if (depth_exceeded_) return InvalidArgument("JSON nested deeper than {} levels",
                                                JsonParser::kMaxDepth);
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) return Error(simdjson::TRAILING_CONTENT, &doc);
    return out;
  }

  Result<JsonParser::Minified> MinifyImpl(std::string_view text) {
    buf_.assign(text.data(), text.size());
    buf_.append(simdjson::SIMDJSON_PADDING, ' ');
    simdjson::dom::element el;
    if (auto dom_err = dom_parser_.parse(buf_.data(), text.size(), false).get(el)) {
      auto detailed = ParseImpl(text);  // slower, but says where and what was expected
      if (!detailed.ok()) return detailed.status();
      if (OutOfRangeNumber(dom_err)) {
        // Valid JSON with a number the DOM parser cannot hold: kept exactly as written, as
        // Parse keeps it, rather than refusing here what an envelope's value accepts.
        JsonParser::Minified out;
        out.is_array = detailed->is_array();
        out.text = detailed->ToJson();
        return out;
      }
      return InvalidArgument("invalid JSON: {}", Expectation(dom_err));
    }
    JsonParser::Minified out;
    out.is_array = el.is_array();
    out.text.resize(text.size());
    size_t len = 0;
    if (simdjson::minify(text.data(), text.size(), out.text.data(), len)) {
      return Internal("JSON minify failed");
    }
    out.text.resize(len);
    return out;
  }

  bool IsValidImpl(std::string_view text) {
    if (!simdjson::validate_utf8(text.data(), text.size())) return false;
    buf_.assign(text.data(), text.size());
    buf_.append(simdjson::SIMDJSON_PADDING, ' ');
    simdjson::dom::element el;
    auto dom_err = dom_parser_.parse(buf_.data(), text.size(), false).get(el);
    return !dom_err || (OutOfRangeNumber(dom_err) && ParseImpl(text).ok());
  }

  template <typename V>
  simdjson::error_code Scalar(V& v, od::json_type type, JsonValue& out) {
    simdjson::error_code err;
    switch (type) {
      case od::json_type::null: {
        bool is_null = false;
        if ((err = v.is_null().get(is_null))) return err;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        out = JsonValue::Null();
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool b = false;
        if ((err = v.get_bool().get(b))) return err;
        out = JsonValue::Bool(b);
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        std::string_view raw;
        if ((err = RawToken(v, raw))) return err;
        raw = TrimRight(raw);
        if (!IsJsonNumber(raw)) return simdjson::NUMBER_ERROR;
        // Consume the token so the iterator moves on (get_double accepts any valid number
        // but reports big integers as errors, so a failure here is ignored).
        auto consumed = v.get_double();
        (void)consumed.error();
        out = JsonValue::Number(std::string(raw));
        return simdjson::SUCCESS;
      }
      case od::json_type::string: {
        std::string_view s;
        if ((err = v.get_string().get(s))) return err;
        out = JsonValue::String(std::string(s));
        return simdjson::SUCCESS;
      }
      default: return simdjson::INCORRECT_TYPE;
    }
  }

  simdjson::error_code Walk(od::value v, JsonValue& out, int depth) {
    if (depth > JsonParser::kMaxDepth) {
      depth_exceeded_ = true;
      return simdjson::DEPTH_ERROR;
    }
    od::json_type type;
    simdjson::error_code err;
    if ((err = v.type().get(type))) return err;
    if (type == od::json_type::array) {
      od::array arr;
      if ((err = v.get_array().get(arr))) return err;
      std::vector<JsonValue> items;
      for (auto item : arr) {
        od::value child;
        if ((err = item.get(child))) return err;
        JsonValue jv;
        if ((err = Walk(child, jv, depth + 1))) return err;
        items.push_back(std::move(jv));
      }
      out = JsonValue::Array(std::move(items));
      return simdjson::SUCCESS;
    }
    if (type == od::json_type::object) {
      od::object obj;
      if ((err = v.get_object().get(obj))) return err;
      std::vector<std::pair<std::string, JsonValue>> members;
      for (auto field : obj) {
        std::string_view key;
        if ((err = field.unescaped_key().get(key))) return err;
        std::string k(key);
        od::value child;
        if ((err = field.value().get(child))) return err;
        JsonValue jv;
        if ((err = Walk(child, jv, depth + 1))) return err;
        members.emplace_back(std::move(k), std::move(jv));
      }
      out = JsonValue::Object(std::move(members));
      return simdjson::SUCCESS;
    }
    return Scalar(v, type, out);
  }

  Status Error(simdjson::error_code err, od::document* doc) {
    if (err == simdjson::DEPTH_ERROR || depth_exceeded_) {
      return InvalidArgument("JSON nested deeper than {} levels", JsonParser::kMaxDepth);
    }
    size_t pos = text_.size();
    if (doc != nullptr) {
      const char* loc = nullptr;
      if (!doc->current_location().get(loc) && loc >= buf_.data() &&
          loc <= buf_.data() + text_.size()) {
        pos = static_cast<size_t>(loc - buf_.data());
      }
    }
    if (err == simdjson::EMPTY) pos = 0;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    // Cut off: nothing but whitespace from the error on (simdjson reports a structural error).
    const bool truncated = (err == simdjson::TAPE_ERROR || err == simdjson::INCORRECT_TYPE) &&
                           pos >= TrimRight(text_).size() && !TrimRight(text_).empty();
    return InvalidArgument("invalid JSON at byte {} (line {}, column {}): {}", pos, line, col,
                           truncated ? "unexpected end of input; the JSON value is incomplete"
                                     : Expectation(err));
  }

  od::parser parser_;
  simdjson::dom::parser dom_parser_;
  std::string buf_;
  std::string_view text_;
  bool depth_exceeded_ = false;
};

JsonParser::JsonParser() : impl_(std::make_unique<JsonParserImpl>()) {}
JsonParser::~JsonParser() = default;

Result<JsonValue> JsonParser::Parse(std::string_view text) {
  JsonParserImpl& p = *impl_;
  return p.Parse(text);
}

bool JsonParser::IsValid(std::string_view text) { return impl_->IsValid(text); }

Result<JsonParser::Minified> JsonParser::Minify(std::string_view text) {
  return impl_->Minify(text);
}

Status JsonParser::SplitMinifiedArray(std::string_view a, std::vector<std::string_view>& items) {
  items.clear();
  SLUICE_CHECK(a.size() >= 2 && a.front() == '[' && a.back() == ']', "not a minified array");
  if (a.size() == 2) return Status::Ok();
  // Parse counts the array as depth 1 and rejects any value deeper than kMaxDepth, so a
  // container at depth kMaxDepth must be empty.
  auto too_deep = [] {
    return InvalidArgument("JSON nested deeper than {} levels", JsonParser::kMaxDepth);
  };
  int depth = 1;
  size_t start = 1;
  const char* p = a.data();
  const size_t n = a.size();
  for (size_t i = 1; i < n; ++i) {
    char c = p[i];
    switch (c) {
      case '"': {
        // Skip the string; Minify validated it, so it is closed and escapes are well formed.
        for (++i; p[i] != '"'; ++i) {
          if (p[i] == '\\') ++i;
        }
        break;
      }
      case '[':
      case '{':
        if (++depth > JsonParser::kMaxDepth) return too_deep();
        if (depth == JsonParser::kMaxDepth && p[i + 1] != ']' && p[i + 1] != '}') {
          return too_deep();
        }
        break;
      case ']':
      case '}':
        if (--depth == 0) {
          items.push_back(a.substr(start, i - start));
          return Status::Ok();
        }
        break;
      case ',':
        if (depth == 1) {
          items.push_back(a.substr(start, i - start));
          start = i + 1;
        }
        break;
      default: break;
    }
  }
  SLUICE_CHECK(false, "unterminated minified array");
  return Status::Ok();
}

}  // namespace sluice::codec
