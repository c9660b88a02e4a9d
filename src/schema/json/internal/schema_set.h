// SchemaSet: a parsed JSON Schema with the registered schemas it references, the $ref/$id
// resolution between them and the typed model (model.h) built from them.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/json_value.h"
#include "schema/json/internal/model.h"
#include "schema/schema.h"

namespace sluice::schema::json::internal {

// One JSON document: the schema itself (index 0) or a referenced registered schema.
struct Document {
  std::string name;  // the reference name ($ref URL); empty for the root document
  codec::JsonValue root;
  Draft draft = Draft::k7;
  std::string base_uri;  // absolute-ish URI the document's relative $refs resolve against
  // Every embedded $id: resolved URI (no fragment) -> JSON pointer ("" = document root).
  std::map<std::string, std::string> ids;
  // "uri#anchor" -> JSON pointer, for $anchor, $dynamicAnchor and draft 6/7 "$id": "#name".
  std::map<std::string, std::string> anchors;
  // JSON pointer -> the base URI that applies inside that subschema (from $id).
  std::map<std::string, std::string> bases;
  // The references this document may use.
  std::vector<ResolvedReference> references;
};

struct Location {
  size_t doc = 0;
  std::string pointer;  // JSON pointer without '#', "" for the document root
};

// Immutable once Load returns; safe to read from several threads.
class SchemaSet {
 public:
  // Parses `text` and builds the model, following $refs into `references` as needed.
  // Errors: kInvalidArgument naming the JSON pointer of the problem.
  static Result<std::unique_ptr<SchemaSet>> Load(std::string_view text,
                                                 std::span<const ResolvedReference> references);

  const Document& doc(size_t i) const { return *docs_[i]; }
  size_t doc_count() const { return docs_.size(); }
  Node* root() const { return root_; }

  // The value at `loc`; null when the pointer names nothing.
  const codec::JsonValue* At(const Location& loc) const;
  // The base URI in force at `loc`.
  std::string BaseAt(const Location& loc) const;
  // Resolves a $ref written at `from` (whose base URI is `base`). Loads referenced documents
  // on first use, hence not const; all refs are resolved during Load, so later calls only hit
  // loaded documents. Errors: kInvalidArgument "unresolvable $ref".
  Result<Location> Resolve(size_t from_doc, const std::string& base, std::string_view ref);
  // Same, for use after Load (every $ref of the schema was resolved once already).
  Result<Location> ResolveLoaded(size_t from_doc, const std::string& base,
                                 std::string_view ref) const;

  // "#/properties/a" for errors and diff paths, prefixed by the document name when not root.
  std::string Describe(const Location& loc) const;

 private:
  friend class ModelBuilder;
  SchemaSet() = default;
  Result<size_t> AddDocument(std::string name, std::string_view text,
                             std::vector<ResolvedReference> refs, std::string default_base);
  Result<Location> ResolveImpl(size_t from_doc, const std::string& base, std::string_view ref,
                               bool may_load);

  std::vector<std::unique_ptr<Document>> docs_;
  std::vector<std::unique_ptr<Node>> arena_;
  std::map<std::string, Node*> nodes_;  // "doc#pointer" -> node
  Node* root_ = nullptr;
};

// URI helpers (RFC 3986, simplified: no dot-segment removal beyond the basics).
std::string ResolveUri(const std::string& base, std::string_view ref);
// JSON pointer token escaping: "~" -> "~0", "/" -> "~1".
std::string EscapePointerToken(std::string_view token);
// Draft from a $schema URI; nullopt when not recognised.
std::optional<Draft> DraftFromUri(std::string_view uri);
// Normalized JSON text (object keys sorted recursively, compact).
std::string NormalizedJson(const codec::JsonValue& v);
void AppendNormalizedJson(const codec::JsonValue& v, std::string& out);

}  // namespace sluice::schema::json::internal
