// Avro schemas for the registry: parsing (Avro 1.11 rules plus Confluent's default checks),
// Confluent's canonical text (Avro Java's compact Schema.toString), the normalize=true form,
// Parsing Canonical Form with its Rabin fingerprint, Avro SchemaCompatibility and a compiled
// validator for binary datums.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "schema/avro/node.h"
#include "schema/schema.h"

namespace sluice::schema::avro {

class AvroSchema;

// Parses an Avro schema (JSON text). Each reference's text (its own references first,
// recursively) defines named types the schema may use by name.
// Errors: kInvalidArgument naming the problem and where, e.g. "field 'price' of record
// 'com.acme.Order': default null is not a valid \"string\"".
Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references);
// The same, typed.
Result<std::unique_ptr<AvroSchema>> ParseAvro(std::string_view text,
                                              std::span<const ResolvedReference> references);

// The 64-bit Rabin fingerprint (CRC-64-AVRO) of `bytes`; 0xc15d213aa4d7a795 for no bytes.
uint64_t Fingerprint64(std::string_view bytes);

// An immutable parsed schema. Thread-safe (all methods are const and touch no shared state).
class AvroSchema final : public ParsedSchema {
 public:
  AvroSchema(const AvroSchema&) = delete;
  AvroSchema& operator=(const AvroSchema&) = delete;

  SchemaType type() const override { return SchemaType::kAvro; }
  // Avro Java's compact Schema.toString(referencedSchemas): what Confluent stores.
  const std::string& canonical() const override { return canonical_; }
  // Confluent's normalize=true form: full names, fixed attribute order, props sorted, aliases
  // sorted; printed (like Confluent) as the canonical text of that normalized schema.
  std::string Normalized() const override;
  std::vector<std::string> CheckCanRead(const ParsedSchema& writer) const override;
  Result<std::unique_ptr<Validator>> CompileValidator(
      std::span<const int32_t> message_indexes) const override;
  Result<std::unique_ptr<ValueDecoder>> CompileDecoder(
      std::span<const int32_t> message_indexes) const override;
  std::unordered_map<std::string, model::ValueType> FieldTypes() const override;

  const Node& root() const { return *root_; }
  // Avro's Parsing Canonical Form (specification, "Parsing Canonical Form for Schemas").
  std::string ParsingCanonicalForm() const;
  // Rabin fingerprint of ParsingCanonicalForm().
  uint64_t Fingerprint() const { return Fingerprint64(ParsingCanonicalForm()); }

 private:
  friend class SchemaParser;
  friend Result<std::unique_ptr<AvroSchema>> ParseAvro(std::string_view text,
                                                       std::span<const ResolvedReference> refs);
  AvroSchema() = default;

  std::deque<Node> nodes_;  // arena: stable addresses, nodes point at each other
  const Node* root_ = nullptr;
  // Top-level named types of the references: printed by name, never inlined.
  std::vector<const Node*> reference_roots_;
  std::vector<ResolvedReference> references_;
  std::string canonical_;
};

namespace internal {
// Printers (printer.cc).
std::string PrintCanonical(const Node& root, std::span<const Node* const> known);
std::string PrintNormalizedSource(const Node& root, std::span<const Node* const> known);
std::string PrintParsingCanonicalForm(const Node& root);
// Compatibility (compatibility.cc): messages for reader <- writer, empty when compatible.
std::vector<std::string> CheckCanRead(const Node& reader, const Node& writer);
// Human-readable type description: "int", "record 'com.acme.User'", "union".
std::string Describe(const Node& node);
}  // namespace internal

}  // namespace sluice::schema::avro
