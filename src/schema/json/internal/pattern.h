// Pattern: a compiled JSON Schema "pattern" (ECMA-262 regex, unanchored search). Simple patterns
// (literals, classes, \d \w \s, '.', quantifiers, ^ and $; no groups or alternation) run on a
// small backtracking matcher over byte sets; everything else falls back to std::regex.
#pragma once

#include <bitset>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::schema::json::internal {

class Pattern {
 public:
  // nullopt when std::regex rejects the pattern.
  static std::optional<Pattern> Compile(const std::string& pattern);

  // True when the pattern matches somewhere in `s` (JSON Schema patterns are not anchored).
  bool Search(std::string_view s) const;
  bool is_simple() const { return simple_; }

 private:
  struct Atom {
    std::bitset<256> set;
    uint32_t min = 1;
    uint32_t max = 1;
  };
  bool ParseSimple(const std::string& p);
  bool MatchAt(size_t atom, std::string_view s, size_t pos) const;

  bool simple_ = false;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
  std::vector<Atom> atoms_;
  std::shared_ptr<const std::regex> regex_;
};

}  // namespace sluice::schema::json::internal
