// Compatibility levels: the seven Confluent levels derived from the one-directional
// ParsedSchema::CheckCanRead (reference notes §2).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schema/schema.h"

namespace sluice::schema {

enum class CompatibilityLevel {
  kNone,
  kBackward,
  kBackwardTransitive,
  kForward,
  kForwardTransitive,
  kFull,
  kFullTransitive,
};

// "NONE", "BACKWARD", ... as the registry prints them.
std::string_view CompatibilityLevelName(CompatibilityLevel level);
// Case-insensitive (clients send "backward"); nullopt for unknown names.
std::optional<CompatibilityLevel> ParseCompatibilityLevel(std::string_view name);
bool IsTransitive(CompatibilityLevel level);

struct CompatibilityResult {
  bool compatible = true;
  // One line per problem found against the first version that failed (empty when compatible).
  std::vector<std::string> messages;
  // Index into `history` of the version that failed; only meaningful when !compatible.
  size_t failed_index = 0;
};

// Checks `candidate` against `history` (the subject's live versions, oldest first) at `level`:
// BACKWARD: candidate reads the latest; FORWARD: the latest reads the candidate; FULL: both;
// the transitive levels do the same against every version, newest first, stopping at the first
// failure. Non-transitive levels look at history.back() only. Empty history: compatible.
CompatibilityResult CheckCompatibility(CompatibilityLevel level, const ParsedSchema& candidate,
                                       std::span<const ParsedSchema* const> history);

}  // namespace sluice::schema
