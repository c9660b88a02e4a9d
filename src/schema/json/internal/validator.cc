// The compiled validator. Each schema object becomes one CNode holding all of its keywords;
// $refs become node indexes (recursive schemas are cycles in the index graph). Validation walks a
// simdjson DOM produced by a thread_local parser into a thread_local padded buffer, so steady-state
// validation does not allocate. Error text is built only for the first failure outside
// anyOf/oneOf/not/if/contains (those evaluate quietly).
#include "schema/json/internal/validator.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "schema/json/internal/formats.h"
#include "schema/json/internal/pattern.h"

namespace sluice::schema::json::internal {

namespace {

using codec::JsonValue;
using simdjson::dom::element;
using simdjson::dom::element_type;

enum TypeBit : uint8_t {
  kNullBit = 1,
  kBoolBit = 2,
  kIntBit = 4,
  kNumBit = 8,
  kStrBit = 16,
  kArrBit = 32,
  kObjBit = 64,
};

constexpr int kAllow = -1;  // no constraint (additionalProperties absent/true)
constexpr int kDeny = -2;   // false

// A constant JSON value (enum/const members) in a form cheap to compare with DOM elements.
struct CValue {
  JsonValue::Type type = JsonValue::Type::kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<CValue> items;
  std::vector<std::pair<std::string, CValue>> members;
};

CValue ToCValue(const JsonValue& v) {
  CValue c;
  c.type = v.type();
  switch (v.type()) {
    case JsonValue::Type::kBool:
      c.b = v.bool_value();
      break;
    case JsonValue::Type::kNumber:
      c.num = v.AsDouble().value_or(0);
      break;
    case JsonValue::Type::kString:
      c.str = v.text();
      break;
    case JsonValue::Type::kArray:
      for (const JsonValue& i : v.items()) c.items.push_back(ToCValue(i));
      break;
    case JsonValue::Type::kObject:
      for (const auto& [k, m] : v.members()) c.members.emplace_back(k, ToCValue(m));
      break;
    case JsonValue::Type::kNull:
      break;
  }
  return c;
}

bool ElementNumber(element e, double& out) {
  switch (e.type()) {
    case element_type::INT64:
      out = static_cast<double>(e.get_int64().value_unsafe());
      return true;
    case element_type::UINT64:
      out = static_cast<double>(e.get_uint64().value_unsafe());
      return true;
    case element_type::DOUBLE:
      out = e.get_double().value_unsafe();
      return true;
    default:
      return false;
  }
}

bool Equal(element e, const CValue& v) {
  switch (v.type) {
    case JsonValue::Type::kNull:
      return e.is_null();
    case JsonValue::Type::kBool:
      return e.type() == element_type::BOOL && e.get_bool().value_unsafe() == v.b;
    case JsonValue::Type::kNumber: {
      double d;
      return ElementNumber(e, d) && d == v.num;
    }
    case JsonValue::Type::kString:
      return e.type() == element_type::STRING && e.get_string().value_unsafe() == v.str;
    case JsonValue::Type::kArray: {
      if (e.type() != element_type::ARRAY) return false;
      simdjson::dom::array a = e.get_array().value_unsafe();
      if (a.size() != v.items.size()) return false;
      size_t i = 0;
      for (element x : a) {
        if (!Equal(x, v.items[i++])) return false;
      }
      return true;
    }
    case JsonValue::Type::kObject: {
      if (e.type() != element_type::OBJECT) return false;
      simdjson::dom::object o = e.get_object().value_unsafe();
      if (o.size() != v.members.size()) return false;
      for (const auto& [k, m] : v.members) {
        element x;
        if (o.at_key(k).get(x) != simdjson::SUCCESS || !Equal(x, m)) return false;
      }
      return true;
    }
  }
  return false;
}

bool ElementsEqual(element a, element b) {
  double da, db;
  if (ElementNumber(a, da) && ElementNumber(b, db)) return da == db;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case element_type::NULL_VALUE:
      return true;
    case element_type::BOOL:
      return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::STRING:
      return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::ARRAY: {
      simdjson::dom::array x = a.get_array().value_unsafe(), y = b.get_array().value_unsafe();
      if (x.size() != y.size()) return false;
      auto it = y.begin();
      for (element i : x) {
        if (!ElementsEqual(i, *it)) return false;
        ++it;
      }
      return true;
    }
    case element_type::OBJECT: {
      simdjson::dom::object x = a.get_object().value_unsafe(), y = b.get_object().value_unsafe();
      if (x.size() != y.size()) return false;
      for (auto field : x) {
        element other;
        if (y.at_key(field.key).get(other) != simdjson::SUCCESS) return false;
        if (!ElementsEqual(field.value, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

uint8_t TypeBits(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return kNullBit;
    case element_type::BOOL:
      return kBoolBit;
    case element_type::INT64:
    case element_type::UINT64:
      return kIntBit | kNumBit;
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      return std::isfinite(d) && std::floor(d) == d ? (kIntBit | kNumBit) : kNumBit;
    }
    case element_type::STRING:
      return kStrBit;
    case element_type::ARRAY:
      return kArrBit;
    case element_type::OBJECT:
      return kObjBit;
  }
  return 0;
}

const char* ElementTypeName(element e) {
  switch (e.type()) {
    case element_type::NULL_VALUE:
      return "null";
    case element_type::BOOL:
      return "boolean";
    case element_type::INT64:
    case element_type::UINT64:
      return "integer";
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
  }
  return "value";
}

std::string TypeMaskName(uint8_t mask) {
  std::string out;
  auto add = [&](uint8_t bit, const char* name) {
    if ((mask & bit) == 0) return;
    if (!out.empty()) out += " or ";
    out += name;
  };
  add(kObjBit, "object");
  add(kArrBit, "array");
  add(kStrBit, "string");
  if (mask & kNumBit) {
    add(kNumBit, "number");
  } else {
    add(kIntBit, "integer");
  }
  add(kBoolBit, "boolean");
  add(kNullBit, "null");
  return out;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

struct CProp {
  std::string name;
  int schema = kAllow;
  int required_bit = -1;
  bool declared = false;  // listed under "properties"
};

struct CObject {
  std::vector<CProp> props;  // sorted by name
  uint64_t required_mask = 0;
  std::vector<std::string> required_slow;  // beyond 64 required names
  int additional = kAllow;
  std::vector<std::pair<int, int>> pattern_props;  // (pattern, schema)
  std::vector<std::string> extra_known;  // names evaluated elsewhere (unevaluatedProperties)
  int64_t min_props = -1, max_props = -1;
  std::vector<std::pair<std::string, std::vector<std::string>>> dep_required;
  std::vector<std::pair<std::string, int>> dep_schemas;
  int property_names = -1;

  const CProp* Find(std::string_view name) const {
    if (props.size() <= 12) {
      for (const CProp& p : props) {
        if (p.name.size() == name.size() && std::memcmp(p.name.data(), name.data(), name.size()) ==
                                                0) {
          return &p;
        }
      }
      return nullptr;
    }
    auto it = std::lower_bound(props.begin(), props.end(), name,
                               [](const CProp& p, std::string_view n) { return p.name < n; });
    return it != props.end() && it->name == name ? &*it : nullptr;
  }
};

struct CArray {
  int items = kAllow;
  std::vector<int> prefix;
  int additional = kAllow;
  int64_t min_items = -1, max_items = -1;
  bool unique = false;
  int contains = -1;
  int64_t min_contains = 1, max_contains = -1;
};

struct CNode {
  bool always_false = false;
  uint8_t types = 0;  // 0 = any
  // numbers
  bool has_min = false, has_max = false, has_ex_min = false, has_ex_max = false;
  double minimum = 0, maximum = 0, ex_min = 0, ex_max = 0;
  double multiple_of = 0;  // 0 = none
  // strings
  int64_t min_len = -1, max_len = -1;
  int pattern = -1;
  Format format = Format::kNone;
  // enum / const
  int values = -1;
  int object = -1;
  int array = -1;
  std::vector<int> all_of, any_of, one_of;
  int not_ = -1, if_ = -1, then_ = -1, else_ = -1, ref = -1;
};

struct PathSeg {
  std::string_view key;
  int64_t index = -1;
};

struct ThreadState {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  std::vector<PathSeg> path;
};

class CompiledValidator final : public Validator {
 public:
  Status Validate(std::string_view payload) const override;

  std::vector<CNode> nodes;
  std::vector<CObject> objects;
  std::vector<CArray> arrays;
  std::vector<Pattern> patterns;
  std::vector<std::vector<CValue>> value_sets;
  int root = 0;

 private:
  struct Ctx {
    std::vector<PathSeg>* path;
    std::string* error;  // null: quiet
  };
  bool Check(int idx, element e, const Ctx& ctx) const;
  bool CheckObject(const CObject& o, element e, const Ctx& ctx) const;
  // Evaluates quietly, restoring the path stack whatever happens inside.
  bool Quiet(int idx, element e, const Ctx& ctx) const {
    size_t depth = ctx.path->size();
    bool ok = Check(idx, e, Ctx{ctx.path, nullptr});
    ctx.path->resize(depth);
    return ok;
  }
  bool CheckArray(const CArray& a, simdjson::dom::array arr, const Ctx& ctx) const;
  template <typename... Args>
  bool Fail(const Ctx& ctx, fmt::format_string<Args...> f, Args&&... args) const {
    if (ctx.error == nullptr || !ctx.error->empty()) return false;
    std::string p;
    for (const PathSeg& s : *ctx.path) {
      p += '/';
      if (s.index >= 0) {
        p += std::to_string(s.index);
      } else {
        p.append(s.key.data(), s.key.size());
      }
    }
    if (p.empty()) p = "/";
    *ctx.error = p + ": " + fmt::format(f, std::forward<Args>(args)...);
    return false;
  }
};

// Nesting of Check calls on this thread: a schema that refers to itself without descending into
// the document ({"$ref": "#"}) would otherwise recurse until the stack overflows.
thread_local int t_check_depth = 0;
constexpr int kMaxCheckDepth = 2000;

struct DepthGuard {
  DepthGuard() { ++t_check_depth; }
  ~DepthGuard() { --t_check_depth; }
};

bool CompiledValidator::Check(int idx, element e, const Ctx& ctx) const {
  DepthGuard guard;
  if (t_check_depth > kMaxCheckDepth) {
    return Fail(ctx, "schema recursion deeper than {} levels", kMaxCheckDepth);
  }
  const CNode& n = nodes[static_cast<size_t>(idx)];
  if (n.always_false) return Fail(ctx, "no value is allowed here (schema false)");
  if (n.ref >= 0 && !Check(n.ref, e, ctx)) return false;
  if (n.types != 0) {
    uint8_t bits = TypeBits(e);
    if ((bits & n.types) == 0) {
      return Fail(ctx, "expected {}, got {}", TypeMaskName(n.types), ElementTypeName(e));
    }
  }
  if (n.values >= 0) {
    const auto& set = value_sets[static_cast<size_t>(n.values)];
    bool found = false;
    for (const CValue& v : set) {
      if (Equal(e, v)) {
        found = true;
        break;
      }
    }
    if (!found) {
      return Fail(ctx, "value {} is not one of the allowed values",
                  simdjson::minify(e));
    }
  }
  switch (e.type()) {
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (n.min_len >= 0 || n.max_len >= 0) {
        int64_t len = static_cast<int64_t>(CodePoints(s));
        if (n.min_len >= 0 && len < n.min_len) {
          return Fail(ctx, "string shorter than minLength {}", n.min_len);
        }
        if (n.max_len >= 0 && len > n.max_len) {
          return Fail(ctx, "string longer than maxLength {}", n.max_len);
        }
      }
      if (n.pattern >= 0 && !patterns[static_cast<size_t>(n.pattern)].Search(s)) {
        return Fail(ctx, "string does not match the pattern");
      }
      if (n.format != Format::kNone && !CheckFormat(n.format, s)) {
        return Fail(ctx, "string is not a valid {}", FormatName(n.format));
      }
      break;
    }
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      double d = 0;
      ElementNumber(e, d);
      if (n.has_min && d < n.minimum) return Fail(ctx, "{} is less than minimum {}", d, n.minimum);
      if (n.has_max && d > n.maximum) {
        return Fail(ctx, "{} is greater than maximum {}", d, n.maximum);
      }
      if (n.has_ex_min && d <= n.ex_min) {
        return Fail(ctx, "{} is not greater than exclusiveMinimum {}", d, n.ex_min);
      }
      if (n.has_ex_max && d >= n.ex_max) {
        return Fail(ctx, "{} is not less than exclusiveMaximum {}", d, n.ex_max);
      }
      if (n.multiple_of > 0) {
        bool ok;
        if (e.type() == element_type::INT64 && std::floor(n.multiple_of) == n.multiple_of &&
            n.multiple_of < 9.0e18) {
          ok = e.get_int64().value_unsafe() % static_cast<int64_t>(n.multiple_of) == 0;
        } else {
          double q = d / n.multiple_of;
          ok = std::isfinite(q) && std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
        }
        if (!ok) return Fail(ctx, "{} is not a multiple of {}", d, n.multiple_of);
      }
      break;
    }
    case element_type::OBJECT:
      if (n.object >= 0 &&
          !CheckObject(objects[static_cast<size_t>(n.object)], e, ctx)) {
        return false;
      }
      break;
    case element_type::ARRAY:
      if (n.array >= 0 &&
          !CheckArray(arrays[static_cast<size_t>(n.array)], e.get_array().value_unsafe(), ctx)) {
        return false;
      }
      break;
    default:
      break;
  }
  for (int s : n.all_of) {
    if (!Check(s, e, ctx)) return false;
  }
  if (!n.any_of.empty() || !n.one_of.empty() || n.not_ >= 0 || n.if_ >= 0) {
    if (!n.any_of.empty()) {
      bool any = false;
      for (int s : n.any_of) {
        if (Quiet(s, e, ctx)) {
          any = true;
          break;
        }
      }
      if (!any) return Fail(ctx, "value matches none of the anyOf schemas");
    }
    if (!n.one_of.empty()) {
      int count = 0;
      for (int s : n.one_of) {
        if (Quiet(s, e, ctx) && ++count > 1) break;
      }
      if (count != 1) {
        return Fail(ctx, "value matches {} of the oneOf schemas, expected exactly one",
                    count > 1 ? "more than one" : "none");
      }
    }
    if (n.not_ >= 0 && Quiet(n.not_, e, ctx)) {
      return Fail(ctx, "value matches the schema under \"not\"");
    }
    if (n.if_ >= 0) {
      if (Quiet(n.if_, e, ctx)) {
        if (n.then_ >= 0 && !Check(n.then_, e, ctx)) return Fail(ctx, "value fails \"then\"");
      } else if (n.else_ >= 0 && !Check(n.else_, e, ctx)) {
        return Fail(ctx, "value fails \"else\"");
      }
    }
  }
  return true;
}

bool CompiledValidator::CheckObject(const CObject& o, element e, const Ctx& ctx) const {
  simdjson::dom::object obj = e.get_object().value_unsafe();
  uint64_t seen = 0;
  size_t count = 0;
  for (auto field : obj) {
    ++count;
    std::string_view key = field.key;
    ctx.path->push_back(PathSeg{key, -1});
    bool known = false;
    if (const CProp* p = o.Find(key)) {
      known = p->declared;
      if (p->required_bit >= 0) seen |= uint64_t{1} << p->required_bit;
      if (p->schema >= 0 && !Check(p->schema, field.value, ctx)) return false;
    }
    if (!o.pattern_props.empty()) {
      for (const auto& [pattern, schema] : o.pattern_props) {
        if (patterns[static_cast<size_t>(pattern)].Search(key)) {
          known = true;
          if (!Check(schema, field.value, ctx)) return false;
        }
      }
    }
    if (!known && o.additional != kAllow) {
      bool extra = std::find(o.extra_known.begin(), o.extra_known.end(), key) !=
                   o.extra_known.end();
      if (!extra) {
        if (o.additional == kDeny) {
          return Fail(ctx, "property '{}' is not allowed (additionalProperties is false)", key);
        }
        if (!Check(o.additional, field.value, ctx)) return false;
      }
    }
    ctx.path->pop_back();
  }
  if (seen != o.required_mask) {
    for (const CProp& p : o.props) {
      if (p.required_bit >= 0 && (seen & (uint64_t{1} << p.required_bit)) == 0) {
        return Fail(ctx, "required property '{}' is missing", p.name);
      }
    }
  }
  for (const std::string& name : o.required_slow) {
    element unused;
    if (obj.at_key(name).get(unused) != simdjson::SUCCESS) {
      return Fail(ctx, "required property '{}' is missing", name);
    }
  }
  if (o.min_props >= 0 && static_cast<int64_t>(count) < o.min_props) {
    return Fail(ctx, "object has fewer than minProperties {}", o.min_props);
  }
  if (o.max_props >= 0 && static_cast<int64_t>(count) > o.max_props) {
    return Fail(ctx, "object has more than maxProperties {}", o.max_props);
  }
  for (const auto& [name, deps] : o.dep_required) {
    element unused;
    if (obj.at_key(name).get(unused) != simdjson::SUCCESS) continue;
    for (const std::string& dep : deps) {
      if (obj.at_key(dep).get(unused) != simdjson::SUCCESS) {
        return Fail(ctx, "property '{}' requires property '{}'", name, dep);
      }
    }
  }
  for (const auto& [name, schema] : o.dep_schemas) {
    element unused;
    if (obj.at_key(name).get(unused) != simdjson::SUCCESS) continue;
    if (!Check(schema, e, ctx)) return false;
  }
  if (o.property_names >= 0) {
    // Names are checked against a string-only view of the schema: type, length, pattern,
    // format and enum are what matter for names.
    const CNode& pn = nodes[static_cast<size_t>(o.property_names)];
    for (auto field : obj) {
      std::string_view key = field.key;
      int64_t len = static_cast<int64_t>(CodePoints(key));
      bool ok = !pn.always_false && (pn.types == 0 || (pn.types & kStrBit) != 0) &&
                (pn.min_len < 0 || len >= pn.min_len) && (pn.max_len < 0 || len <= pn.max_len) &&
                (pn.pattern < 0 || patterns[static_cast<size_t>(pn.pattern)].Search(key)) &&
                CheckFormat(pn.format, key);
      if (ok && pn.values >= 0) {
        ok = false;
        for (const CValue& v : value_sets[static_cast<size_t>(pn.values)]) {
          ok = ok || (v.type == JsonValue::Type::kString && v.str == key);
        }
      }
      if (!ok) return Fail(ctx, "property name '{}' does not match propertyNames", key);
    }
  }
  return true;
}

bool CompiledValidator::CheckArray(const CArray& a, simdjson::dom::array arr,
                                   const Ctx& ctx) const {
  size_t size = arr.size();
  if (a.min_items >= 0 && static_cast<int64_t>(size) < a.min_items) {
    return Fail(ctx, "array has fewer than minItems {}", a.min_items);
  }
  if (a.max_items >= 0 && static_cast<int64_t>(size) > a.max_items) {
    return Fail(ctx, "array has more than maxItems {}", a.max_items);
  }
  int64_t i = 0;
  int64_t contained = 0;
  for (element item : arr) {
    ctx.path->push_back(PathSeg{{}, i});
    int schema = a.items;
    if (static_cast<size_t>(i) < a.prefix.size()) {
      schema = a.prefix[static_cast<size_t>(i)];
    } else if (!a.prefix.empty()) {
      schema = a.additional;
    }
    if (schema == kDeny) return Fail(ctx, "no item allowed at this position");
    if (schema >= 0 && !Check(schema, item, ctx)) return false;
    if (a.contains >= 0 && Quiet(a.contains, item, ctx)) ++contained;
    ctx.path->pop_back();
    ++i;
  }
  if (a.contains >= 0) {
    if (contained < a.min_contains) {
      return Fail(ctx, "array contains {} matching items, fewer than {}", contained,
                  a.min_contains);
    }
    if (a.max_contains >= 0 && contained > a.max_contains) {
      return Fail(ctx, "array contains {} matching items, more than {}", contained,
                  a.max_contains);
    }
  }
  if (a.unique && size > 1) {
    size_t x = 0;
    for (element p : arr) {
      size_t y = 0;
      for (element q : arr) {
        if (y > x && ElementsEqual(p, q)) {
          return Fail(ctx, "items {} and {} are equal (uniqueItems)", x, y);
        }
        ++y;
      }
      ++x;
    }
  }
  return true;
}

Status CompiledValidator::Validate(std::string_view payload) const {
  thread_local ThreadState state;
  size_t need = payload.size() + simdjson::SIMDJSON_PADDING;
  if (state.capacity < need) {
    state.capacity = std::max(need, size_t{4096});
    state.buffer.reset(new char[state.capacity]);
    state.path.reserve(64);
  }
  std::memcpy(state.buffer.get(), payload.data(), payload.size());
  std::memset(state.buffer.get() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
  element doc;
  auto err = state.parser.parse(state.buffer.get(), payload.size(), false).get(doc);
  if (err != simdjson::SUCCESS) {
    return InvalidArgument("payload is not valid JSON: {}", simdjson::error_message(err));
  }
  state.path.clear();
  std::string error;
  Ctx ctx{&state.path, &error};
  if (Check(root, doc, ctx)) return Status::Ok();
  if (error.empty()) error = "/: document does not match the schema";
  return Status(ErrorCode::kInvalidArgument, std::move(error));
}

// ---------------------------------------------------------------------------------------------

class Compiler {
 public:
  Compiler(const SchemaSet& set, CompiledValidator& out) : set_(set), out_(out) {}
  Result<int> Compile(const Location& loc);

 private:
  Result<int> Child(const Location& loc, std::string_view a) {
    return Compile(Location{loc.doc, loc.pointer + "/" + EscapePointerToken(a)});
  }
  Result<int> Child(const Location& loc, std::string_view a, std::string_view b) {
    return Compile(Location{loc.doc, loc.pointer + "/" + EscapePointerToken(a) + "/" +
                                         EscapePointerToken(b)});
  }
  Result<int> AddPattern(const std::string& p) {
    auto it = pattern_index_.find(p);
    if (it != pattern_index_.end()) return it->second;
    auto compiled = Pattern::Compile(p);
    if (!compiled) return InvalidArgument("invalid regular expression '{}'", p);
    out_.patterns.push_back(std::move(*compiled));
    int idx = static_cast<int>(out_.patterns.size() - 1);
    pattern_index_.emplace(p, idx);
    return idx;
  }
  Status Fill(CNode& n, const Location& loc, const JsonValue& v, Draft draft);
  Status FillObject(CNode& n, const Location& loc, const JsonValue& v, Draft draft);
  Status FillArray(CNode& n, const Location& loc, const JsonValue& v, Draft draft);
  Result<int> Ref(const Location& loc, const std::string& ref);

  const SchemaSet& set_;
  CompiledValidator& out_;
  std::map<std::string, int> index_;
  std::map<std::string, int> pattern_index_;
};

Result<int> Compiler::Compile(const Location& loc) {
  std::string key = std::to_string(loc.doc) + "#" + loc.pointer;
  auto it = index_.find(key);
  if (it != index_.end()) return it->second;
  int idx = static_cast<int>(out_.nodes.size());
  out_.nodes.emplace_back();
  index_.emplace(key, idx);
  const JsonValue* v = set_.At(loc);
  CNode n;
  if (v == nullptr) return InvalidArgument("no schema at {}", set_.Describe(loc));
  if (v->is_bool()) {
    n.always_false = !v->bool_value();
  } else if (v->is_object()) {
    SLUICE_RETURN_IF_ERROR(Fill(n, loc, *v, set_.doc(loc.doc).draft));
  }
  out_.nodes[static_cast<size_t>(idx)] = std::move(n);
  return idx;
}

Result<int> Compiler::Ref(const Location& loc, const std::string& ref) {
  SLUICE_ASSIGN_OR_RETURN(Location target,
                          set_.ResolveLoaded(loc.doc, set_.BaseAt(loc), ref));
  return Compile(target);
}

Status Compiler::Fill(CNode& n, const Location& loc, const JsonValue& v, Draft draft) {
  if (const JsonValue* r = v.Find("$ref"); r != nullptr && r->is_string()) {
    SLUICE_ASSIGN_OR_RETURN(n.ref, Ref(loc, r->text()));
    if (draft <= Draft::k7) return Status::Ok();
  }
  if (draft == Draft::k2019) {
    if (const JsonValue* r = v.Find("$recursiveRef"); r != nullptr && r->is_string()) {
      SLUICE_ASSIGN_OR_RETURN(int target, Ref(loc, r->text()));
      n.all_of.push_back(target);
    }
  }
  if (draft == Draft::k2020) {
    if (const JsonValue* r = v.Find("$dynamicRef"); r != nullptr && r->is_string()) {
      SLUICE_ASSIGN_OR_RETURN(int target, Ref(loc, r->text()));
      n.all_of.push_back(target);
    }
  }
  if (const JsonValue* t = v.Find("type")) {
    auto bit = [](const std::string& name) -> uint8_t {
      if (name == "null") return kNullBit;
      if (name == "boolean") return kBoolBit;
      if (name == "integer") return kIntBit;
      if (name == "number") return kNumBit | kIntBit;
      if (name == "string") return kStrBit;
      if (name == "array") return kArrBit;
      if (name == "object") return kObjBit;
      return 0;
    };
    if (t->is_string()) {
      n.types = bit(t->text());
    } else {
      for (const JsonValue& i : t->items()) n.types |= bit(i.text());
    }
  }
  if (const JsonValue* e = v.Find("enum")) {
    std::vector<CValue> values;
    for (const JsonValue& i : e->items()) values.push_back(ToCValue(i));
    out_.value_sets.push_back(std::move(values));
    n.values = static_cast<int>(out_.value_sets.size() - 1);
  }
  if (const JsonValue* c = v.Find("const"); c != nullptr && draft != Draft::k4) {
    std::vector<CValue> values{ToCValue(*c)};
    if (n.values >= 0) {
      // enum and const together: model as allOf of a const-only node.
      CNode extra;
      out_.value_sets.push_back(std::move(values));
      extra.values = static_cast<int>(out_.value_sets.size() - 1);
      out_.nodes.push_back(std::move(extra));
      n.all_of.push_back(static_cast<int>(out_.nodes.size() - 1));
    } else {
      out_.value_sets.push_back(std::move(values));
      n.values = static_cast<int>(out_.value_sets.size() - 1);
    }
  }
  // Numbers.
  auto num = [&](const char* key, bool& has, double& out) {
    const JsonValue* x = v.Find(key);
    if (x != nullptr && x->is_number()) {
      has = true;
      out = x->AsDouble().value_or(0);
    }
  };
  num("minimum", n.has_min, n.minimum);
  num("maximum", n.has_max, n.maximum);
  if (draft == Draft::k4) {
    const JsonValue* emin = v.Find("exclusiveMinimum");
    if (emin != nullptr && emin->is_bool() && emin->bool_value() && n.has_min) {
      n.has_min = false;
      n.has_ex_min = true;
      n.ex_min = n.minimum;
    }
    const JsonValue* emax = v.Find("exclusiveMaximum");
    if (emax != nullptr && emax->is_bool() && emax->bool_value() && n.has_max) {
      n.has_max = false;
      n.has_ex_max = true;
      n.ex_max = n.maximum;
    }
  } else {
    num("exclusiveMinimum", n.has_ex_min, n.ex_min);
    num("exclusiveMaximum", n.has_ex_max, n.ex_max);
  }
  bool has_multiple = false;
  num("multipleOf", has_multiple, n.multiple_of);
  // Strings.
  auto count = [&](const char* key, int64_t& out) {
    const JsonValue* x = v.Find(key);
    if (x != nullptr && x->is_number()) out = static_cast<int64_t>(x->AsDouble().value_or(0));
  };
  count("minLength", n.min_len);
  count("maxLength", n.max_len);
  if (const JsonValue* p = v.Find("pattern"); p != nullptr && p->is_string()) {
    SLUICE_ASSIGN_OR_RETURN(n.pattern, AddPattern(p->text()));
  }
  if (const JsonValue* f = v.Find("format"); f != nullptr && f->is_string()) {
    n.format = FormatFromName(f->text());
  }
  SLUICE_RETURN_IF_ERROR(FillObject(n, loc, v, draft));
  SLUICE_RETURN_IF_ERROR(FillArray(n, loc, v, draft));
  // Applicators.
  for (auto [key, list] : {std::pair{"allOf", &n.all_of}, std::pair{"anyOf", &n.any_of},
                           std::pair{"oneOf", &n.one_of}}) {
    const JsonValue* x = v.Find(key);
    if (x == nullptr || !x->is_array()) continue;
    for (size_t i = 0; i < x->items().size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(int s, Child(loc, key, std::to_string(i)));
      list->push_back(s);
    }
  }
  if (v.Find("not") != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(n.not_, Child(loc, "not"));
  }
  if (draft >= Draft::k7 && v.Find("if") != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(n.if_, Child(loc, "if"));
    if (v.Find("then") != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(n.then_, Child(loc, "then"));
  }
    if (v.Find("else") != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(n.else_, Child(loc, "else"));
  }
  }
  return Status::Ok();
}

Status Compiler::FillObject(CNode& n, const Location& loc, const JsonValue& v, Draft draft) {
  static constexpr const char* kKeys[] = {
      "properties",   "required",     "additionalProperties", "patternProperties",
      "minProperties", "maxProperties", "dependencies",        "dependentRequired",
      "dependentSchemas", "propertyNames", "unevaluatedProperties"};
  bool any = false;
  for (const char* k : kKeys) any = any || v.Find(k) != nullptr;
  if (!any) return Status::Ok();
  CObject o;
  if (const JsonValue* props = v.Find("properties"); props != nullptr && props->is_object()) {
    for (const auto& [name, _] : props->members()) {
      SLUICE_ASSIGN_OR_RETURN(int s, Child(loc, "properties", name));
      o.props.push_back(CProp{name, s, -1, true});
    }
  }
  if (const JsonValue* req = v.Find("required"); req != nullptr && req->is_array()) {
    int bit = 0;
    for (const JsonValue& r : req->items()) {
      const std::string& name = r.text();
      auto it = std::find_if(o.props.begin(), o.props.end(),
                             [&](const CProp& p) { return p.name == name; });
      if (it != o.props.end() && it->required_bit >= 0) continue;  // duplicate
      if (bit >= 64) {
        o.required_slow.push_back(name);
        continue;
      }
      if (it == o.props.end()) {
        o.props.push_back(CProp{name, kAllow, bit, false});
      } else {
        it->required_bit = bit;
      }
      o.required_mask |= uint64_t{1} << bit;
      ++bit;
    }
  }
  std::sort(o.props.begin(), o.props.end(),
            [](const CProp& a, const CProp& b) { return a.name < b.name; });
  if (const JsonValue* pp = v.Find("patternProperties"); pp != nullptr && pp->is_object()) {
    for (const auto& [pattern, _] : pp->members()) {
      SLUICE_ASSIGN_OR_RETURN(int p, AddPattern(pattern));
      SLUICE_ASSIGN_OR_RETURN(int s, Child(loc, "patternProperties", pattern));
      o.pattern_props.emplace_back(p, s);
    }
  }
  if (const JsonValue* ap = v.Find("additionalProperties")) {
    if (ap->is_bool()) {
      o.additional = ap->bool_value() ? kAllow : kDeny;
    } else {
      SLUICE_ASSIGN_OR_RETURN(o.additional, Child(loc, "additionalProperties"));
    }
  } else if (const JsonValue* up = v.Find("unevaluatedProperties");
             up != nullptr && draft >= Draft::k2019) {
    // Approximation: properties declared by sibling applicators count as evaluated.
    if (up->is_bool()) {
      o.additional = up->bool_value() ? kAllow : kDeny;
    } else {
      SLUICE_ASSIGN_OR_RETURN(o.additional, Child(loc, "unevaluatedProperties"));
    }
    std::vector<const JsonValue*> siblings;
    for (const char* key : {"allOf", "anyOf", "oneOf"}) {
      if (const JsonValue* list = v.Find(key); list != nullptr && list->is_array()) {
        for (const JsonValue& s : list->items()) siblings.push_back(&s);
      }
    }
    for (const char* key : {"then", "else"}) {
      if (const JsonValue* s = v.Find(key)) siblings.push_back(s);
    }
    if (const JsonValue* r = v.Find("$ref"); r != nullptr && r->is_string()) {
      auto target = set_.ResolveLoaded(loc.doc, set_.BaseAt(loc), r->text());
      if (target.ok()) siblings.push_back(set_.At(*target));
    }
    for (const JsonValue* s : siblings) {
      const JsonValue* props = s != nullptr && s->is_object() ? s->Find("properties") : nullptr;
      if (props == nullptr || !props->is_object()) continue;
      for (const auto& [name, _] : props->members()) o.extra_known.push_back(name);
    }
  }
  auto count = [&](const char* key, int64_t& out) {
    const JsonValue* x = v.Find(key);
    if (x != nullptr && x->is_number()) out = static_cast<int64_t>(x->AsDouble().value_or(0));
  };
  count("minProperties", o.min_props);
  count("maxProperties", o.max_props);
  for (const char* key : {"dependencies", "dependentRequired", "dependentSchemas"}) {
    const JsonValue* deps = v.Find(key);
    if (deps == nullptr || !deps->is_object()) continue;
    for (const auto& [name, dep] : deps->members()) {
      if (dep.is_array()) {
        std::vector<std::string> names;
        for (const JsonValue& d : dep.items()) names.push_back(d.text());
        o.dep_required.emplace_back(name, std::move(names));
      } else {
        SLUICE_ASSIGN_OR_RETURN(int s, Child(loc, key, name));
        o.dep_schemas.emplace_back(name, s);
      }
    }
  }
  if (v.Find("propertyNames") != nullptr && draft >= Draft::k6) {
    SLUICE_ASSIGN_OR_RETURN(o.property_names, Child(loc, "propertyNames"));
  }
  out_.objects.push_back(std::move(o));
  n.object = static_cast<int>(out_.objects.size() - 1);
  return Status::Ok();
}

Status Compiler::FillArray(CNode& n, const Location& loc, const JsonValue& v, Draft draft) {
  static constexpr const char* kKeys[] = {"items",    "prefixItems", "additionalItems",
                                          "minItems", "maxItems",    "uniqueItems",
                                          "contains", "minContains", "maxContains",
                                          "unevaluatedItems"};
  bool any = false;
  for (const char* k : kKeys) any = any || v.Find(k) != nullptr;
  if (!any) return Status::Ok();
  CArray a;
  const JsonValue* prefix = draft >= Draft::k2020 ? v.Find("prefixItems") : nullptr;
  const char* tuple_key = "prefixItems";
  if (prefix == nullptr) {
    const JsonValue* items = v.Find("items");
    if (items != nullptr && items->is_array()) {
      prefix = items;
      tuple_key = "items";
    }
  }
  if (prefix != nullptr && prefix->is_array()) {
    for (size_t i = 0; i < prefix->items().size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(int s, Child(loc, tuple_key, std::to_string(i)));
      a.prefix.push_back(s);
    }
  }
  auto schema_or_bool = [&](const char* key, int& out) -> Status {
    const JsonValue* x = v.Find(key);
    if (x == nullptr) return Status::Ok();
    if (x->is_bool()) {
      out = x->bool_value() ? kAllow : kDeny;
      return Status::Ok();
    }
    SLUICE_ASSIGN_OR_RETURN(out, Child(loc, key));
    return Status::Ok();
  };
  const JsonValue* items = v.Find("items");
  if (items != nullptr && !items->is_array()) {
    if (!a.prefix.empty() && draft >= Draft::k2020) {
      SLUICE_RETURN_IF_ERROR(schema_or_bool("items", a.additional));
    } else {
      SLUICE_RETURN_IF_ERROR(schema_or_bool("items", a.items));
    }
  }
  if (draft < Draft::k2020 && !a.prefix.empty() && tuple_key == std::string_view("items")) {
    SLUICE_RETURN_IF_ERROR(schema_or_bool("additionalItems", a.additional));
  }
  if (a.additional == kAllow && draft >= Draft::k2019 && v.Find("unevaluatedItems") != nullptr &&
      a.items == kAllow) {
    SLUICE_RETURN_IF_ERROR(schema_or_bool("unevaluatedItems", a.additional));
    if (a.prefix.empty()) a.items = a.additional;
  }
  auto count = [&](const char* key, int64_t& out) {
    const JsonValue* x = v.Find(key);
    if (x != nullptr && x->is_number()) out = static_cast<int64_t>(x->AsDouble().value_or(0));
  };
  count("minItems", a.min_items);
  count("maxItems", a.max_items);
  if (const JsonValue* u = v.Find("uniqueItems"); u != nullptr && u->is_bool()) {
    a.unique = u->bool_value();
  }
  if (v.Find("contains") != nullptr && draft >= Draft::k6) {
    SLUICE_ASSIGN_OR_RETURN(a.contains, Child(loc, "contains"));
    if (draft >= Draft::k2019) {
      count("minContains", a.min_contains);
      count("maxContains", a.max_contains);
    }
  }
  out_.arrays.push_back(std::move(a));
  n.array = static_cast<int>(out_.arrays.size() - 1);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Validator>> CompileValidator(const SchemaSet& set) {
  auto v = std::make_unique<CompiledValidator>();
  Compiler compiler(set, *v);
  SLUICE_ASSIGN_OR_RETURN(v->root, compiler.Compile(Location{0, ""}));
  return std::unique_ptr<Validator>(std::move(v));
}

}  // namespace sluice::schema::json::internal
