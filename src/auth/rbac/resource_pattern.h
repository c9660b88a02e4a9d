// ResourcePattern: a compiled `kind:name` glob (`topic:orders.*`, `subject:*`, `*`) that RBAC
// rules match resources against. Resources themselves are plain `kind:name` strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sluice::auth_rbac {

// The resource kinds RBAC knows. A resource string is `<kind>:<name>`.
bool IsKnownResourceKind(std::string_view kind);

// Glob match where `*` matches any run of characters (including none and including '.', ':'),
// every other character matches itself. No escaping: resource names never contain '*'.
bool GlobMatch(std::string_view pattern, std::string_view text);

// An immutable, validated pattern. Thread-safe (const after Parse).
class ResourcePattern {
 public:
  ResourcePattern() = default;

  // Accepts `*` (every resource of every kind) or `<kind>:<name-glob>` where kind is one of
  // topic, subject, group, rule and name-glob is non-empty. Errors are kInvalidArgument and say
  // what is wrong with the pattern (callers add the role/rule context).
  static Result<ResourcePattern> Parse(std::string_view pattern);

  // True when `resource` (a `kind:name` string) is covered by this pattern.
  bool Matches(std::string_view resource) const;

  const std::string& text() const { return text_; }

 private:
  enum class Shape { kAll, kLiteral, kPrefix, kGlob };
  std::string text_;
  Shape shape_ = Shape::kAll;
  std::string literal_;  // kLiteral: the whole text; kPrefix: text before the trailing '*'
};

}  // namespace sluice::auth_rbac
