// Tokenizer for the expression language: identifiers (plain, `backquoted` or "double-quoted"),
// numbers, 'strings' with '' escapes, and operators. Keywords are plain identifiers here; the
// parser recognises them case-insensitively.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sluice::rules::internal {

enum class TokenKind : uint8_t {
  kEnd,
  kIdent,        // plain identifier or keyword
  kQuotedIdent,  // `name` or "name": always a field name
  kInt,
  kDouble,
  kString,
  kOp,  // operator or punctuation; `text` holds it
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  uint32_t pos = 0;  // byte offset in the expression text
  std::string text;  // identifier name, unescaped string, operator, or number text
  int64_t int_value = 0;
  double double_value = 0;
};

// "line:col" (both 1-based) of a byte offset.
std::string FormatPosition(std::string_view text, uint32_t pos);
// InvalidArgument "line:col: message".
Status ErrorAt(std::string_view text, uint32_t pos, std::string_view message);

// Splits `text` into tokens ending with kEnd. Errors: unterminated strings and quoted names,
// characters that start no token.
Result<std::vector<Token>> Tokenize(std::string_view text);

}  // namespace sluice::rules::internal
