// Shared by the registry's files: error construction, the content identity key and the
// encoding of `_schemas` records (see registry.h for the record layout).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/logging.h"
#include "model/ids.h"
#include "model/record.h"
#include "registry/registry.h"

namespace sluice::registry::internal {

spdlog::logger& Logger();
const model::TopicPartition& SchemasTp();
SrStatus Err(int code, std::string message);
bool IEquals(std::string_view a, std::string_view b);
std::string ReferencesJson(const std::vector<Reference>& refs);
// Identity of a schema: type + references + stored text.
std::string ContentKey(schema::SchemaType type, std::string_view text,
                       const std::vector<Reference>& refs);
// The id and a fingerprint of the content are part of the key so that a record that lost a race
// (same subject-version, other id or other content) is a different key: compaction cannot let it
// replace the winner, and its tombstone cannot remove the winner.
std::string SchemaKey(const std::string& subject, int32_t version, const SchemaContent& c);
// CRC-32C of the content key, as 8 hex digits.
std::string ContentFingerprint(const SchemaContent& c);
std::string SchemaValue(const std::string& subject, int32_t version, const SchemaContent& c,
                        bool deleted);
// CONFIG / MODE keys; an empty subject is the global scope.
std::string ScopedKey(std::string_view keytype, const std::string& subject);
std::string IdKey();
model::ProduceRecord Rec(std::string key, std::optional<std::string> value);

}  // namespace sluice::registry::internal
