// Tokenizer for the expression language.
#include "rules/internal/lexer.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace sluice::rules::internal {

std::string FormatPosition(std::string_view text, uint32_t pos) {
  uint32_t line = 1, col = 1;
  for (uint32_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++col;  // columns count characters, not UTF-8 continuation bytes
    }
  }
  return fmt::format("{}:{}", line, col);
}

Status ErrorAt(std::string_view text, uint32_t pos, std::string_view message) {
  return InvalidArgument("{}: {}", FormatPosition(text, pos), message);
}

namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (static_cast<unsigned char>(c) >= 0x80);
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    // -- comments to the end of the line
    if (i + 1 < n && text[i] == '-' && text[i + 1] == '-') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.pos = static_cast<uint32_t>(i);
    if (i >= n) {
      out.push_back(std::move(t));
      return out;
    }
    char c = text[i];
    if (IsIdentStart(c)) {
      size_t start = i;
      while (i < n && IsIdentChar(text[i])) ++i;
      t.kind = TokenKind::kIdent;
      t.text = std::string(text.substr(start, i - start));
    } else if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(text[i + 1]))) {
      size_t start = i;
      bool is_double = false;
      while (i < n && IsDigit(text[i])) ++i;
      if (i < n && text[i] == '.' && !(i + 1 < n && text[i + 1] == '.')) {
        is_double = true;
        ++i;
        while (i < n && IsDigit(text[i])) ++i;
      }
      if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (text[j] == '+' || text[j] == '-')) ++j;
        if (j < n && IsDigit(text[j])) {
          is_double = true;
          i = j;
          while (i < n && IsDigit(text[i])) ++i;
        }
      }
      if (i < n && IsIdentStart(text[i])) {
        return ErrorAt(text, static_cast<uint32_t>(i),
                       fmt::format("unexpected '{}' after number", text[i]));
      }
      t.text = std::string(text.substr(start, i - start));
      if (!is_double) {
        auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.int_value);
        if (ec == std::errc()) {
          t.kind = TokenKind::kInt;
        } else {
          is_double = true;  // too large for int64: a double, as in most SQL engines
        }
      }
      if (is_double) {
        t.kind = TokenKind::kDouble;
        t.double_value = std::strtod(t.text.c_str(), nullptr);
      }
    } else if (c == '\'') {
      ++i;
      t.kind = TokenKind::kString;
      while (true) {
        if (i >= n) return ErrorAt(text, t.pos, "unterminated string literal (missing ')");
        if (text[i] == '\'') {
          if (i + 1 < n && text[i + 1] == '\'') {
            t.text += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        t.text += text[i++];
      }
    } else if (c == '`' || c == '"') {
      char q = c;
      ++i;
      t.kind = TokenKind::kQuotedIdent;
      while (true) {
        if (i >= n) {
          return ErrorAt(text, t.pos, fmt::format("unterminated quoted name (missing {})", q));
        }
        if (text[i] == q) {
          if (i + 1 < n && text[i + 1] == q) {
            t.text += q;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        t.text += text[i++];
      }
      if (t.text.empty()) return ErrorAt(text, t.pos, "empty quoted name");
    } else {
      static constexpr std::string_view kTwo[] = {"<>", "!=", "<=", ">=", "||", "=="};
      t.kind = TokenKind::kOp;
      std::string_view rest = text.substr(i);
      for (std::string_view op : kTwo) {
        if (rest.starts_with(op)) t.text = std::string(op == "==" ? "=" : op);
      }
      if (!t.text.empty()) {
        i += 2;
      } else if (std::string_view("+-*/%=<>(),.[]").find(c) != std::string_view::npos) {
        t.text = std::string(1, c);
        ++i;
      } else {
        return ErrorAt(text, t.pos, fmt::format("unexpected character '{}'", c));
      }
    }
    out.push_back(std::move(t));
  }
}

}  // namespace sluice::rules::internal
