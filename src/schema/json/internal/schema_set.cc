// Documents, $id/$anchor indexes and $ref resolution of a SchemaSet; the model itself is built
// in model_builder.cc.
#include "schema/json/internal/schema_set.h"

#include <algorithm>
#include <cctype>

#include "codec/json_parser.h"

namespace sluice::schema::json::internal {

namespace {

bool IsDataKeyword(std::string_view k) {
  return k == "enum" || k == "const" || k == "default" || k == "examples";
}

bool HasScheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string UnescapeToken(std::string_view t) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size() && (t[i + 1] == '0' || t[i + 1] == '1')) {
      out.push_back(t[i + 1] == '0' ? '~' : '/');
      ++i;
    } else {
      out.push_back(t[i]);
    }
  }
  return out;
}

std::string StripFragment(std::string_view uri) {
  size_t hash = uri.find('#');
  return std::string(hash == std::string_view::npos ? uri : uri.substr(0, hash));
}

// Records $id, $anchor and the base URI of every subschema below `v`.
void ScanIds(Document& doc, const codec::JsonValue& v, const std::string& pointer,
             const std::string& base) {
  if (v.is_array()) {
    for (size_t i = 0; i < v.items().size(); ++i) {
      ScanIds(doc, v.items()[i], pointer + "/" + std::to_string(i), base);
    }
    return;
  }
  if (!v.is_object()) return;
  std::string here = base;
  const codec::JsonValue* id = v.Find(doc.draft == Draft::k4 ? "id" : "$id");
  if (id != nullptr && id->is_string()) {
    std::string_view text = id->text();
    size_t hash = text.find('#');
    std::string_view uri_part = hash == std::string_view::npos ? text : text.substr(0, hash);
    if (!uri_part.empty()) {
      here = ResolveUri(base, uri_part);
      doc.ids.emplace(here, pointer);
      doc.bases[pointer] = here;
    }
    if (hash != std::string_view::npos && hash + 1 < text.size() && text[hash + 1] != '/') {
      doc.anchors.emplace(here + "#" + std::string(text.substr(hash + 1)), pointer);
    }
  }
  for (const char* key : {"$anchor", "$dynamicAnchor"}) {
    const codec::JsonValue* anchor = v.Find(key);
    if (anchor != nullptr && anchor->is_string()) {
      doc.anchors.emplace(here + "#" + anchor->text(), pointer);
    }
  }
  for (const auto& [k, child] : v.members()) {
    if (IsDataKeyword(k)) continue;
    ScanIds(doc, child, pointer + "/" + EscapePointerToken(k), here);
  }
}

}  // namespace

const char* CriterionName(Criterion c) {
  switch (c) {
    case Criterion::kAllOf:
      return "allOf";
    case Criterion::kAnyOf:
      return "anyOf";
    case Criterion::kOneOf:
      return "oneOf";
  }
  return "allOf";
}

std::string ResolveUri(const std::string& base, std::string_view ref) {
  if (ref.empty()) return base;
  if (HasScheme(ref) || base.empty()) return std::string(ref);
  size_t scheme_end = base.find(':');
  if (!HasScheme(base)) scheme_end = std::string::npos;
  if (ref.substr(0, 2) == "//") {
    return scheme_end == std::string::npos ? std::string(ref)
                                           : base.substr(0, scheme_end + 1) + std::string(ref);
  }
  size_t authority_end = 0;
  if (scheme_end != std::string::npos && base.compare(scheme_end, 3, "://") == 0) {
    authority_end = base.find('/', scheme_end + 3);
    if (authority_end == std::string::npos) authority_end = base.size();
  } else if (scheme_end != std::string::npos) {
    authority_end = scheme_end + 1;
  }
  std::string out;
  if (ref[0] == '/') {
    out = base.substr(0, authority_end) + std::string(ref);
  } else {
    std::string stripped = StripFragment(base);
    size_t slash = stripped.rfind('/');
    if (slash == std::string::npos || slash < authority_end) {
      out = stripped.substr(0, authority_end) + (authority_end > 0 && scheme_end + 1 != authority_end
                                                     ? "/"
                                                     : "") +
            std::string(ref);
    } else {
      out = stripped.substr(0, slash + 1) + std::string(ref);
    }
  }
  // Drop "./" segments; fold "seg/../".
  for (size_t p; (p = out.find("/./")) != std::string::npos;) out.erase(p, 2);
  for (size_t p; (p = out.find("/../")) != std::string::npos && p > 0;) {
    size_t prev = out.rfind('/', p - 1);
    if (prev == std::string::npos || prev < authority_end) break;
    out.erase(prev, p + 3 - prev);
  }
  return out;
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Draft> DraftFromUri(std::string_view uri) {
  if (uri.find("draft-04") != std::string_view::npos) return Draft::k4;
  if (uri.find("draft-06") != std::string_view::npos) return Draft::k6;
  if (uri.find("draft-07") != std::string_view::npos) return Draft::k7;
  if (uri.find("2019-09") != std::string_view::npos) return Draft::k2019;
  if (uri.find("2020-12") != std::string_view::npos) return Draft::k2020;
  return std::nullopt;
}

void AppendNormalizedJson(const codec::JsonValue& v, std::string& out) {
  if (v.is_array()) {
    out.push_back('[');
    for (size_t i = 0; i < v.items().size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendNormalizedJson(v.items()[i], out);
    }
    out.push_back(']');
    return;
  }
  if (!v.is_object()) {
    v.AppendJson(out);
    return;
  }
  std::vector<const std::pair<std::string, codec::JsonValue>*> members;
  members.reserve(v.members().size());
  for (const auto& m : v.members()) members.push_back(&m);
  std::stable_sort(members.begin(), members.end(),
                   [](const auto* a, const auto* b) { return a->first < b->first; });
  out.push_back('{');
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out.push_back(',');
    codec::JsonValue::String(members[i]->first).AppendJson(out);
    out.push_back(':');
    AppendNormalizedJson(members[i]->second, out);
  }
  out.push_back('}');
}

std::string NormalizedJson(const codec::JsonValue& v) {
  std::string out;
  AppendNormalizedJson(v, out);
  return out;
}

Result<size_t> SchemaSet::AddDocument(std::string name, std::string_view text,
                                      std::vector<ResolvedReference> refs,
                                      std::string default_base) {
  codec::JsonParser parser;
  auto parsed = parser.Parse(text);
  if (!parsed.ok()) {
    if (name.empty()) return parsed.status();
    return InvalidArgument("referenced schema '{}': {}", name, parsed.status().message());
  }
  auto doc = std::make_unique<Document>();
  doc->name = std::move(name);
  doc->root = std::move(parsed).value();
  doc->references = std::move(refs);
  std::string where = doc->name.empty() ? "" : "referenced schema '" + doc->name + "' ";
  if (!doc->root.is_object() && !doc->root.is_bool()) {
    return InvalidArgument("invalid JSON schema {}at #: a schema must be a JSON object or a "
                           "boolean, got {}",
                           where, codec::JsonValue::TypeName(doc->root.type()));
  }
  doc->draft = Draft::k7;
  if (doc->root.is_object()) {
    if (const codec::JsonValue* s = doc->root.Find("$schema"); s != nullptr) {
      if (!s->is_string()) {
        return InvalidArgument("invalid JSON schema {}at #/$schema: must be a string", where);
      }
      if (auto d = DraftFromUri(s->text())) doc->draft = *d;
    }
  }
  doc->base_uri = default_base;
  if (doc->root.is_object()) {
    const codec::JsonValue* id = doc->root.Find(doc->draft == Draft::k4 ? "id" : "$id");
    if (id != nullptr && id->is_string() && !StripFragment(id->text()).empty()) {
      doc->base_uri = ResolveUri(default_base, StripFragment(id->text()));
    }
  }
  doc->ids.emplace(doc->base_uri, "");
  if (!doc->name.empty()) doc->ids.emplace(doc->name, "");
  ScanIds(*doc, doc->root, "", default_base);
  docs_.push_back(std::move(doc));
  return docs_.size() - 1;
}

const codec::JsonValue* SchemaSet::At(const Location& loc) const {
  const codec::JsonValue* v = &docs_[loc.doc]->root;
  std::string_view p = loc.pointer;
  while (!p.empty()) {
    if (p[0] != '/') return nullptr;
    p.remove_prefix(1);
    size_t end = p.find('/');
    std::string token = UnescapeToken(p.substr(0, end));
    p = end == std::string_view::npos ? std::string_view() : p.substr(end);
    if (v->is_object()) {
      v = v->Find(token);
    } else if (v->is_array()) {
      if (token.empty() || token.size() > 9 ||
          !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return nullptr;
      }
      size_t i = std::stoul(token);
      v = i < v->items().size() ? &v->items()[i] : nullptr;
    } else {
      return nullptr;
    }
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::string SchemaSet::BaseAt(const Location& loc) const {
  const Document& d = *docs_[loc.doc];
  const std::string* best = &d.base_uri;
  size_t best_len = 0;
  for (const auto& [ptr, base] : d.bases) {
    if (ptr.size() < best_len && !ptr.empty()) continue;
    if (loc.pointer == ptr ||
        (loc.pointer.size() > ptr.size() && loc.pointer.compare(0, ptr.size(), ptr) == 0 &&
         loc.pointer[ptr.size()] == '/')) {
      if (ptr.size() >= best_len) {
        best = &base;
        best_len = ptr.size();
      }
    }
  }
  return *best;
}

std::string SchemaSet::Describe(const Location& loc) const {
  const Document& d = *docs_[loc.doc];
  return (d.name.empty() ? "" : d.name) + "#" + loc.pointer;
}

Result<Location> SchemaSet::Resolve(size_t from_doc, const std::string& base,
                                    std::string_view ref) {
  return ResolveImpl(from_doc, base, ref, true);
}

Result<Location> SchemaSet::ResolveLoaded(size_t from_doc, const std::string& base,
                                          std::string_view ref) const {
  return const_cast<SchemaSet*>(this)->ResolveImpl(from_doc, base, ref, false);
}

Result<Location> SchemaSet::ResolveImpl(size_t from_doc, const std::string& base,
                                        std::string_view ref, bool may_load) {
  size_t hash = ref.find('#');
  std::string_view uri_part = hash == std::string_view::npos ? ref : ref.substr(0, hash);
  std::string fragment =
      hash == std::string_view::npos ? std::string() : PercentDecode(ref.substr(hash + 1));
  std::string target_uri = ResolveUri(StripFragment(base), uri_part);

  std::optional<Location> loc;
  std::string anchor_base = target_uri;
  auto search_ids = [&](size_t d) {
    auto it = docs_[d]->ids.find(target_uri);
    if (it != docs_[d]->ids.end()) loc = Location{d, it->second};
  };
  if (uri_part.empty()) {
    search_ids(from_doc);
    if (!loc) loc = Location{from_doc, ""};
  } else {
    search_ids(from_doc);
    for (size_t d = 0; !loc && d < docs_.size(); ++d) search_ids(d);
  }
  if (!loc) {
    // A registered schema named by the reference.
    for (size_t d = 0; !loc && d < docs_.size(); ++d) {
      if (!docs_[d]->name.empty() &&
          (docs_[d]->name == uri_part || docs_[d]->name == target_uri)) {
        loc = Location{d, ""};
        anchor_base = docs_[d]->base_uri;
      }
    }
  }
  if (!loc && may_load) {
    std::vector<const std::vector<ResolvedReference>*> lists = {&docs_[from_doc]->references,
                                                                &docs_[0]->references};
    const std::string& from_base = docs_[from_doc]->base_uri;
    for (const auto* list : lists) {
      for (const ResolvedReference& r : *list) {
        if (r.name == uri_part || r.name == target_uri || ResolveUri(from_base, r.name) ==
                                                               target_uri) {
          SLUICE_ASSIGN_OR_RETURN(size_t d,
                                  AddDocument(r.name, r.schema, r.references,
                                              ResolveUri(from_base, r.name)));
          loc = Location{d, ""};
          anchor_base = docs_[d]->base_uri;
          break;
        }
      }
      if (loc) break;
    }
  }
  if (!loc) {
    return InvalidArgument("unresolvable $ref '{}': no schema with that URI (embedded or among "
                           "the schema's references)",
                           ref);
  }
  if (!fragment.empty()) {
    if (fragment[0] == '/') {
      loc->pointer += fragment;
    } else {
      const Document& d = *docs_[loc->doc];
      auto it = d.anchors.find(anchor_base + "#" + fragment);
      if (it == d.anchors.end()) it = d.anchors.find(d.base_uri + "#" + fragment);
      if (it == d.anchors.end()) {
        return InvalidArgument("unresolvable $ref '{}': no anchor '{}'", ref, fragment);
      }
      loc->pointer = it->second;
    }
  }
  if (At(*loc) == nullptr) {
    return InvalidArgument("unresolvable $ref '{}': {} does not exist", ref, Describe(*loc));
  }
  return *loc;
}

}  // namespace sluice::schema::json::internal
