// Parsing Avro schema JSON into the Node model: Avro 1.11's Schema.Parser rules (namespaces,
// name lookup, reserved attributes, logical types) plus default validation as Confluent
// applies it to new schemas.
#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>

#include "codec/json_parser.h"
#include "schema/avro/avro.h"

namespace sluice::schema::avro {

using codec::JsonValue;

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBoolean: return "boolean";
    case Type::kInt: return "int";
    case Type::kLong: return "long";
    case Type::kFloat: return "float";
    case Type::kDouble: return "double";
    case Type::kBytes: return "bytes";
    case Type::kString: return "string";
    case Type::kRecord: return "record";
    case Type::kEnum: return "enum";
    case Type::kArray: return "array";
    case Type::kMap: return "map";
    case Type::kUnion: return "union";
    case Type::kFixed: return "fixed";
  }
  return "null";
}

bool IsNamed(Type type) {
  return type == Type::kRecord || type == Type::kEnum || type == Type::kFixed;
}

bool IsPrimitive(Type type) { return static_cast<uint8_t>(type) <= static_cast<uint8_t>(Type::kString); }

int Node::FieldIndex(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == field_name) return static_cast<int>(i);
  }
  return -1;
}

bool Node::HasSymbol(std::string_view symbol) const {
  for (const auto& s : symbols) {
    if (s == symbol) return true;
  }
  return false;
}

namespace {

std::optional<Type> PrimitiveType(std::string_view name) {
  static constexpr std::pair<std::string_view, Type> kPrimitives[] = {
      {"null", Type::kNull},   {"boolean", Type::kBoolean}, {"int", Type::kInt},
      {"long", Type::kLong},   {"float", Type::kFloat},     {"double", Type::kDouble},
      {"bytes", Type::kBytes}, {"string", Type::kString},
  };
  for (const auto& [n, t] : kPrimitives) {
    if (n == name) return t;
  }
  return std::nullopt;
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidNamespace(std::string_view space) {
  size_t start = 0;
  while (true) {
    size_t dot = space.find('.', start);
    if (!IsValidName(space.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Attributes that are not custom properties (Avro's SCHEMA_RESERVED / FIELD_RESERVED).
bool IsSchemaReserved(std::string_view key, Type type) {
  static constexpr std::string_view kReserved[] = {"doc",  "fields",  "items", "name",   "namespace",
                                                   "size", "symbols", "values", "type", "aliases"};
  for (auto r : kReserved) {
    if (r == key) return true;
  }
  return type == Type::kEnum && key == "default";
}

bool IsFieldReserved(std::string_view key) {
  static constexpr std::string_view kReserved[] = {"default", "doc", "name", "order", "type",
                                                   "aliases"};
  for (auto r : kReserved) {
    if (r == key) return true;
  }
  return false;
}

void AddProp(Props& props, const std::string& key, const JsonValue& value) {
  for (auto& [k, v] : props) {
    if (k == key) {
      v = value;
      return;
    }
  }
  props.emplace_back(key, value);
}

const JsonValue* FindProp(const Props& props, std::string_view key) {
  for (const auto& [k, v] : props) {
    if (k == key) return &v;
  }
  return nullptr;
}

// Jackson's isInt/isLong: an integer literal within range.
std::optional<int64_t> AsIntegral(const JsonValue& v) {
  if (!v.is_number()) return std::nullopt;
  return v.AsInt64();
}

// Short label for a type in messages: "\"string\"", "\"com.acme.Money\"", ["null","string"].
std::string Label(const Node& n) {
  if (IsNamed(n.type)) return "\"" + n.full_name + "\"";
  if (n.type == Type::kArray) return "{\"type\":\"array\",\"items\":" + Label(*n.items) + "}";
  if (n.type == Type::kMap) return "{\"type\":\"map\",\"values\":" + Label(*n.items) + "}";
  if (n.type == Type::kUnion) {
    std::string out = "[";
    for (size_t i = 0; i < n.branches.size(); ++i) {
      if (i) out += ",";
      out += Label(*n.branches[i]);
    }
    return out + "]";
  }
  return "\"" + std::string(TypeName(n.type)) + "\"";
}

// Avro's isValidDefault (a union's default must fit its first branch).
bool IsValidDefault(const Node& n, const JsonValue* v) {
  if (v == nullptr) return false;
  switch (n.type) {
    case Type::kString:
    case Type::kBytes:
    case Type::kEnum:
    case Type::kFixed:
      return v->is_string();
    case Type::kInt: {
      auto i = AsIntegral(*v);
      return i && *i >= INT32_MIN && *i <= INT32_MAX;
    }
    case Type::kLong:
      return AsIntegral(*v).has_value();
    case Type::kFloat:
    case Type::kDouble:
      return v->is_number();
    case Type::kBoolean:
      return v->is_bool();
    case Type::kNull:
      return v->is_null();
    case Type::kArray:
      if (!v->is_array()) return false;
      for (const auto& item : v->items()) {
        if (!IsValidDefault(*n.items, &item)) return false;
      }
      return true;
    case Type::kMap:
      if (!v->is_object()) return false;
      for (const auto& [k, item] : v->members()) {
        if (!IsValidDefault(*n.items, &item)) return false;
      }
      return true;
    case Type::kUnion:
      return !n.branches.empty() && IsValidDefault(*n.branches[0], v);
    case Type::kRecord:
      if (!v->is_object()) return false;
      for (const auto& f : n.fields) {
        const JsonValue* member = v->Find(f.name);
        if (member == nullptr && f.default_value) member = &*f.default_value;
        if (!IsValidDefault(*f.type, member)) return false;
      }
      return true;
  }
  return false;
}

// Java's Double.valueOf for the text defaults Avro accepts on float/double fields.
std::optional<JsonValue> TextToDouble(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  if (s == "NaN" || s == "Infinity" || s == "-Infinity" || s == "+Infinity") {
    return JsonValue::String(std::string(s[0] == '+' ? s.substr(1) : s));
  }
  if (!s.empty() && (s.back() == 'd' || s.back() == 'D' || s.back() == 'f' || s.back() == 'F')) {
    s.remove_suffix(1);
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if (std::isinf(d)) return JsonValue::String(d > 0 ? "Infinity" : "-Infinity");
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  return JsonValue::Number(std::string(buf, r.ptr));
}

int64_t MaxDecimalPrecision(int32_t size) {
  double v = std::floor(std::log10(std::pow(2.0, 8.0 * size - 1) - 1));
  if (!std::isfinite(v)) return INT64_MAX;
  return static_cast<int64_t>(std::llround(v));
}

// LogicalTypes.fromSchemaIgnoreInvalid: sets the node's logical type when valid.
void ResolveLogicalType(Node& n) {
  const JsonValue* lt = FindProp(n.props, "logicalType");
  if (lt == nullptr || !lt->is_string()) return;
  const std::string& name = lt->text();
  auto set_if = [&](bool ok, LogicalType t) {
    if (ok) n.logical_type = t;
  };
  if (name == "decimal") {
    if (n.type != Type::kBytes && n.type != Type::kFixed) return;
    const JsonValue* p = FindProp(n.props, "precision");
    const JsonValue* s = FindProp(n.props, "scale");
    auto pi = p ? AsIntegral(*p) : std::optional<int64_t>(0);
    auto si = s ? AsIntegral(*s) : std::optional<int64_t>(0);
    if (!pi || !si || *pi > INT32_MAX || *si > INT32_MAX || *si < INT32_MIN) return;
    if (*pi <= 0 || *si < 0 || *si > *pi) return;
    if (n.type == Type::kFixed && *pi > MaxDecimalPrecision(n.size)) return;
    n.logical_type = LogicalType::kDecimal;
    n.precision = static_cast<int32_t>(*pi);
    n.scale = static_cast<int32_t>(*si);
  } else if (name == "uuid") {
    set_if(n.type == Type::kString, LogicalType::kUuid);
  } else if (name == "date") {
    set_if(n.type == Type::kInt, LogicalType::kDate);
  } else if (name == "time-millis") {
    set_if(n.type == Type::kInt, LogicalType::kTimeMillis);
  } else if (name == "time-micros") {
    set_if(n.type == Type::kLong, LogicalType::kTimeMicros);
  } else if (name == "timestamp-millis") {
    set_if(n.type == Type::kLong, LogicalType::kTimestampMillis);
  } else if (name == "timestamp-micros") {
    set_if(n.type == Type::kLong, LogicalType::kTimestampMicros);
  } else if (name == "local-timestamp-millis") {
    set_if(n.type == Type::kLong, LogicalType::kLocalTimestampMillis);
  } else if (name == "local-timestamp-micros") {
    set_if(n.type == Type::kLong, LogicalType::kLocalTimestampMicros);
  } else if (name == "duration") {
    set_if(n.type == Type::kFixed && n.size == 12, LogicalType::kDuration);
  }
}

}  // namespace

// Builds one AvroSchema: references first, then the schema itself, sharing one name table.
class SchemaParser {
 public:
  explicit SchemaParser(AvroSchema& schema) : schema_(schema) {}

  Status ParseReferences(std::span<const ResolvedReference> refs) {
    for (const auto& ref : refs) {
      if (!done_refs_.insert(ref.name).second) continue;
      SLUICE_RETURN_IF_ERROR(ParseReferences(ref.references));
      auto root = ParseText(ref.schema);
      if (!root.ok()) {
        return InvalidArgument("reference '{}' (subject '{}' version {}): {}", ref.name,
                               ref.subject, ref.version, root.status().message());
      }
      if (IsNamed((*root)->type)) schema_.reference_roots_.push_back(*root);
    }
    return Status::Ok();
  }

  Result<const Node*> ParseText(std::string_view text) {
    auto json = json_parser_.Parse(text);
    if (!json.ok()) return InvalidArgument("schema is not valid JSON: {}", json.status().message());
    return ParseNode(*json, "", "schema");
  }

 private:
  Node& NewNode(Type type) {
    Node& n = schema_.nodes_.emplace_back();
    n.type = type;
    return n;
  }

  // Schema.Names.get: primitives, then the name in the current namespace, then as written.
  const Node* Lookup(const std::string& text, const std::string& space) {
    if (auto prim = PrimitiveType(text)) return &NewNode(*prim);
    if (text.find('.') == std::string::npos && !space.empty()) {
      auto it = names_.find(space + "." + text);
      if (it != names_.end()) return it->second;
    }
    auto it = names_.find(text);
    return it == names_.end() ? nullptr : it->second;
  }

  // Splits a (possibly qualified) name against the default namespace.
  Status MakeName(const std::string& text, const std::string& space, const std::string& where,
                  std::string& short_name, std::string& out_space) {
    size_t dot = text.rfind('.');
    if (dot == std::string::npos) {
      short_name = text;
      out_space = space;
    } else {
      short_name = text.substr(dot + 1);
      out_space = text.substr(0, dot);
    }
    if (!IsValidName(short_name)) {
      return InvalidArgument("{}: invalid name '{}' (names start with a letter or _ and contain "
                             "only letters, digits and _)",
                             where, text);
    }
    if (!out_space.empty() && !IsValidNamespace(out_space)) {
      return InvalidArgument("{}: invalid namespace '{}' in name '{}'", where, out_space, text);
    }
    return Status::Ok();
  }

  Status ParseAliases(const JsonValue& obj, const std::string& where, std::vector<std::string>& out,
                      const std::string* space) {
    const JsonValue* aliases = obj.Find("aliases");
    if (aliases == nullptr) return Status::Ok();
    if (!aliases->is_array()) return InvalidArgument("{}: \"aliases\" must be an array", where);
    for (const auto& a : aliases->items()) {
      if (!a.is_string()) return InvalidArgument("{}: alias {} is not a string", where, a.ToJson());
      std::string full = a.text();
      if (space != nullptr) {
        std::string short_name, alias_space;
        SLUICE_RETURN_IF_ERROR(MakeName(a.text(), *space, where, short_name, alias_space));
        full = alias_space.empty() ? short_name : alias_space + "." + short_name;
      }
      bool seen = false;
      for (const auto& e : out) seen = seen || e == full;
      if (!seen) out.push_back(std::move(full));
    }
    return Status::Ok();
  }

  Result<const Node*> ParseNode(const JsonValue& v, const std::string& space,
                                const std::string& where) {
    if (++depth_ > 200) return InvalidArgument("{}: schema nested too deeply", where);
    auto result = ParseNodeImpl(v, space, where);
    --depth_;
    return result;
  }

  Result<const Node*> ParseNodeImpl(const JsonValue& v, const std::string& space,
                                    const std::string& where) {
    if (v.is_string()) {
      const Node* n = Lookup(v.text(), space);
      if (n == nullptr) {
        return InvalidArgument("{}: unknown type \"{}\" (not a primitive type or a defined name)",
                               where, v.text());
      }
      return n;
    }
    if (v.is_array()) return ParseUnion(v, space, where);
    if (!v.is_object()) {
      return InvalidArgument("{}: {} is not a schema (expected a type name, object or array)",
                             where, v.ToJson());
    }
    const JsonValue* type_v = v.Find("type");
    if (type_v == nullptr || !type_v->is_string()) {
      return InvalidArgument("{}: schema object has no \"type\" string", where);
    }
    const std::string& type = type_v->text();
    std::optional<Type> t = PrimitiveType(type);
    if (!t) {
      if (type == "record" || type == "error") {
        t = Type::kRecord;
      } else if (type == "enum") {
        t = Type::kEnum;
      } else if (type == "array") {
        t = Type::kArray;
      } else if (type == "map") {
        t = Type::kMap;
      } else if (type == "fixed") {
        t = Type::kFixed;
      } else {
        // {"type":"SomeName"}: Avro returns the named type itself.
        if (type.find('.') == std::string::npos && !space.empty()) {
          auto it = names_.find(space + "." + type);
          if (it != names_.end()) return it->second;
        } else if (auto it = names_.find(type); it != names_.end()) {
          return it->second;
        }
        return InvalidArgument("{}: unknown type \"{}\"", where, type);
      }
    }
    Node& n = NewNode(*t);
    std::string inner_space = space;
    std::string here = where;
    if (IsNamed(*t)) {
      const JsonValue* name_v = v.Find("name");
      if (name_v == nullptr || !name_v->is_string()) {
        return InvalidArgument("{}: {} has no \"name\"", where, type);
      }
      const JsonValue* ns_v = v.Find("namespace");
      std::string default_space = (ns_v && ns_v->is_string()) ? ns_v->text() : space;
      SLUICE_RETURN_IF_ERROR(MakeName(name_v->text(), default_space, where, n.name, n.space));
      n.full_name = n.space.empty() ? n.name : n.space + "." + n.name;
      if (PrimitiveType(n.full_name)) {
        return InvalidArgument("{}: a {} may not be named after the primitive type '{}'", where,
                               type, n.full_name);
      }
      if (const JsonValue* doc = v.Find("doc"); doc && doc->is_string()) n.doc = doc->text();
      if (!n.space.empty()) inner_space = n.space;
      here = type + " '" + n.full_name + "'";
      n.is_error = type == "error";
    }
    // Named types are registered before their bodies so they may refer to themselves.
    auto define = [&]() -> Status {
      if (!names_.emplace(n.full_name, &n).second) {
        return InvalidArgument("{}: the name '{}' is defined twice", here, n.full_name);
      }
      return Status::Ok();
    };
    switch (*t) {
      case Type::kRecord: {
        SLUICE_RETURN_IF_ERROR(define());
        SLUICE_RETURN_IF_ERROR(ParseFields(v, n, inner_space, here));
        break;
      }
      case Type::kEnum: {
        const JsonValue* symbols = v.Find("symbols");
        if (symbols == nullptr || !symbols->is_array()) {
          return InvalidArgument("{}: enum has no \"symbols\" array", here);
        }
        for (const auto& s : symbols->items()) {
          if (!s.is_string() || !IsValidName(s.text())) {
            return InvalidArgument("{}: invalid enum symbol {}", here, s.ToJson());
          }
          if (n.HasSymbol(s.text())) {
            return InvalidArgument("{}: duplicate enum symbol '{}'", here, s.text());
          }
          n.symbols.push_back(s.text());
        }
        if (const JsonValue* d = v.Find("default"); d && d->is_string()) {
          if (!n.HasSymbol(d->text())) {
            return InvalidArgument("{}: enum default '{}' is not one of its symbols", here,
                                   d->text());
          }
          n.enum_default = d->text();
        }
        SLUICE_RETURN_IF_ERROR(define());
        break;
      }
      case Type::kFixed: {
        const JsonValue* size = v.Find("size");
        auto sz = size ? AsIntegral(*size) : std::nullopt;
        if (!sz || *sz > INT32_MAX || *sz < INT32_MIN) {
          return InvalidArgument("{}: fixed has no integer \"size\"", here);
        }
        if (*sz < 0) return InvalidArgument("{}: invalid fixed size {}", here, *sz);
        n.size = static_cast<int32_t>(*sz);
        SLUICE_RETURN_IF_ERROR(define());
        break;
      }
      case Type::kArray: {
        const JsonValue* items = v.Find("items");
        if (items == nullptr) return InvalidArgument("{}: array has no \"items\"", where);
        SLUICE_ASSIGN_OR_RETURN(n.items, ParseNode(*items, inner_space, where + ", array items"));
        break;
      }
      case Type::kMap: {
        const JsonValue* values = v.Find("values");
        if (values == nullptr) return InvalidArgument("{}: map has no \"values\"", where);
        SLUICE_ASSIGN_OR_RETURN(n.items, ParseNode(*values, inner_space, where + ", map values"));
        break;
      }
      default:
        break;
    }
    for (const auto& [key, value] : v.members()) {
      if (!IsSchemaReserved(key, *t)) AddProp(n.props, key, value);
    }
    ResolveLogicalType(n);
    if (IsNamed(*t)) SLUICE_RETURN_IF_ERROR(ParseAliases(v, here, n.aliases, &n.space));
    return &n;
  }

  Status ParseFields(const JsonValue& v, Node& rec, const std::string& space,
                     const std::string& here) {
    const JsonValue* fields = v.Find("fields");
    if (fields == nullptr || !fields->is_array()) {
      return InvalidArgument("{}: record has no \"fields\" array", here);
    }
    for (size_t i = 0; i < fields->items().size(); ++i) {
      const JsonValue& fv = fields->items()[i];
      const JsonValue* name_v = fv.Find("name");
      if (!fv.is_object() || name_v == nullptr || !name_v->is_string()) {
        return InvalidArgument("{}: field {} has no \"name\"", here, i);
      }
      Field f;
      f.name = name_v->text();
      std::string where = "field '" + f.name + "' of " + here;
      if (!IsValidName(f.name)) {
        return InvalidArgument("{}: invalid field name (names start with a letter or _ and "
                               "contain only letters, digits and _)",
                               where);
      }
      if (rec.FieldIndex(f.name) >= 0) return InvalidArgument("{}: duplicate field name", where);
      if (const JsonValue* doc = fv.Find("doc"); doc && doc->is_string()) f.doc = doc->text();
      const JsonValue* type_v = fv.Find("type");
      if (type_v == nullptr) return InvalidArgument("{}: field has no \"type\"", where);
      SLUICE_ASSIGN_OR_RETURN(f.type, ParseNode(*type_v, space, where));
      if (const JsonValue* order = fv.Find("order")) {
        std::string o = order->is_string() ? order->text() : "";
        for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (o == "ascending") {
          f.order = FieldOrder::kAscending;
        } else if (o == "descending") {
          f.order = FieldOrder::kDescending;
        } else if (o == "ignore") {
          f.order = FieldOrder::kIgnore;
        } else {
          return InvalidArgument("{}: invalid order {}", where, order->ToJson());
        }
      }
      if (const JsonValue* d = fv.Find("default")) {
        JsonValue def = *d;
        if ((f.type->type == Type::kFloat || f.type->type == Type::kDouble) && d->is_string()) {
          auto converted = TextToDouble(d->text());
          if (!converted) {
            return InvalidArgument("{}: default {} is not a valid {}", where, d->ToJson(),
                                   Label(*f.type));
          }
          def = std::move(*converted);
        } else if (!IsValidDefault(*f.type, d)) {
          return InvalidArgument("{}: default {} is not a valid {}", where, d->ToJson(),
                                 Label(*f.type));
        }
        f.default_value = std::move(def);
      }
      for (const auto& [key, value] : fv.members()) {
        if (!IsFieldReserved(key)) AddProp(f.props, key, value);
      }
      SLUICE_RETURN_IF_ERROR(ParseAliases(fv, where, f.aliases, nullptr));
      rec.fields.push_back(std::move(f));
    }
    return Status::Ok();
  }

  Result<const Node*> ParseUnion(const JsonValue& v, const std::string& space,
                                 const std::string& where) {
    Node& n = NewNode(Type::kUnion);
    std::set<std::string> seen;
    for (size_t i = 0; i < v.items().size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(const Node* b,
                              ParseNode(v.items()[i], space, fmt::format("{}, union branch {}", where, i)));
      if (b->type == Type::kUnion) {
        return InvalidArgument("{}: union branch {} is itself a union (unions may not be nested)",
                               where, i);
      }
      std::string key = IsNamed(b->type) ? b->full_name : std::string(TypeName(b->type));
      if (!seen.insert(key).second) {
        return InvalidArgument("{}: union contains '{}' twice", where, key);
      }
      n.branches.push_back(b);
    }
    return &n;
  }

  AvroSchema& schema_;
  codec::JsonParser json_parser_;
  std::unordered_map<std::string, const Node*> names_;
  std::set<std::string> done_refs_;
  int depth_ = 0;
};

Result<std::unique_ptr<AvroSchema>> ParseAvro(std::string_view text,
                                              std::span<const ResolvedReference> references) {
  std::unique_ptr<AvroSchema> schema(new AvroSchema());
  SchemaParser parser(*schema);
  SLUICE_RETURN_IF_ERROR(parser.ParseReferences(references));
  SLUICE_ASSIGN_OR_RETURN(schema->root_, parser.ParseText(text));
  schema->references_.assign(references.begin(), references.end());
  schema->canonical_ = internal::PrintCanonical(*schema->root_, schema->reference_roots_);
  return schema;
}

Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references) {
  SLUICE_ASSIGN_OR_RETURN(auto schema, ParseAvro(text, references));
  return std::unique_ptr<ParsedSchema>(std::move(schema));
}

std::string AvroSchema::Normalized() const {
  std::string source = internal::PrintNormalizedSource(*root_, reference_roots_);
  auto reparsed = ParseAvro(source, references_);
  // The normalized text is built from a valid schema and always parses again.
  return reparsed.ok() ? (*reparsed)->canonical() : canonical_;
}

std::string AvroSchema::ParsingCanonicalForm() const {
  return internal::PrintParsingCanonicalForm(*root_);
}

std::vector<std::string> AvroSchema::CheckCanRead(const ParsedSchema& writer) const {
  if (writer.type() != SchemaType::kAvro) {
    return {fmt::format("Incompatible because of different schema type: the reader is AVRO, the "
                        "writer is {}",
                        SchemaTypeName(writer.type()))};
  }
  return internal::CheckCanRead(*root_, static_cast<const AvroSchema&>(writer).root());
}

}  // namespace sluice::schema::avro
