// The simple-pattern matcher and its std::regex fallback.
#include "schema/json/internal/pattern.h"

#include <limits>

namespace sluice::schema::json::internal {

namespace {

void AddRange(std::bitset<256>& set, unsigned char lo, unsigned char hi) {
  for (unsigned c = lo; c <= hi; ++c) set.set(c);
}

// \d \w \s and their negations; false for other escapes.
bool ClassEscape(char e, std::bitset<256>& set) {
  std::bitset<256> s;
  switch (e) {
    case 'd':
    case 'D':
      AddRange(s, '0', '9');
      break;
    case 'w':
    case 'W':
      AddRange(s, '0', '9');
      AddRange(s, 'a', 'z');
      AddRange(s, 'A', 'Z');
      s.set('_');
      break;
    case 's':
    case 'S':
      for (char c : {' ', '\t', '\n', '\v', '\f', '\r'}) s.set(static_cast<unsigned char>(c));
      break;
    default:
      return false;
  }
  if (e == 'D' || e == 'W' || e == 'S') s.flip();
  set |= s;
  return true;
}

bool IsPunct(char c) {
  return std::string_view("\\/.-^$*+?()[]{}|,:=!#&%@~`'\"<> ").find(c) != std::string_view::npos;
}

}  // namespace

std::optional<Pattern> Pattern::Compile(const std::string& pattern) {
  Pattern p;
  try {
    p.regex_ = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
  p.simple_ = p.ParseSimple(pattern);
  return p;
}

bool Pattern::ParseSimple(const std::string& p) {
  for (char c : p) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  size_t i = 0;
  if (i < p.size() && p[i] == '^') {
    anchored_start_ = true;
    ++i;
  }
  while (i < p.size()) {
    char c = p[i];
    Atom atom;
    if (c == '$') {
      if (i + 1 != p.size()) return false;
      anchored_end_ = true;
      ++i;
      break;
    } else if (c == '\\') {
      if (i + 1 >= p.size()) return false;
      char e = p[i + 1];
      if (!ClassEscape(e, atom.set)) {
        if (e == 't') {
          atom.set.set('\t');
        } else if (e == 'n') {
          atom.set.set('\n');
        } else if (IsPunct(e)) {
          atom.set.set(static_cast<unsigned char>(e));
        } else {
          return false;
        }
      }
      i += 2;
    } else if (c == '.') {
      atom.set.set();
      atom.set.reset('\n');
      atom.set.reset('\r');
      ++i;
    } else if (c == '[') {
      ++i;
      bool negate = false;
      if (i < p.size() && p[i] == '^') {
        negate = true;
        ++i;
      }
      bool first = true;
      while (i < p.size() && (p[i] != ']' || first)) {
        first = false;
        unsigned char lo;
        if (p[i] == '\\') {
          if (i + 1 >= p.size()) return false;
          char e = p[i + 1];
          i += 2;
          if (ClassEscape(e, atom.set)) continue;
          if (e == 't') {
            lo = '\t';
          } else if (e == 'n') {
            lo = '\n';
          } else if (IsPunct(e)) {
            lo = static_cast<unsigned char>(e);
          } else {
            return false;
          }
        } else if (p[i] == '[') {
          return false;  // [[:alpha:]] and friends
        } else {
          lo = static_cast<unsigned char>(p[i++]);
        }
        if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
          unsigned char hi = static_cast<unsigned char>(p[i + 1]);
          if (hi == '\\' || hi < lo) return false;
          AddRange(atom.set, lo, hi);
          i += 2;
        } else {
          atom.set.set(lo);
        }
      }
      if (i >= p.size()) return false;
      ++i;  // ']'
      if (negate) atom.set.flip();
    } else if (std::string_view("()|*+?{}]").find(c) != std::string_view::npos) {
      return false;
    } else {
      atom.set.set(static_cast<unsigned char>(c));
      ++i;
    }
    // Quantifier.
    if (i < p.size()) {
      char q = p[i];
      if (q == '?' || q == '*' || q == '+') {
        atom.min = q == '+' ? 1 : 0;
        atom.max = q == '?' ? 1 : std::numeric_limits<uint32_t>::max();
        ++i;
      } else if (q == '{') {
        size_t close = p.find('}', i);
        if (close == std::string::npos) return false;
        std::string body = p.substr(i + 1, close - i - 1);
        size_t comma = body.find(',');
        auto num = [](const std::string& s, uint32_t& out) {
          if (s.empty() || s.size() > 6) return false;
          for (char d : s) {
            if (d < '0' || d > '9') return false;
          }
          out = static_cast<uint32_t>(std::stoul(s));
          return true;
        };
        if (comma == std::string::npos) {
          if (!num(body, atom.min)) return false;
          atom.max = atom.min;
        } else {
          if (!num(body.substr(0, comma), atom.min)) return false;
          std::string hi = body.substr(comma + 1);
          if (hi.empty()) {
            atom.max = std::numeric_limits<uint32_t>::max();
          } else if (!num(hi, atom.max) || atom.max < atom.min) {
            return false;
          }
        }
        i = close + 1;
      }
      if (i < p.size() && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{')) {
        return false;  // lazy or stacked quantifiers
      }
    }
    atoms_.push_back(atom);
  }
  return true;
}

bool Pattern::MatchAt(size_t ai, std::string_view s, size_t pos) const {
  if (ai == atoms_.size()) return !anchored_end_ || pos == s.size();
  const Atom& a = atoms_[ai];
  size_t n = 0;
  while (n < a.max && pos + n < s.size() && a.set.test(static_cast<unsigned char>(s[pos + n]))) {
    ++n;
  }
  if (n < a.min) return false;
  if (ai + 1 == atoms_.size()) {
    // Last atom: only the end anchor can reject, and the greedy count is the best try.
    return !anchored_end_ || pos + n == s.size();
  }
  for (size_t k = n + 1; k-- > a.min;) {
    if (MatchAt(ai + 1, s, pos + k)) return true;
  }
  return false;
}

bool Pattern::Search(std::string_view s) const {
  if (!simple_) return std::regex_search(s.begin(), s.end(), *regex_);
  if (anchored_start_) return MatchAt(0, s, 0);
  for (size_t start = 0; start <= s.size(); ++start) {
    if (MatchAt(0, s, start)) return true;
  }
  return false;
}

}  // namespace sluice::schema::json::internal
