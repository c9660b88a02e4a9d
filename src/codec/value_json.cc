// ValueJsonDecoder on simdjson's DOM parser; AppendValueJson with the shared string escaper.
#include "codec/value_json.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codec/json_writer.h"

namespace sluice::codec {

namespace dom = simdjson::dom;
using model::Arena;
using model::Member;
using model::Value;

class ValueJsonDecoderImpl {
 public:
  dom::parser parser;
  simdjson::padded_string buffer;

  Result<Value> Convert(dom::element e, Arena& arena, int depth) {
    if (depth > ValueJsonDecoder::kMaxDepth) {
      return InvalidArgument("invalid JSON: nested deeper than 64 levels");
    }
    switch (e.type()) {
      case dom::element_type::NULL_VALUE: return Value::Null();
      case dom::element_type::BOOL: return Value::Bool(e.get_bool().value_unsafe());
      case dom::element_type::INT64: return Value::Int(e.get_int64().value_unsafe());
      case dom::element_type::UINT64:
        return Value::Double(static_cast<double>(e.get_uint64().value_unsafe()));
      case dom::element_type::DOUBLE: return Value::Double(e.get_double().value_unsafe());
      case dom::element_type::STRING:
        return arena.CopyStringValue(e.get_string().value_unsafe());
      case dom::element_type::ARRAY: {
        dom::array a = e.get_array().value_unsafe();
        auto items = arena.AllocateArray<Value>(a.size());
        size_t i = 0;
        for (dom::element child : a) {
          auto v = Convert(child, arena, depth + 1);
          if (!v.ok()) return v;
          items[i++] = *v;
        }
        return Value::Array(items);
      }
      case dom::element_type::OBJECT: {
        dom::object o = e.get_object().value_unsafe();
        auto members = arena.AllocateArray<Member>(o.size());
        size_t i = 0;
        for (dom::key_value_pair kv : o) {
          members[i].name = arena.CopyString(kv.key);
          auto v = Convert(kv.value, arena, depth + 1);
          if (!v.ok()) return v;
          members[i].value = *v;
          ++i;
        }
        return Value::Object(members);
      }
    }
    return Value::Null();
  }
};

ValueJsonDecoder::ValueJsonDecoder() : impl_(std::make_unique<ValueJsonDecoderImpl>()) {}
ValueJsonDecoder::~ValueJsonDecoder() = default;

Result<Value> ValueJsonDecoder::Decode(std::string_view json, Arena& arena) {
  dom::element root;
  simdjson::error_code err;
  // simdjson needs SIMDJSON_PADDING readable bytes after the input; copy into a reused buffer.
  if (impl_->buffer.size() < json.size()) {
    impl_->buffer = simdjson::padded_string(std::max(json.size(), size_t{4096}));
  }
  std::memcpy(impl_->buffer.data(), json.data(), json.size());
  err = impl_->parser.parse(impl_->buffer.data(), json.size(), false).get(root);
  if (err != simdjson::SUCCESS) {
    return InvalidArgument("invalid JSON: {}", simdjson::error_message(err));
  }
  return impl_->Convert(root, arena, 0);
}

void AppendValueJson(std::string& out, const Value& v) {
  switch (v.type()) {
    case model::ValueType::kNull: out += "null"; return;
    case model::ValueType::kBool: out += v.bool_value() ? "true" : "false"; return;
    case model::ValueType::kInt:
    case model::ValueType::kTimestamp: fmt::format_to(std::back_inserter(out), "{}", v.int_value()); return;
    case model::ValueType::kDouble: {
      double d = v.double_value();
      if (!std::isfinite(d)) {
        out += "null";
      } else {
        fmt::format_to(std::back_inserter(out), "{}", d);
      }
      return;
    }
    case model::ValueType::kString: AppendJsonString(out, v.string_value()); return;
    case model::ValueType::kArray: {
      out += '[';
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out += ',';
        first = false;
        AppendValueJson(out, item);
      }
      out += ']';
      return;
    }
    case model::ValueType::kObject: {
      out += '{';
      bool first = true;
      for (const Member& m : v.members()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, m.name);
        out += ':';
        AppendValueJson(out, m.value);
      }
      out += '}';
      return;
    }
  }
}

std::string ValueToJson(const Value& v) {
  std::string out;
  AppendValueJson(out, v);
  return out;
}

}  // namespace sluice::codec
