// Confluent's JSON Schema diff over the model: SchemaDiff.compare and the per-kind comparisons
// (string, number, enum/const, combined, not, object, array), written from its documented rules.
#include "schema/json/internal/diff.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "schema/json/internal/schema_set.h"

namespace sluice::schema::json::internal {

namespace {

struct TypeInfo {
  const char* name;
  bool compatible;
  const char* text;
};

constexpr TypeInfo kTypes[] = {
#define SLUICE_X(name, compatible, text) {#name, compatible, text},
    SLUICE_JSON_DIFF_TYPES(SLUICE_X)
#undef SLUICE_X
};

using Diffs = std::vector<Difference>;

bool AllCompatible(const Diffs& diffs) {
  return std::all_of(diffs.begin(), diffs.end(),
                     [](const Difference& d) { return IsCompatible(d.type); });
}

const Node* Deref(const Node* n) {
  for (int guard = 0; n != nullptr && n->kind == Kind::kReference && guard < 64; ++guard) {
    n = n->target;
  }
  return n;
}

// Everit classes: true extends the empty schema; every other kind is its own class.
bool SameClass(const Node* a, const Node* b) { return a->kind == b->kind; }

class Differ {
 public:
  void Compare(Diffs& out, const Node* original, const Node* update);

 private:
  struct PathScope {
    PathScope(Differ& d, std::string segment) : d(d) { d.path_.push_back(std::move(segment)); }
    ~PathScope() { d.path_.pop_back(); }
    Differ& d;
  };
  std::string PathString() const {
    std::string out = "#";
    for (const std::string& s : path_) {
      out += "/";
      out += s;
    }
    if (out == "#") out = "#/";
    return out;
  }
  void Add(Diffs& out, DiffType t) { out.push_back(Difference{t, PathString()}); }
  void Add(Diffs& out, const char* attribute, DiffType t) {
    PathScope scope(*this, attribute);
    Add(out, t);
  }

  template <typename T>
  void Bounds(Diffs& out, const char* attr, const std::optional<T>& o, const std::optional<T>& u,
              DiffType added, DiffType removed, DiffType increased, DiffType decreased) {
    if (o == u) return;
    if (!o) {
      Add(out, attr, added);
    } else if (!u) {
      Add(out, attr, removed);
    } else if (*o < *u) {
      Add(out, attr, increased);
    } else if (*o > *u) {
      Add(out, attr, decreased);
    }
  }

  void CompareString(Diffs& out, const Node* o, const Node* u);
  void CompareNumber(Diffs& out, const Node* o, const Node* u);
  void CompareEnum(Diffs& out, const Node* o, const Node* u);
  void CompareCombined(Diffs& out, const Node* o, const Node* u);
  void CompareNot(Diffs& out, const Node* o, const Node* u);
  void CompareObject(Diffs& out, const Node* o, const Node* u);
  void CompareArray(Diffs& out, const Node* o, const Node* u);

  static constexpr int64_t kMaxSteps = 200'000;
  static constexpr int kMaxDepth = 1000;
  std::vector<std::string> path_;
  std::set<std::pair<const Node*, const Node*>> in_progress_;
  int64_t steps_ = 0;  // Compare calls so far
  int depth_ = 0;      // Compare calls in progress
  bool gave_up_ = false;
};

void Differ::Compare(Diffs& out, const Node* original, const Node* update) {
  if (original == nullptr && update == nullptr) return;
  // Subschemas shared through $ref are compared once per path that reaches them, and
  // combinators compare every old member with every new one, so the work can grow
  // exponentially with the nesting. Past a budget (or a depth the stack cannot take) the change
  // is reported incompatible rather than letting one request hold the registry.
  if (gave_up_) return;
  if (++steps_ > kMaxSteps || depth_ >= kMaxDepth) {
    gave_up_ = true;
    return Add(out, DiffType::kCOMPARISON_TOO_COMPLEX);
  }
  ++depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{depth_};
  if (original == nullptr) return Add(out, DiffType::kSCHEMA_ADDED);
  if (update == nullptr) return Add(out, DiffType::kSCHEMA_REMOVED);
  const Node* o = Deref(original);
  const Node* u = Deref(update);
  if (o == nullptr || u == nullptr) return;

  if (o->kind != Kind::kCombined && u->kind == Kind::kCombined) {
    if (u->subschemas.size() == 1) {
      Diffs sub;
      Compare(sub, o, u->subschemas[0]);
      if (AllCompatible(sub)) {
        out.insert(out.end(), sub.begin(), sub.end());
        return;
      }
    } else if (u->criterion != Criterion::kAllOf) {
      for (const Node* s : u->subschemas) {
        Diffs sub;
        Compare(sub, o, s);
        if (AllCompatible(sub)) {
          out.insert(out.end(), sub.begin(), sub.end());
          Add(out, DiffType::kSUM_TYPE_EXTENDED);
          return;
        }
      }
    }
  } else if (o->kind == Kind::kCombined && u->kind != Kind::kCombined) {
    if (o->subschemas.size() == 1) {
      Diffs sub;
      Compare(sub, o->subschemas[0], u);
      if (AllCompatible(sub)) {
        out.insert(out.end(), sub.begin(), sub.end());
        return;
      }
    }
  }

  if (!SameClass(o, u)) {
    if (o->kind == Kind::kFalse || u->IsEmptyLike()) return;
    // `true` and `{}` are the same everit class family.
    if (o->IsEmptyLike() && u->IsEmptyLike()) return;
    return Add(out, DiffType::kTYPE_CHANGED);
  }

  auto key = std::make_pair(o, u);
  if (!in_progress_.insert(key).second) return;  // a recursive cycle counts as compatible
  if (o->id != u->id) Add(out, DiffType::kID_CHANGED);
  if (o->title != u->title) Add(out, DiffType::kTITLE_CHANGED);
  if (o->description != u->description) Add(out, DiffType::kDESCRIPTION_CHANGED);
  if (o->default_value != u->default_value) Add(out, DiffType::kDEFAULT_CHANGED);
  switch (o->kind) {
    case Kind::kString:
      CompareString(out, o, u);
      break;
    case Kind::kNumber:
      CompareNumber(out, o, u);
      break;
    case Kind::kEnum:
    case Kind::kConst:
      CompareEnum(out, o, u);
      break;
    case Kind::kCombined:
      CompareCombined(out, o, u);
      break;
    case Kind::kNot:
      CompareNot(out, o, u);
      break;
    case Kind::kObject:
      CompareObject(out, o, u);
      break;
    case Kind::kArray:
      CompareArray(out, o, u);
      break;
    default:
      break;
  }
  in_progress_.erase(key);
}

void Differ::CompareString(Diffs& out, const Node* o, const Node* u) {
  Bounds(out, "maxLength", o->max_length, u->max_length, DiffType::kMAX_LENGTH_ADDED,
         DiffType::kMAX_LENGTH_REMOVED, DiffType::kMAX_LENGTH_INCREASED,
         DiffType::kMAX_LENGTH_DECREASED);
  Bounds(out, "minLength", o->min_length, u->min_length, DiffType::kMIN_LENGTH_ADDED,
         DiffType::kMIN_LENGTH_REMOVED, DiffType::kMIN_LENGTH_INCREASED,
         DiffType::kMIN_LENGTH_DECREASED);
  if (!o->pattern && u->pattern) {
    Add(out, "pattern", DiffType::kPATTERN_ADDED);
  } else if (o->pattern && !u->pattern) {
    Add(out, "pattern", DiffType::kPATTERN_REMOVED);
  } else if (o->pattern && *o->pattern != *u->pattern) {
    Add(out, "pattern", DiffType::kPATTERN_CHANGED);
  }
}

void Differ::CompareNumber(Diffs& out, const Node* o, const Node* u) {
  Bounds(out, "maximum", o->maximum, u->maximum, DiffType::kMAXIMUM_ADDED,
         DiffType::kMAXIMUM_REMOVED, DiffType::kMAXIMUM_INCREASED, DiffType::kMAXIMUM_DECREASED);
  Bounds(out, "minimum", o->minimum, u->minimum, DiffType::kMINIMUM_ADDED,
         DiffType::kMINIMUM_REMOVED, DiffType::kMINIMUM_INCREASED, DiffType::kMINIMUM_DECREASED);
  Bounds(out, "exclusiveMaximum", o->exclusive_maximum, u->exclusive_maximum,
         DiffType::kEXCLUSIVE_MAXIMUM_ADDED, DiffType::kEXCLUSIVE_MAXIMUM_REMOVED,
         DiffType::kEXCLUSIVE_MAXIMUM_INCREASED, DiffType::kEXCLUSIVE_MAXIMUM_DECREASED);
  Bounds(out, "exclusiveMinimum", o->exclusive_minimum, u->exclusive_minimum,
         DiffType::kEXCLUSIVE_MINIMUM_ADDED, DiffType::kEXCLUSIVE_MINIMUM_REMOVED,
         DiffType::kEXCLUSIVE_MINIMUM_INCREASED, DiffType::kEXCLUSIVE_MINIMUM_DECREASED);
  if (o->multiple_of != u->multiple_of) {
    if (!o->multiple_of) {
      Add(out, "multipleOf", DiffType::kMULTIPLE_OF_ADDED);
    } else if (!u->multiple_of) {
      Add(out, "multipleOf", DiffType::kMULTIPLE_OF_REMOVED);
    } else {
      auto divides = [](double a, double b) {  // b is a multiple of a
        double q = b / a;
        return std::fabs(q - std::round(q)) < 1e-9;
      };
      if (divides(*o->multiple_of, *u->multiple_of)) {
        Add(out, "multipleOf", DiffType::kMULTIPLE_OF_EXPANDED);
      } else if (divides(*u->multiple_of, *o->multiple_of)) {
        Add(out, "multipleOf", DiffType::kMULTIPLE_OF_REDUCED);
      } else {
        Add(out, "multipleOf", DiffType::kMULTIPLE_OF_CHANGED);
      }
    }
  }
  if (o->requires_integer != u->requires_integer) {
    Add(out, o->requires_integer ? DiffType::kTYPE_EXTENDED : DiffType::kTYPE_NARROWED);
  }
}

void Differ::CompareEnum(Diffs& out, const Node* o, const Node* u) {
  const char* attr = o->kind == Kind::kConst ? "const" : "enum";
  std::set<std::string> ov(o->values.begin(), o->values.end());
  std::set<std::string> uv(u->values.begin(), u->values.end());
  if (ov == uv) return;
  if (o->kind == Kind::kConst) return Add(out, attr, DiffType::kENUM_ARRAY_CHANGED);
  if (std::includes(uv.begin(), uv.end(), ov.begin(), ov.end())) {
    Add(out, attr, DiffType::kENUM_ARRAY_EXTENDED);
  } else if (std::includes(ov.begin(), ov.end(), uv.begin(), uv.end())) {
    Add(out, attr, DiffType::kENUM_ARRAY_NARROWED);
  } else {
    Add(out, attr, DiffType::kENUM_ARRAY_CHANGED);
  }
}

void Differ::CompareCombined(Diffs& out, const Node* o, const Node* u) {
  auto singleton = [](const Node* n) { return n->subschemas.size() == 1; };
  if (o->criterion != u->criterion) {
    bool extended = u->criterion == Criterion::kAnyOf || (singleton(o) && singleton(u)) ||
                    (singleton(o) && u->criterion == Criterion::kOneOf) ||
                    (singleton(u) && o->criterion == Criterion::kAllOf);
    if (!extended) return Add(out, DiffType::kCOMBINED_TYPE_CHANGED);
    Add(out, DiffType::kCOMBINED_TYPE_EXTENDED);
  }
  // Duplicate members count once.
  auto unique = [](const Node* n) {
    std::vector<const Node*> out;
    std::set<std::string> seen;
    for (const Node* s : n->subschemas) {
      if (seen.insert(s->identity).second) out.push_back(s);
    }
    return out;
  };
  std::vector<const Node*> os = unique(o), us = unique(u);
  if (os.size() < us.size()) {
    Add(out, u->criterion == Criterion::kAllOf ? DiffType::kPRODUCT_TYPE_EXTENDED
                                               : DiffType::kSUM_TYPE_EXTENDED);
  } else if (os.size() > us.size()) {
    Add(out, o->criterion == Criterion::kAllOf ? DiffType::kPRODUCT_TYPE_NARROWED
                                               : DiffType::kSUM_TYPE_NARROWED);
  }
  // Compatible (original member, update member) pairs, then a maximum bipartite matching.
  std::vector<std::vector<std::pair<size_t, Diffs>>> edges(os.size());
  for (size_t i = 0; i < os.size(); ++i) {
    PathScope scope(*this, std::string(CriterionName(o->criterion)) + "/" + std::to_string(i));
    for (size_t j = 0; j < us.size(); ++j) {
      Diffs sub;
      Compare(sub, os[i], us[j]);
      if (AllCompatible(sub)) edges[i].emplace_back(j, std::move(sub));
    }
  }
  std::vector<int> match_of_update(us.size(), -1);
  std::vector<const Diffs*> match_diffs(us.size(), nullptr);
  std::function<bool(size_t, std::vector<bool>&)> augment = [&](size_t i,
                                                                 std::vector<bool>& seen) {
    for (const auto& [j, d] : edges[i]) {
      if (seen[j]) continue;
      seen[j] = true;
      if (match_of_update[j] < 0 || augment(static_cast<size_t>(match_of_update[j]), seen)) {
        match_of_update[j] = static_cast<int>(i);
        match_diffs[j] = &d;
        return true;
      }
    }
    return false;
  };
  size_t matched = 0;
  for (size_t i = 0; i < os.size(); ++i) {
    std::vector<bool> seen(us.size(), false);
    if (augment(i, seen)) ++matched;
  }
  for (const Diffs* d : match_diffs) {
    if (d != nullptr) out.insert(out.end(), d->begin(), d->end());
  }
  if (matched < std::min(os.size(), us.size())) {
    Add(out, DiffType::kCOMBINED_TYPE_SUBSCHEMAS_CHANGED);
  }
}

void Differ::CompareNot(Diffs& out, const Node* o, const Node* u) {
  PathScope scope(*this, "not");
  Diffs sub;
  Compare(sub, u->negated, o->negated);  // reversed: the negated schema may only narrow
  Add(out, AllCompatible(sub) ? DiffType::kNOT_TYPE_NARROWED : DiffType::kNOT_TYPE_EXTENDED);
}

// additionalProperties, with unevaluatedProperties standing in when it is absent.
bool PermitsAdditional(const Node* n) {
  if (!n->permits_additional_properties) return false;
  const Node* ue = Deref(n->unevaluated_properties);
  return n->additional_properties != nullptr || ue == nullptr || ue->kind != Kind::kFalse;
}

const Node* AdditionalSchema(const Node* n) {
  if (n->additional_properties != nullptr) return n->additional_properties;
  const Node* ue = Deref(n->unevaluated_properties);
  if (ue != nullptr && ue->kind != Kind::kFalse && !ue->IsEmptyLike()) {
    return n->unevaluated_properties;
  }
  return nullptr;
}

bool IsOpenContentModel(const Node* n) {
  return n->pattern_properties.empty() && AdditionalSchema(n) == nullptr && PermitsAdditional(n);
}

const Node* SchemaFromPartiallyOpen(const Node* n, const std::string& name) {
  for (const PatternProperty& p : n->pattern_properties) {
    if (std::regex_search(name, p.regex)) return p.schema;
  }
  return AdditionalSchema(n);
}

const Node* FindProperty(const Node* n, const std::string& name) {
  for (const auto& [k, s] : n->properties) {
    if (k == name) return s;
  }
  return nullptr;
}

bool IsRequired(const Node* n, const std::string& name) {
  return std::find(n->required.begin(), n->required.end(), name) != n->required.end();
}

bool HasDefault(const Node* n) {
  const Node* d = Deref(n);
  return n->default_value.has_value() || (d != nullptr && d->default_value.has_value());
}

void Differ::CompareObject(Diffs& out, const Node* o, const Node* u) {
  {  // required
    PathScope scope(*this, "required");
    for (const auto& [name, _] : o->properties) {
      const Node* us = FindProperty(u, name);
      if (us == nullptr) continue;
      PathScope inner(*this, EscapePointerToken(name));
      bool was = IsRequired(o, name), is = IsRequired(u, name);
      if (was && !is) {
        Add(out, DiffType::kREQUIRED_ATTRIBUTE_REMOVED);
      } else if (!was && is) {
        Add(out, HasDefault(us) ? DiffType::kREQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
                                : DiffType::kREQUIRED_ATTRIBUTE_ADDED);
      }
    }
  }
  {  // properties
    PathScope scope(*this, "properties");
    std::vector<std::string> names;
    for (const auto& [k, _] : o->properties) names.push_back(k);
    for (const auto& [k, _] : u->properties) {
      if (FindProperty(o, k) == nullptr) names.push_back(k);
    }
    for (const std::string& name : names) {
      PathScope inner(*this, EscapePointerToken(name));
      const Node* os = FindProperty(o, name);
      const Node* us = FindProperty(u, name);
      if (us == nullptr) {
        if (IsOpenContentModel(u)) {
          Add(out, DiffType::kPROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL);
        } else if (const Node* partial = SchemaFromPartiallyOpen(u, name)) {
          Diffs sub;
          Compare(sub, os, partial);
          bool ok = AllCompatible(sub);
          out.insert(out.end(), sub.begin(), sub.end());
          Add(out, ok ? DiffType::kPROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                      : DiffType::kPROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
        } else {
          const Node* od = Deref(os);
          Add(out, od != nullptr && od->kind == Kind::kFalse
                       ? DiffType::kPROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
                       : DiffType::kPROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL);
        }
      } else if (os == nullptr) {
        if (IsOpenContentModel(o)) {
          const Node* ud = Deref(us);
          Add(out, ud != nullptr && ud->IsEmptyLike()
                       ? DiffType::kPROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
                       : DiffType::kPROPERTY_ADDED_TO_OPEN_CONTENT_MODEL);
        } else {
          if (const Node* partial = SchemaFromPartiallyOpen(o, name)) {
            Diffs sub;
            Compare(sub, partial, us);
            bool ok = AllCompatible(sub);
            out.insert(out.end(), sub.begin(), sub.end());
            Add(out, ok ? DiffType::kPROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                        : DiffType::kPROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
          }
          if (IsRequired(u, name)) {
            Add(out, HasDefault(us)
                         ? DiffType::kREQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
                         : DiffType::kREQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL);
          } else {
            Add(out, DiffType::kOPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL);
          }
        }
      } else {
        Compare(out, os, us);
      }
    }
  }
  {  // dependencies
    PathScope scope(*this, "dependencies");
    std::vector<std::string> names;
    auto find_array = [](const Node* n, const std::string& k) -> const std::vector<std::string>* {
      for (const auto& [name, deps] : n->property_dependencies) {
        if (name == k) return &deps;
      }
      return nullptr;
    };
    for (const auto& [k, _] : o->property_dependencies) names.push_back(k);
    for (const auto& [k, _] : u->property_dependencies) {
      if (find_array(o, k) == nullptr) names.push_back(k);
    }
    for (const std::string& name : names) {
      PathScope inner(*this, EscapePointerToken(name));
      const auto* od = find_array(o, name);
      const auto* ud = find_array(u, name);
      if (ud == nullptr) {
        Add(out, DiffType::kDEPENDENCY_ARRAY_REMOVED);
      } else if (od == nullptr) {
        Add(out, DiffType::kDEPENDENCY_ARRAY_ADDED);
      } else {
        std::set<std::string> os(od->begin(), od->end()), us(ud->begin(), ud->end());
        if (os != us) {
          if (std::includes(us.begin(), us.end(), os.begin(), os.end())) {
            Add(out, DiffType::kDEPENDENCY_ARRAY_EXTENDED);
          } else if (std::includes(os.begin(), os.end(), us.begin(), us.end())) {
            Add(out, DiffType::kDEPENDENCY_ARRAY_NARROWED);
          } else {
            Add(out, DiffType::kDEPENDENCY_ARRAY_CHANGED);
          }
        }
      }
    }
    auto find_schema = [](const Node* n, const std::string& k) -> const Node* {
      for (const auto& [name, s] : n->schema_dependencies) {
        if (name == k) return s;
      }
      return nullptr;
    };
    names.clear();
    for (const auto& [k, _] : o->schema_dependencies) names.push_back(k);
    for (const auto& [k, _] : u->schema_dependencies) {
      if (find_schema(o, k) == nullptr) names.push_back(k);
    }
    for (const std::string& name : names) {
      PathScope inner(*this, EscapePointerToken(name));
      const Node* os = find_schema(o, name);
      const Node* us = find_schema(u, name);
      if (us == nullptr) {
        Add(out, DiffType::kDEPENDENCY_SCHEMA_REMOVED);
      } else if (os == nullptr) {
        Add(out, DiffType::kDEPENDENCY_SCHEMA_ADDED);
      } else {
        Compare(out, os, us);
      }
    }
  }
  {  // additionalProperties
    PathScope scope(*this, "additionalProperties");
    bool op = PermitsAdditional(o), up = PermitsAdditional(u);
    const Node* oa = AdditionalSchema(o);
    const Node* ua = AdditionalSchema(u);
    if (op != up) {
      Add(out, up ? DiffType::kADDITIONAL_PROPERTIES_ADDED
                  : DiffType::kADDITIONAL_PROPERTIES_REMOVED);
    } else if (oa == nullptr && ua != nullptr) {
      Add(out, DiffType::kADDITIONAL_PROPERTIES_NARROWED);
    } else if (oa != nullptr && ua == nullptr) {
      Add(out, DiffType::kADDITIONAL_PROPERTIES_EXTENDED);
    } else if (oa != nullptr) {
      Compare(out, oa, ua);
    }
  }
  Bounds(out, "maxProperties", o->max_properties, u->max_properties,
         DiffType::kMAX_PROPERTIES_ADDED, DiffType::kMAX_PROPERTIES_REMOVED,
         DiffType::kMAX_PROPERTIES_INCREASED, DiffType::kMAX_PROPERTIES_DECREASED);
  Bounds(out, "minProperties", o->min_properties, u->min_properties,
         DiffType::kMIN_PROPERTIES_ADDED, DiffType::kMIN_PROPERTIES_REMOVED,
         DiffType::kMIN_PROPERTIES_INCREASED, DiffType::kMIN_PROPERTIES_DECREASED);
}

bool IsOpenArray(const Node* n) {
  if (!n->permits_additional_items || n->additional_items != nullptr) return false;
  const Node* ue = Deref(n->unevaluated_items);
  return ue == nullptr || ue->IsEmptyLike();
}

const Node* PartialArraySchema(const Node* n) {
  if (n->additional_items != nullptr) return n->additional_items;
  if (!n->permits_additional_items) return nullptr;
  const Node* ue = Deref(n->unevaluated_items);
  if (ue != nullptr && !ue->IsEmptyLike() && ue->kind != Kind::kFalse) return ue;
  return nullptr;
}

void Differ::CompareArray(Diffs& out, const Node* o, const Node* u) {
  {
    PathScope scope(*this, "items");
    Compare(out, o->all_items, u->all_items);
  }
  size_t on = o->item_schemas.size(), un = u->item_schemas.size();
  for (size_t i = 0; i < std::min(on, un); ++i) {
    PathScope scope(*this, "items/" + std::to_string(i));
    Compare(out, o->item_schemas[i], u->item_schemas[i]);
  }
  for (size_t i = un; i < on; ++i) {
    PathScope scope(*this, "items/" + std::to_string(i));
    const Node* os = o->item_schemas[i];
    if (IsOpenArray(u)) {
      Add(out, DiffType::kITEM_REMOVED_FROM_OPEN_CONTENT_MODEL);
    } else if (const Node* partial = PartialArraySchema(u)) {
      Diffs sub;
      Compare(sub, os, partial);
      bool ok = AllCompatible(sub);
      out.insert(out.end(), sub.begin(), sub.end());
      Add(out, ok ? DiffType::kITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                  : DiffType::kITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
    } else {
      const Node* od = Deref(os);
      Add(out, od != nullptr && od->kind == Kind::kFalse
                   ? DiffType::kITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
                   : DiffType::kITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL);
    }
  }
  for (size_t i = on; i < un; ++i) {
    PathScope scope(*this, "items/" + std::to_string(i));
    const Node* us = u->item_schemas[i];
    if (IsOpenArray(o)) {
      const Node* ud = Deref(us);
      Add(out, ud != nullptr && ud->IsEmptyLike()
                   ? DiffType::kITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
                   : DiffType::kITEM_ADDED_TO_OPEN_CONTENT_MODEL);
    } else if (const Node* partial = PartialArraySchema(o)) {
      Diffs sub;
      Compare(sub, partial, us);
      bool ok = AllCompatible(sub);
      out.insert(out.end(), sub.begin(), sub.end());
      Add(out, ok ? DiffType::kITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
                  : DiffType::kITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL);
    } else {
      Add(out, DiffType::kITEM_ADDED_TO_CLOSED_CONTENT_MODEL);
    }
  }
  {
    PathScope scope(*this, "additionalItems");
    if (o->permits_additional_items != u->permits_additional_items) {
      Add(out, o->permits_additional_items ? DiffType::kADDITIONAL_ITEMS_REMOVED
                                           : DiffType::kADDITIONAL_ITEMS_ADDED);
    } else if (o->additional_items == nullptr && u->additional_items != nullptr) {
      Add(out, DiffType::kADDITIONAL_ITEMS_NARROWED);
    } else if (o->additional_items != nullptr && u->additional_items == nullptr) {
      Add(out, DiffType::kADDITIONAL_ITEMS_EXTENDED);
    } else if (o->additional_items != nullptr) {
      Compare(out, o->additional_items, u->additional_items);
    }
  }
  {
    const Node* ou = Deref(o->unevaluated_items);
    const Node* uu = Deref(u->unevaluated_items);
    if (ou != nullptr || uu != nullptr) {
      PathScope scope(*this, "unevaluatedItems");
      auto is_false = [](const Node* n) { return n != nullptr && n->kind == Kind::kFalse; };
      auto is_empty = [](const Node* n) { return n != nullptr && n->IsEmptyLike(); };
      if (ou == nullptr) {
        Add(out, is_false(uu) ? DiffType::kUNEVALUATED_ITEMS_REMOVED
                              : DiffType::kUNEVALUATED_ITEMS_NARROWED);
      } else if (uu == nullptr) {
        Add(out, is_false(ou) ? DiffType::kUNEVALUATED_ITEMS_ADDED
                              : DiffType::kUNEVALUATED_ITEMS_EXTENDED);
      } else if (is_false(ou) && !is_false(uu)) {
        Add(out, DiffType::kUNEVALUATED_ITEMS_ADDED);
      } else if (!is_false(ou) && is_false(uu)) {
        Add(out, DiffType::kUNEVALUATED_ITEMS_REMOVED);
      } else if (is_empty(ou) && !is_empty(uu)) {
        Add(out, DiffType::kUNEVALUATED_ITEMS_NARROWED);
      } else if (!is_empty(ou) && is_empty(uu)) {
        Add(out, DiffType::kUNEVALUATED_ITEMS_EXTENDED);
      } else {
        Compare(out, ou, uu);
      }
    }
  }
  Bounds(out, "maxItems", o->max_items, u->max_items, DiffType::kMAX_ITEMS_ADDED,
         DiffType::kMAX_ITEMS_REMOVED, DiffType::kMAX_ITEMS_INCREASED,
         DiffType::kMAX_ITEMS_DECREASED);
  Bounds(out, "minItems", o->min_items, u->min_items, DiffType::kMIN_ITEMS_ADDED,
         DiffType::kMIN_ITEMS_REMOVED, DiffType::kMIN_ITEMS_INCREASED,
         DiffType::kMIN_ITEMS_DECREASED);
  if (o->unique_items != u->unique_items) {
    Add(out, "uniqueItems",
        o->unique_items ? DiffType::kUNIQUE_ITEMS_REMOVED : DiffType::kUNIQUE_ITEMS_ADDED);
  }
  Bounds(out, "maxContains", o->max_contains, u->max_contains, DiffType::kMAX_CONTAINS_ADDED,
         DiffType::kMAX_CONTAINS_REMOVED, DiffType::kMAX_CONTAINS_INCREASED,
         DiffType::kMAX_CONTAINS_DECREASED);
  Bounds(out, "minContains", o->min_contains, u->min_contains, DiffType::kMIN_CONTAINS_ADDED,
         DiffType::kMIN_CONTAINS_REMOVED, DiffType::kMIN_CONTAINS_INCREASED,
         DiffType::kMIN_CONTAINS_DECREASED);
}

}  // namespace

const char* DiffTypeName(DiffType t) { return kTypes[static_cast<size_t>(t)].name; }
bool IsCompatible(DiffType t) { return kTypes[static_cast<size_t>(t)].compatible; }

std::string DescribeDifference(const Difference& d) {
  std::string_view path = d.path;
  std::string name(path.substr(path.rfind('/') + 1));
  std::string text = fmt::format(fmt::runtime(kTypes[static_cast<size_t>(d.type)].text),
                                 fmt::arg("path", d.path), fmt::arg("name", name));
  return text + " [" + DiffTypeName(d.type) + "]";
}

std::vector<Difference> Compare(const Node* original, const Node* update) {
  Differ differ;
  Diffs out;
  differ.Compare(out, original, update);
  return out;
}

std::vector<std::string> Diff(const Node* original, const Node* update) {
  std::vector<std::string> messages;
  for (const Difference& d : Compare(original, update)) {
    if (!IsCompatible(d.type)) messages.push_back(DescribeDifference(d));
  }
  return messages;
}

}  // namespace sluice::schema::json::internal
