// Builds the typed model (model.h) of a SchemaSet and rejects invalid schemas, naming the JSON
// pointer of the offending keyword. Classification follows everit's loader: $ref, enum, const,
// each combinator, not, if, and one node per type (explicit `type`, or sniffed from keywords).
#include <cmath>

#include "schema/json/internal/schema_set.h"

namespace sluice::schema::json::internal {

using codec::JsonValue;

class ModelBuilder {
 public:
  explicit ModelBuilder(SchemaSet& set) : set_(set) {}

  Result<Node*> Build(const Location& loc);

 private:
  struct Ctx {
    Location loc;
    const JsonValue& v;
    Draft draft;
    std::string base;
    std::string where;  // "#/properties/a" (with the document name when referenced)
  };

  Node* NewNode(const Ctx& c) {
    set_.arena_.push_back(std::make_unique<Node>());
    Node* n = set_.arena_.back().get();
    n->location = c.where;
    return n;
  }
  Status Err(const Ctx& c, std::string_view keyword, std::string_view what) const {
    return InvalidArgument("invalid JSON schema at {}{}{}: {}", c.where,
                           keyword.empty() ? "" : "/", keyword, what);
  }
  Result<Node*> Child(const Ctx& c, std::string_view keyword) {
    return Build(Location{c.loc.doc, c.loc.pointer + "/" + EscapePointerToken(keyword)});
  }
  Result<Node*> Child(const Ctx& c, std::string_view keyword, std::string_view member) {
    return Build(Location{c.loc.doc, c.loc.pointer + "/" + EscapePointerToken(keyword) + "/" +
                                         EscapePointerToken(member)});
  }
  Result<Node*> SchemaAt(const Ctx& c, std::string_view keyword);  // null when absent
  Result<std::optional<int64_t>> NonNegative(const Ctx& c, std::string_view keyword);
  Result<std::optional<double>> Number(const Ctx& c, std::string_view keyword);
  Result<std::vector<std::string>> StringArray(const Ctx& c, std::string_view keyword,
                                               const JsonValue& v, std::string_view path);
  Status CheckRegex(const Ctx& c, std::string_view path, const std::string& pattern);

  Status Fill(Node* n, const Ctx& c);
  Result<Node*> ObjectGroup(const Ctx& c, bool& present);
  Result<Node*> ArrayGroup(const Ctx& c, bool& present);
  Result<Node*> NumberGroup(const Ctx& c, bool& present);
  Result<Node*> StringGroup(const Ctx& c, bool& present);

  static constexpr int kMaxBuildDepth = 512;
  SchemaSet& set_;
  int depth_ = 0;  // Build calls in progress
};

Result<Node*> ModelBuilder::Build(const Location& loc) {
  std::string key = std::to_string(loc.doc) + "#" + loc.pointer;
  auto it = set_.nodes_.find(key);
  if (it != set_.nodes_.end()) return it->second;
  const JsonValue* v = set_.At(loc);
  Ctx c{loc, *v, set_.doc(loc.doc).draft, set_.BaseAt(loc), set_.Describe(loc)};
  // Each nested schema and each $ref followed is one level of this recursion. A document's own
  // nesting is bounded by the JSON parser's depth limit, but a chain of $refs is not: 3000
  // links overflowed the stack of the thread registering the schema.
  if (depth_ >= kMaxBuildDepth) {
    return Err(c, "", fmt::format("schemas nested (through $ref) deeper than {} levels",
                                  kMaxBuildDepth));
  }
  ++depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{depth_};
  Node* n = NewNode(c);
  set_.nodes_.emplace(key, n);
  n->identity = NormalizedJson(*v);
  if (v->is_bool()) {
    n->kind = v->bool_value() ? Kind::kTrue : Kind::kFalse;
    return n;
  }
  if (!v->is_object()) {
    return Err(c, "", fmt::format("a schema must be a JSON object or a boolean, got {}",
                                  JsonValue::TypeName(v->type())));
  }
  SLUICE_RETURN_IF_ERROR(Fill(n, c));
  return n;
}

Result<Node*> ModelBuilder::SchemaAt(const Ctx& c, std::string_view keyword) {
  const JsonValue* v = c.v.Find(keyword);
  if (v == nullptr) return static_cast<Node*>(nullptr);
  return Child(c, keyword);
}

Result<std::optional<int64_t>> ModelBuilder::NonNegative(const Ctx& c, std::string_view keyword) {
  const JsonValue* v = c.v.Find(keyword);
  if (v == nullptr) return std::optional<int64_t>();
  std::optional<double> d = v->is_number() ? v->AsDouble() : std::nullopt;
  if (!d || *d < 0 || std::floor(*d) != *d || *d > 9.0e18) {
    return Err(c, keyword, fmt::format("\"{}\" must be a non-negative integer", keyword));
  }
  return std::optional<int64_t>(static_cast<int64_t>(*d));
}

Result<std::optional<double>> ModelBuilder::Number(const Ctx& c, std::string_view keyword) {
  const JsonValue* v = c.v.Find(keyword);
  if (v == nullptr) return std::optional<double>();
  std::optional<double> d = v->is_number() ? v->AsDouble() : std::nullopt;
  if (!d) return Err(c, keyword, fmt::format("\"{}\" must be a number", keyword));
  return d;
}

Result<std::vector<std::string>> ModelBuilder::StringArray(const Ctx& c, std::string_view keyword,
                                                           const JsonValue& v,
                                                           std::string_view path) {
  if (!v.is_array()) {
    return Err(c, path, fmt::format("\"{}\" must be an array of strings", keyword));
  }
  std::vector<std::string> out;
  for (const JsonValue& item : v.items()) {
    if (!item.is_string()) {
      return Err(c, path, fmt::format("\"{}\" must be an array of strings", keyword));
    }
    out.push_back(item.text());
  }
  return out;
}

Status ModelBuilder::CheckRegex(const Ctx& c, std::string_view path, const std::string& pattern) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Err(c, path, fmt::format("invalid regular expression '{}': {}", pattern, e.what()));
  }
  return Status::Ok();
}

Status ModelBuilder::Fill(Node* n, const Ctx& c) {
  const JsonValue& v = c.v;
  // Annotations.
  const char* id_key = c.draft == Draft::k4 ? "id" : "$id";
  if (const JsonValue* id = v.Find(id_key)) {
    if (!id->is_string()) return Err(c, id_key, "must be a string");
    n->id = id->text();
  }
  for (const char* key : {"title", "description"}) {
    if (const JsonValue* t = v.Find(key)) {
      if (!t->is_string()) return Err(c, key, "must be a string");
      (std::string_view(key) == "title" ? n->title : n->description) = t->text();
    }
  }
  if (const JsonValue* d = v.Find("default")) n->default_value = NormalizedJson(*d);
  for (const char* key : {"definitions", "$defs"}) {
    const JsonValue* defs = v.Find(key);
    if (defs == nullptr) continue;
    if (!defs->is_object()) return Err(c, key, "must be an object of schemas");
    for (const auto& [name, _] : defs->members()) {
      SLUICE_RETURN_IF_ERROR(Child(c, key, name).status());
    }
  }

  std::vector<Node*> parts;
  const Node annotations = *n;  // n is overwritten by the node the keywords make
  auto apply_annotations = [&](Node* target) {
    target->id = annotations.id;
    target->title = annotations.title;
    target->description = annotations.description;
    target->default_value = annotations.default_value;
  };
  for (const char* key : {"$ref", "$recursiveRef", "$dynamicRef"}) {
    const JsonValue* r = v.Find(key);
    if (r == nullptr) continue;
    std::string_view k(key);
    if (k != "$ref" && c.draft < (k == "$recursiveRef" ? Draft::k2019 : Draft::k2020)) continue;
    if (!r->is_string()) return Err(c, key, "must be a string");
    auto target = set_.Resolve(c.loc.doc, c.base, r->text());
    if (!target.ok()) return Err(c, key, target.status().message());
    SLUICE_ASSIGN_OR_RETURN(Node * t, Build(*target));
    Node* rn = NewNode(c);
    rn->kind = Kind::kReference;
    rn->ref = r->text();
    rn->target = t;
    rn->identity = std::string(key) + ":" + r->text();
    if (k == "$ref" && c.draft <= Draft::k7) {
      // Before 2019-09, keywords beside $ref are ignored.
      std::string location = n->location, identity = n->identity;
      *n = std::move(*rn);
      n->location = location;
      n->identity = identity;
      return Status::Ok();
    }
    parts.push_back(rn);
  }
  if (const JsonValue* e = v.Find("enum")) {
    if (!e->is_array() || (c.draft == Draft::k4 && e->items().empty())) {
      return Err(c, "enum", "must be a non-empty array");
    }
    Node* en = NewNode(c);
    en->kind = Kind::kEnum;
    for (const JsonValue& item : e->items()) en->values.push_back(NormalizedJson(item));
    en->identity = "enum:" + NormalizedJson(*e);
    parts.push_back(en);
  }
  if (const JsonValue* k = v.Find("const"); k != nullptr && c.draft != Draft::k4) {
    Node* cn = NewNode(c);
    cn->kind = Kind::kConst;
    cn->values.push_back(NormalizedJson(*k));
    cn->identity = "const:" + cn->values[0];
    parts.push_back(cn);
  }
  for (Criterion crit : {Criterion::kAllOf, Criterion::kAnyOf, Criterion::kOneOf}) {
    const char* key = CriterionName(crit);
    const JsonValue* list = v.Find(key);
    if (list == nullptr) continue;
    if (!list->is_array() || list->items().empty()) {
      return Err(c, key, "must be a non-empty array of schemas");
    }
    Node* cn = NewNode(c);
    cn->kind = Kind::kCombined;
    cn->criterion = crit;
    for (size_t i = 0; i < list->items().size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, key, std::to_string(i)));
      cn->subschemas.push_back(s);
    }
    cn->identity = std::string(key) + ":" + NormalizedJson(*list);
    parts.push_back(cn);
  }
  if (v.Find("not") != nullptr) {
    Node* nn = NewNode(c);
    nn->kind = Kind::kNot;
    SLUICE_ASSIGN_OR_RETURN(nn->negated, Child(c, "not"));
    nn->identity = "not:" + NormalizedJson(*v.Find("not"));
    parts.push_back(nn);
  }
  if (c.draft >= Draft::k7) {
    SLUICE_ASSIGN_OR_RETURN(Node * if_s, SchemaAt(c, "if"));
    SLUICE_ASSIGN_OR_RETURN(Node * then_s, SchemaAt(c, "then"));
    SLUICE_ASSIGN_OR_RETURN(Node * else_s, SchemaAt(c, "else"));
    if (if_s != nullptr) {
      Node* cn = NewNode(c);
      cn->kind = Kind::kConditional;
      cn->if_schema = if_s;
      cn->then_schema = then_s;
      cn->else_schema = else_s;
      cn->identity = "if:" + n->identity;
      parts.push_back(cn);
    }
  }

  // Type-specific keywords are always checked, whatever `type` says.
  bool has_obj = false, has_arr = false, has_num = false, has_str = false;
  SLUICE_ASSIGN_OR_RETURN(Node * obj, ObjectGroup(c, has_obj));
  SLUICE_ASSIGN_OR_RETURN(Node * arr, ArrayGroup(c, has_arr));
  SLUICE_ASSIGN_OR_RETURN(Node * num, NumberGroup(c, has_num));
  SLUICE_ASSIGN_OR_RETURN(Node * str, StringGroup(c, has_str));

  if (const JsonValue* t = v.Find("type")) {
    std::vector<std::string> types;
    if (t->is_string()) {
      types.push_back(t->text());
    } else if (t->is_array() && !t->items().empty()) {
      for (const JsonValue& item : t->items()) {
        if (!item.is_string()) {
          return Err(c, "type", "\"type\" must be a type name or an array of type names");
        }
        types.push_back(item.text());
      }
    } else {
      return Err(c, "type", "\"type\" must be a type name or an array of type names");
    }
    std::vector<Node*> typed;
    bool used_num = false;
    for (const std::string& name : types) {
      Node* tn = nullptr;
      if (name == "object") {
        tn = obj;
        tn->requires_object = true;
      } else if (name == "array") {
        tn = arr;
        tn->requires_array = true;
      } else if (name == "string") {
        tn = str;
        tn->requires_string = true;
      } else if (name == "number" || name == "integer") {
        bool unused = false;
        if (used_num) {
          SLUICE_ASSIGN_OR_RETURN(tn, NumberGroup(c, unused));
        } else {
          tn = num;
        }
        used_num = true;
        tn->requires_number = true;
        tn->requires_integer = name == "integer";
      } else if (name == "boolean" || name == "null") {
        tn = NewNode(c);
        tn->kind = name == "null" ? Kind::kNull : Kind::kBoolean;
      } else {
        return Err(c, "type", fmt::format("unknown type '{}'", name));
      }
      tn->identity = "type:" + name + ":" + n->identity;
      typed.push_back(tn);
    }
    if (typed.size() == 1) {
      parts.push_back(typed[0]);
    } else {
      Node* any = NewNode(c);
      any->kind = Kind::kCombined;
      any->criterion = Criterion::kAnyOf;
      any->synthetic = true;
      any->subschemas = std::move(typed);
      any->identity = "types:" + n->identity;
      parts.push_back(any);
    }
  } else {
    if (has_obj) parts.push_back(obj);
    if (has_arr) parts.push_back(arr);
    if (has_num) parts.push_back(num);
    if (has_str) parts.push_back(str);
  }

  std::string location = n->location, identity = n->identity;
  if (parts.size() == 1) {
    *n = std::move(*parts[0]);
  } else if (parts.size() > 1) {
    n->kind = Kind::kCombined;
    n->criterion = Criterion::kAllOf;
    n->synthetic = true;
    n->subschemas = std::move(parts);
  }
  apply_annotations(n);
  n->location = location;
  n->identity = identity;
  return Status::Ok();
}

Result<Node*> ModelBuilder::ObjectGroup(const Ctx& c, bool& present) {
  const JsonValue& v = c.v;
  Node* n = NewNode(c);
  n->kind = Kind::kObject;
  if (const JsonValue* props = v.Find("properties")) {
    present = true;
    if (!props->is_object()) return Err(c, "properties", "must be an object of schemas");
    for (const auto& [name, _] : props->members()) {
      SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, "properties", name));
      n->properties.emplace_back(name, s);
    }
  }
  if (const JsonValue* req = v.Find("required")) {
    present = true;
    SLUICE_ASSIGN_OR_RETURN(n->required, StringArray(c, "required", *req, "required"));
  }
  if (const JsonValue* pp = v.Find("patternProperties")) {
    present = true;
    if (!pp->is_object()) return Err(c, "patternProperties", "must be an object of schemas");
    for (const auto& [pattern, _] : pp->members()) {
      std::string path = "patternProperties/" + EscapePointerToken(pattern);
      SLUICE_RETURN_IF_ERROR(CheckRegex(c, path, pattern));
      SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, "patternProperties", pattern));
      n->pattern_properties.push_back(
          PatternProperty{pattern, std::regex(pattern, std::regex::ECMAScript), s});
    }
  }
  if (const JsonValue* ap = v.Find("additionalProperties")) {
    present = true;
    if (ap->is_bool()) {
      n->permits_additional_properties = ap->bool_value();
    } else {
      SLUICE_ASSIGN_OR_RETURN(n->additional_properties, Child(c, "additionalProperties"));
    }
  }
  if (v.Find("unevaluatedProperties") != nullptr && c.draft >= Draft::k2019) {
    present = true;
    SLUICE_ASSIGN_OR_RETURN(n->unevaluated_properties, Child(c, "unevaluatedProperties"));
  }
  for (const char* key : {"minProperties", "maxProperties"}) {
    SLUICE_ASSIGN_OR_RETURN(auto value, NonNegative(c, key));
    if (value) present = true;
    (std::string_view(key) == "minProperties" ? n->min_properties : n->max_properties) = value;
  }
  for (const char* key : {"dependencies", "dependentRequired", "dependentSchemas"}) {
    const JsonValue* deps = v.Find(key);
    if (deps == nullptr) continue;
    present = true;
    std::string_view k(key);
    if (!deps->is_object()) return Err(c, key, "must be an object");
    for (const auto& [name, dep] : deps->members()) {
      std::string path = std::string(key) + "/" + EscapePointerToken(name);
      if (dep.is_array() && k != "dependentSchemas") {
        SLUICE_ASSIGN_OR_RETURN(auto names, StringArray(c, key, dep, path));
        n->property_dependencies.emplace_back(name, std::move(names));
      } else if (k == "dependentRequired") {
        return Err(c, path, "must be an array of strings");
      } else {
        SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, key, name));
        n->schema_dependencies.emplace_back(name, s);
      }
    }
  }
  if (v.Find("propertyNames") != nullptr && c.draft >= Draft::k6) {
    present = true;
    SLUICE_ASSIGN_OR_RETURN(n->property_names, Child(c, "propertyNames"));
  }
  return n;
}

Result<Node*> ModelBuilder::ArrayGroup(const Ctx& c, bool& present) {
  const JsonValue& v = c.v;
  Node* n = NewNode(c);
  n->kind = Kind::kArray;
  const JsonValue* prefix = c.draft >= Draft::k2020 ? v.Find("prefixItems") : nullptr;
  if (prefix != nullptr) {
    present = true;
    if (!prefix->is_array()) return Err(c, "prefixItems", "must be an array of schemas");
    for (size_t i = 0; i < prefix->items().size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, "prefixItems", std::to_string(i)));
      n->item_schemas.push_back(s);
    }
  }
  if (const JsonValue* items = v.Find("items")) {
    present = true;
    if (items->is_array()) {
      // The tuple form; 2020-12 spells it prefixItems but we accept the old spelling.
      for (size_t i = 0; i < items->items().size(); ++i) {
        SLUICE_ASSIGN_OR_RETURN(Node * s, Child(c, "items", std::to_string(i)));
        n->item_schemas.push_back(s);
      }
    } else if (prefix != nullptr) {
      if (items->is_bool()) {
        n->permits_additional_items = items->bool_value();
      } else {
        SLUICE_ASSIGN_OR_RETURN(n->additional_items, Child(c, "items"));
      }
    } else {
      SLUICE_ASSIGN_OR_RETURN(n->all_items, Child(c, "items"));
    }
  }
  if (const JsonValue* ai = v.Find("additionalItems"); ai != nullptr && c.draft < Draft::k2020) {
    present = true;
    if (ai->is_bool()) {
      n->permits_additional_items = ai->bool_value();
    } else {
      SLUICE_ASSIGN_OR_RETURN(n->additional_items, Child(c, "additionalItems"));
    }
  }
  if (v.Find("unevaluatedItems") != nullptr && c.draft >= Draft::k2019) {
    present = true;
    SLUICE_ASSIGN_OR_RETURN(n->unevaluated_items, Child(c, "unevaluatedItems"));
  }
  if (v.Find("contains") != nullptr && c.draft >= Draft::k6) {
    present = true;
    SLUICE_ASSIGN_OR_RETURN(n->contains, Child(c, "contains"));
  }
  for (const char* key : {"minItems", "maxItems", "minContains", "maxContains"}) {
    SLUICE_ASSIGN_OR_RETURN(auto value, NonNegative(c, key));
    if (!value) continue;
    present = true;
    std::string_view k(key);
    (k == "minItems"      ? n->min_items
     : k == "maxItems"    ? n->max_items
     : k == "minContains" ? n->min_contains
                          : n->max_contains) = value;
  }
  if (const JsonValue* u = v.Find("uniqueItems")) {
    present = true;
    if (!u->is_bool()) return Err(c, "uniqueItems", "\"uniqueItems\" must be a boolean");
    n->unique_items = u->bool_value();
  }
  return n;
}

Result<Node*> ModelBuilder::NumberGroup(const Ctx& c, bool& present) {
  const JsonValue& v = c.v;
  Node* n = NewNode(c);
  n->kind = Kind::kNumber;
  SLUICE_ASSIGN_OR_RETURN(n->minimum, Number(c, "minimum"));
  SLUICE_ASSIGN_OR_RETURN(n->maximum, Number(c, "maximum"));
  SLUICE_ASSIGN_OR_RETURN(n->multiple_of, Number(c, "multipleOf"));
  if (n->multiple_of && *n->multiple_of <= 0) {
    return Err(c, "multipleOf", "\"multipleOf\" must be greater than 0");
  }
  for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"}) {
    const JsonValue* e = v.Find(key);
    if (e == nullptr) continue;
    bool is_min = std::string_view(key) == "exclusiveMinimum";
    if (c.draft == Draft::k4) {
      // Draft 4: a boolean that makes minimum/maximum exclusive.
      if (!e->is_bool()) return Err(c, key, fmt::format("\"{}\" must be a boolean in draft 4", key));
      auto& bound = is_min ? n->minimum : n->maximum;
      if (e->bool_value() && bound) {
        (is_min ? n->exclusive_minimum : n->exclusive_maximum) = bound;
        bound.reset();
      }
    } else {
      if (!e->is_number()) {
        return Err(c, key, fmt::format("\"{}\" must be a number (draft 6 and later)", key));
      }
      (is_min ? n->exclusive_minimum : n->exclusive_maximum) = e->AsDouble();
    }
    present = true;
  }
  present = present || n->minimum || n->maximum || n->multiple_of;
  return n;
}

Result<Node*> ModelBuilder::StringGroup(const Ctx& c, bool& present) {
  const JsonValue& v = c.v;
  Node* n = NewNode(c);
  n->kind = Kind::kString;
  SLUICE_ASSIGN_OR_RETURN(n->min_length, NonNegative(c, "minLength"));
  SLUICE_ASSIGN_OR_RETURN(n->max_length, NonNegative(c, "maxLength"));
  if (const JsonValue* p = v.Find("pattern")) {
    if (!p->is_string()) return Err(c, "pattern", "\"pattern\" must be a string");
    SLUICE_RETURN_IF_ERROR(CheckRegex(c, "pattern", p->text()));
    n->pattern = p->text();
  }
  if (const JsonValue* f = v.Find("format")) {
    if (!f->is_string()) return Err(c, "format", "\"format\" must be a string");
    n->format = f->text();
  }
  present = n->min_length || n->max_length || n->pattern || n->format;
  return n;
}

Result<std::unique_ptr<SchemaSet>> SchemaSet::Load(std::string_view text,
                                                   std::span<const ResolvedReference> references) {
  std::unique_ptr<SchemaSet> set(new SchemaSet());
  SLUICE_RETURN_IF_ERROR(
      set->AddDocument("", text, {references.begin(), references.end()}, "").status());
  ModelBuilder builder(*set);
  SLUICE_ASSIGN_OR_RETURN(set->root_, builder.Build(Location{0, ""}));
  return set;
}

}  // namespace sluice::schema::json::internal
