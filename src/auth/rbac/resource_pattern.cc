// Parsing and matching of RBAC resource patterns.
#include "auth/rbac/resource_pattern.h"

namespace sluice::auth_rbac {

bool IsKnownResourceKind(std::string_view kind) {
  return kind == "topic" || kind == "subject" || kind == "group" || kind == "rule";
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single backtrack point: linear-ish, no recursion, so a hostile
  // pattern like `a*a*a*a*b` cannot blow up.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<ResourcePattern> ResourcePattern::Parse(std::string_view pattern) {
  ResourcePattern out;
  out.text_ = std::string(pattern);
  if (pattern == "*") {
    out.shape_ = Shape::kAll;
    return out;
  }
  size_t colon = pattern.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument("resource pattern '{}' is not '<kind>:<name>' or '*'", pattern);
  }
  std::string_view kind = pattern.substr(0, colon);
  std::string_view name = pattern.substr(colon + 1);
  if (!IsKnownResourceKind(kind)) {
    return InvalidArgument(
        "resource pattern '{}' has unknown kind '{}' (expected topic, subject, group or rule)",
        pattern, kind);
  }
  if (name.empty()) {
    return InvalidArgument("resource pattern '{}' has an empty name", pattern);
  }
  size_t stars = 0;
  for (char c : name) stars += c == '*';
  if (stars == 0) {
    out.shape_ = Shape::kLiteral;
    out.literal_ = out.text_;
  } else if (stars == 1 && name.back() == '*') {
    out.shape_ = Shape::kPrefix;
    out.literal_ = out.text_.substr(0, out.text_.size() - 1);
  } else {
    out.shape_ = Shape::kGlob;
  }
  return out;
}

bool ResourcePattern::Matches(std::string_view resource) const {
  switch (shape_) {
    case Shape::kAll: return true;
    case Shape::kLiteral: return resource == literal_;
    case Shape::kPrefix: return resource.starts_with(literal_);
    case Shape::kGlob: return GlobMatch(text_, resource);
  }
  return false;
}

}  // namespace sluice::auth_rbac
