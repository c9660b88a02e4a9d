#include "schema/compatibility.h"

#include <array>
#include <cctype>
#include <utility>

namespace sluice::schema {

namespace {

constexpr std::array<std::pair<CompatibilityLevel, std::string_view>, 7> kNames = {{
    {CompatibilityLevel::kNone, "NONE"},
    {CompatibilityLevel::kBackward, "BACKWARD"},
    {CompatibilityLevel::kBackwardTransitive, "BACKWARD_TRANSITIVE"},
    {CompatibilityLevel::kForward, "FORWARD"},
    {CompatibilityLevel::kForwardTransitive, "FORWARD_TRANSITIVE"},
    {CompatibilityLevel::kFull, "FULL"},
    {CompatibilityLevel::kFullTransitive, "FULL_TRANSITIVE"},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Messages for one candidate/previous pair in the level's direction(s).
std::vector<std::string> CheckPair(CompatibilityLevel level, const ParsedSchema& candidate,
                                   const ParsedSchema& previous) {
  const bool backward = level == CompatibilityLevel::kBackward ||
                        level == CompatibilityLevel::kBackwardTransitive ||
                        level == CompatibilityLevel::kFull ||
                        level == CompatibilityLevel::kFullTransitive;
  const bool forward = level == CompatibilityLevel::kForward ||
                       level == CompatibilityLevel::kForwardTransitive ||
                       level == CompatibilityLevel::kFull ||
                       level == CompatibilityLevel::kFullTransitive;
  std::vector<std::string> out;
  if (backward) out = candidate.CheckCanRead(previous);
  if (forward) {
    auto more = previous.CheckCanRead(candidate);
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
  }
  return out;
}

}  // namespace

std::string_view CompatibilityLevelName(CompatibilityLevel level) {
  for (const auto& [l, name] : kNames) {
    if (l == level) return name;
  }
  return "NONE";
}

std::optional<CompatibilityLevel> ParseCompatibilityLevel(std::string_view name) {
  for (const auto& [l, n] : kNames) {
    if (EqualsIgnoreCase(n, name)) return l;
  }
  return std::nullopt;
}

bool IsTransitive(CompatibilityLevel level) {
  return level == CompatibilityLevel::kBackwardTransitive ||
         level == CompatibilityLevel::kForwardTransitive ||
         level == CompatibilityLevel::kFullTransitive;
}

CompatibilityResult CheckCompatibility(CompatibilityLevel level, const ParsedSchema& candidate,
                                       std::span<const ParsedSchema* const> history) {
  CompatibilityResult result;
  if (level == CompatibilityLevel::kNone || history.empty()) return result;
  size_t stop = IsTransitive(level) ? 0 : history.size() - 1;
  for (size_t i = history.size(); i-- > stop;) {
    auto messages = CheckPair(level, candidate, *history[i]);
    if (!messages.empty()) {
      result.compatible = false;
      result.messages = std::move(messages);
      result.failed_index = i;
      return result;
    }
  }
  return result;
}

}  // namespace sluice::schema
