// JSON → Avro binary encoding (Avro's JSON encoding, as the REST Proxy accepts it). See
// json_encoding.h.
#include "schema/avro/json_encoding.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/varint.h"
#include "codec/json_parser.h"
#include "codec/utf8.h"

namespace sluice::schema::avro {

using codec::JsonValue;

namespace {

// Avro int and long: zig-zag varints.
void AppendLong(int64_t v, std::string& out) { varint::AppendSigned(out, v); }

template <typename T>
void AppendLittleEndian(T v, std::string& out) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and every target we build for are little-endian
  out.append(reinterpret_cast<const char*>(b), sizeof(T));
}

std::string Got(const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNumber: return "number " + v.text();
    case JsonValue::Type::kBool: return v.bool_value() ? "true" : "false";
    default: return std::string(JsonValue::TypeName(v.type()));
  }
}

// The name a union branch goes by in the JSON encoding.
std::string_view BranchName(const Node& n) {
  return IsNamed(n.type) ? std::string_view(n.full_name) : TypeName(n.type);
}

class Encoder {
 public:
  Encoder(std::string& out, std::string_view root) : out_(out), path_(root) {}

  Status Encode(const Node& n, const JsonValue& v, bool is_default, int depth) {
    if (depth > kMaxJsonEncodingDepth) {
      return Error("nested deeper than {} levels", kMaxJsonEncodingDepth);
    }
    switch (n.type) {
      case Type::kNull:
        if (!v.is_null()) return Expected("null", v);
        return Status::Ok();
      case Type::kBoolean:
        if (!v.is_bool()) return Expected("boolean", v);
        out_.push_back(v.bool_value() ? 1 : 0);
        return Status::Ok();
      case Type::kInt:
      case Type::kLong: return Integer(n, v);
      case Type::kFloat:
      case Type::kDouble: return Floating(n, v);
      case Type::kString:
        if (!v.is_string()) return Expected("string", v);
        AppendLong(static_cast<int64_t>(v.text().size()), out_);
        out_ += v.text();
        return Status::Ok();
      case Type::kBytes:
      case Type::kFixed: return Bytes(n, v);
      case Type::kEnum: {
        if (!v.is_string()) return Expected(fmt::format("a symbol of enum '{}'", n.full_name), v);
        for (size_t i = 0; i < n.symbols.size(); ++i) {
          if (n.symbols[i] == v.text()) {
            AppendLong(static_cast<int64_t>(i), out_);
            return Status::Ok();
          }
        }
        return Error("'{}' is not a symbol of enum '{}'", Clip(v.text()), n.full_name);
      }
      case Type::kArray: {
        if (!v.is_array()) return Expected("array", v);
        if (!v.items().empty()) AppendLong(static_cast<int64_t>(v.items().size()), out_);
        for (size_t i = 0; i < v.items().size(); ++i) {
          size_t mark = path_.size();
          path_ += fmt::format("[{}]", i);
          Status st = Encode(*n.items, v.items()[i], is_default, depth + 1);
          if (!st.ok()) return st;
          path_.resize(mark);
        }
        out_.push_back(0);
        return Status::Ok();
      }
      case Type::kMap: {
        if (!v.is_object()) return Expected("map (a JSON object)", v);
        if (!v.members().empty()) AppendLong(static_cast<int64_t>(v.members().size()), out_);
        for (const auto& [k, item] : v.members()) {
          AppendLong(static_cast<int64_t>(k.size()), out_);
          out_ += k;
          size_t mark = path_.size();
          path_ += fmt::format("[\"{}\"]", Clip(k));
          Status st = Encode(*n.items, item, is_default, depth + 1);
          if (!st.ok()) return st;
          path_.resize(mark);
        }
        out_.push_back(0);
        return Status::Ok();
      }
      case Type::kRecord: return Record(n, v, is_default, depth);
      case Type::kUnion: return Union(n, v, is_default, depth);
    }
    return Error("unsupported Avro type");
  }

 private:
  template <typename... Args>
  Status Error(fmt::format_string<Args...> f, Args&&... args) const {
    std::string msg = fmt::format(f, std::forward<Args>(args)...);
    if (path_.empty()) return InvalidArgument("{}", msg);
    return InvalidArgument("{}: {}", path_, msg);
  }
  Status Expected(std::string_view what, const JsonValue& v) const {
    return Error("expected {}, got {}", what, Got(v));
  }
  static std::string_view Clip(std::string_view s) { return s.substr(0, 64); }

  Status Integer(const Node& n, const JsonValue& v) {
    const bool is_int = n.type == Type::kInt;
    std::string_view name = is_int ? "int" : "long";
    if (!v.is_number()) return Expected(name, v);
    auto i = v.AsInt64();
    if (!i) {
      if (v.text().find_first_of(".eE") != std::string::npos) return Expected(name, v);
      return Error("{} is out of range for {}", Clip(v.text()), name);
    }
    if (is_int && (*i < INT32_MIN || *i > INT32_MAX)) {
      return Error("{} is out of range for int", *i);
    }
    AppendLong(*i, out_);
    return Status::Ok();
  }

  Status Floating(const Node& n, const JsonValue& v) {
    const bool is_float = n.type == Type::kFloat;
    std::string_view name = is_float ? "float" : "double";
    double d = 0;
    if (v.is_number()) {
      d = *v.AsDouble();
      if (!std::isfinite(d) || (is_float && std::fabs(d) > FLT_MAX)) {
        return Error("{} is out of range for {}", Clip(v.text()), name);
      }
    } else if (v.is_string() && v.text() == "NaN") {
      d = NAN;
    } else if (v.is_string() && v.text() == "Infinity") {
      d = INFINITY;
    } else if (v.is_string() && v.text() == "-Infinity") {
      d = -INFINITY;
    } else {
      return Expected(name, v);
    }
    if (is_float) {
      AppendLittleEndian(static_cast<float>(d), out_);
    } else {
      AppendLittleEndian(d, out_);
    }
    return Status::Ok();
  }

  // bytes and fixed: a string of code points 0-255, one byte each (ISO-8859-1).
  Status Bytes(const Node& n, const JsonValue& v) {
    const bool fixed = n.type == Type::kFixed;
    if (!v.is_string()) {
      return Expected(fixed ? fmt::format("fixed '{}' (a string)", n.full_name)
                            : std::string("bytes (a string)"),
                      v);
    }
    std::string bytes;
    std::string_view s = v.text();
    bytes.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      size_t len = codec::Utf8SequenceLength(s.substr(i));
      if (len == 0) return Error("invalid UTF-8 at byte {}", i);
      uint32_t cp = static_cast<unsigned char>(s[i]);
      if (len == 2) {
        cp = ((cp & 0x1f) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3f);
      }
      if (len > 2 || cp > 0xff) {
        return Error("character {} of the {} string is above U+00FF; bytes are written as "
                     "code points 0-255",
                     bytes.size(), fixed ? "fixed" : "bytes");
      }
      bytes.push_back(static_cast<char>(cp));
      i += len;
    }
    if (fixed) {
      if (bytes.size() != static_cast<size_t>(n.size)) {
        return Error("fixed '{}' needs {} bytes, got {}", n.full_name, n.size, bytes.size());
      }
    } else {
      AppendLong(static_cast<int64_t>(bytes.size()), out_);
    }
    out_ += bytes;
    return Status::Ok();
  }

  Status Record(const Node& n, const JsonValue& v, bool is_default, int depth) {
    if (!v.is_object()) return Expected(fmt::format("record '{}' (an object)", n.full_name), v);
    // Every member must name a field, once.
    for (size_t i = 0; i < v.members().size(); ++i) {
      const std::string& k = v.members()[i].first;
      if (n.FieldIndex(k) < 0) {
        return Error("unknown field '{}' in record '{}'", Clip(k), n.full_name);
      }
      for (size_t j = 0; j < i; ++j) {
        if (v.members()[j].first == k) return Error("field '{}' given twice", Clip(k));
      }
    }
    for (const Field& f : n.fields) {
      const JsonValue* fv = v.Find(f.name);
      bool from_default = is_default;
      size_t mark = path_.size();
      if (!path_.empty()) path_.push_back('.');
      path_ += f.name;
      if (fv == nullptr) {
        if (!f.default_value) return Error("missing (the field has no default)");
        fv = &*f.default_value;
        from_default = true;
      }
      Status st = Encode(*f.type, *fv, from_default, depth + 1);
      if (!st.ok()) return st;
      path_.resize(mark);
    }
    return Status::Ok();
  }

  Status Union(const Node& n, const JsonValue& v, bool is_default, int depth) {
    if (n.branches.empty()) return Error("an empty union has no values");
    if (is_default) {  // a default is the first branch's value, unwrapped
      AppendLong(0, out_);
      return Encode(*n.branches[0], v, true, depth + 1);
    }
    if (v.is_null()) {
      for (size_t i = 0; i < n.branches.size(); ++i) {
        if (n.branches[i]->type == Type::kNull) {
          AppendLong(static_cast<int64_t>(i), out_);
          return Status::Ok();
        }
      }
      return Error("null is not allowed: the union has no null branch");
    }
    if (!v.is_object() || v.members().size() != 1) {
      return Error("expected a union value like {{\"{}\": ...}} (or null), got {}",
                   BranchName(*NonNullBranch(n)), Got(v));
    }
    const auto& [label, inner] = v.members()[0];
    int found = -1;
    int short_matches = 0, short_index = -1;
    for (size_t i = 0; i < n.branches.size(); ++i) {
      const Node& b = *n.branches[i];
      if (BranchName(b) == label) {
        found = static_cast<int>(i);
        break;
      }
      if (IsNamed(b.type) && b.name == label) {
        ++short_matches;
        short_index = static_cast<int>(i);
      }
    }
    if (found < 0 && short_matches == 1) found = short_index;
    if (found < 0) {
      std::string names;
      for (const Node* b : n.branches) {
        if (!names.empty()) names += ", ";
        names += BranchName(*b);
      }
      return Error("'{}' is not a branch of the union [{}]", Clip(label), names);
    }
    AppendLong(found, out_);
    return Encode(*n.branches[found], inner, false, depth + 1);
  }

  static const Node* NonNullBranch(const Node& n) {
    for (const Node* b : n.branches) {
      if (b->type != Type::kNull) return b;
    }
    return n.branches[0];
  }

  std::string& out_;
  std::string path_;
};

}  // namespace

Status EncodeJson(const Node& schema, const JsonValue& value, std::string& out,
                  std::string_view root) {
  Encoder e(out, root);
  return e.Encode(schema, value, false, 0);
}

Result<std::string> EncodeJsonText(const Node& schema, std::string_view json,
                                   codec::JsonParser& parser, std::string_view root) {
  auto v = parser.Parse(json);
  if (!v.ok()) return root.empty() ? v.status() : v.status().WithContext(root);
  std::string out;
  Status st = EncodeJson(schema, *v, out, root);
  if (!st.ok()) return st;
  return out;
}

}  // namespace sluice::schema::avro
