// Value semantics shared by operators, casts and functions.
#include "rules/internal/semantics.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "codec/value_json.h"

namespace sluice::rules::internal {

Value Fail(EvalContext& ctx, std::string_view message) {
  if (ctx.error.empty()) ctx.error.assign(message);
  return Value::Null();
}

namespace {

template <typename T>
Cmp Order(T a, T b) {
  return a < b ? Cmp::kLess : (b < a ? Cmp::kGreater : Cmp::kEqual);
}

// Doubles as in PostgreSQL: NaN equals NaN and sorts above every other number.
Cmp OrderDouble(double a, double b) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? Cmp::kEqual : (na ? Cmp::kGreater : Cmp::kLess);
  return Order(a, b);
}

}  // namespace

Cmp CompareValues(const Value& a, const Value& b) {
  ValueType ta = a.type(), tb = b.type();
  if (ta == ValueType::kInt && tb == ValueType::kInt) return Order(a.int_value(), b.int_value());
  if (a.is_number() && b.is_number()) return OrderDouble(a.AsDouble(), b.AsDouble());
  if (ta == ValueType::kString && tb == ValueType::kString) {
    int c = a.string_value().compare(b.string_value());
    return c < 0 ? Cmp::kLess : (c > 0 ? Cmp::kGreater : Cmp::kEqual);
  }
  if (ta == ValueType::kTimestamp || tb == ValueType::kTimestamp) {
    const Value& other = ta == ValueType::kTimestamp ? b : a;
    if (other.is_timestamp() || other.is_number() || other.is_string()) {
      int64_t x, y;
      if (!ToMillis(a, &x) || !ToMillis(b, &y)) return Cmp::kIncomparable;
      return Order(x, y);
    }
    return Cmp::kIncomparable;
  }
  if (ta == ValueType::kBool && tb == ValueType::kBool) return Order(a.bool_value(), b.bool_value());
  if (ta == tb && (ta == ValueType::kArray || ta == ValueType::kObject)) {
    return a.Equals(b) ? Cmp::kEqual : Cmp::kUnequal;
  }
  return Cmp::kIncomparable;
}

bool Comparable(ValueType a, ValueType b, bool ordered) {
  auto num = [](ValueType t) { return t == ValueType::kInt || t == ValueType::kDouble; };
  if (num(a) && num(b)) return true;
  if (a == ValueType::kTimestamp || b == ValueType::kTimestamp) {
    ValueType o = a == ValueType::kTimestamp ? b : a;
    return o == ValueType::kTimestamp || num(o) || o == ValueType::kString;
  }
  if (a != b) return false;
  if (a == ValueType::kArray || a == ValueType::kObject) return !ordered;
  return true;
}

Value EqualsSql(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.is_null() || b.is_null()) return Value::Null();
  Cmp c = CompareValues(a, b);
  if (c == Cmp::kIncomparable) {
    return Fail(ctx, fmt::format("cannot compare {} with {}", model::ValueTypeName(a.type()),
                                 model::ValueTypeName(b.type())));
  }
  return Value::Bool(c == Cmp::kEqual);
}

Value Arith(char op, const Value& a, const Value& b, EvalContext& ctx) {
  if (a.is_null() || b.is_null()) return Value::Null();
  if (a.is_int() && b.is_int()) {
    int64_t x = a.int_value(), y = b.int_value(), r = 0;
    switch (op) {
      case '+':
        if (__builtin_add_overflow(x, y, &r)) return Fail(ctx, "integer overflow in +");
        return Value::Int(r);
      case '-':
        if (__builtin_sub_overflow(x, y, &r)) return Fail(ctx, "integer overflow in -");
        return Value::Int(r);
      case '*':
        if (__builtin_mul_overflow(x, y, &r)) return Fail(ctx, "integer overflow in *");
        return Value::Int(r);
      case '/':
        if (y == 0) return Fail(ctx, "division by zero");
        if (x == INT64_MIN && y == -1) return Fail(ctx, "integer overflow in /");
        return Value::Int(x / y);
      case '%':
        if (y == 0) return Fail(ctx, "division by zero");
        if (y == -1) return Value::Int(0);
        return Value::Int(x % y);
    }
  }
  if (a.is_number() && b.is_number()) {
    double x = a.AsDouble(), y = b.AsDouble();
    switch (op) {
      case '+': return Value::Double(x + y);
      case '-': return Value::Double(x - y);
      case '*': return Value::Double(x * y);
      case '/':
        if (y == 0) return Fail(ctx, "division by zero");
        return Value::Double(x / y);
      case '%':
        if (y == 0) return Fail(ctx, "division by zero");
        return Value::Double(std::fmod(x, y));
    }
  }
  if (op == '+' || op == '-') {
    int64_t r = 0;
    if (a.is_timestamp() && b.is_int()) {
      bool overflow = op == '+' ? __builtin_add_overflow(a.int_value(), b.int_value(), &r)
                                : __builtin_sub_overflow(a.int_value(), b.int_value(), &r);
      if (overflow) return Fail(ctx, "timestamp overflow");
      return Value::Timestamp(r);
    }
    if (op == '+' && a.is_int() && b.is_timestamp()) return Arith('+', b, a, ctx);
    if (op == '-' && a.is_timestamp() && b.is_timestamp()) {
      if (__builtin_sub_overflow(a.int_value(), b.int_value(), &r)) {
        return Fail(ctx, "integer overflow in -");
      }
      return Value::Int(r);
    }
  }
  return Fail(ctx, fmt::format("operator '{}' cannot be applied to {} and {}", op,
                               model::ValueTypeName(a.type()), model::ValueTypeName(b.type())));
}

ValueType ArithType(char op, ValueType a, ValueType b, bool a_known, bool b_known,
                    std::string* error) {
  auto num = [](ValueType t) { return t == ValueType::kInt || t == ValueType::kDouble; };
  if (a_known && a == ValueType::kNull) return ValueType::kNull;
  if (b_known && b == ValueType::kNull) return ValueType::kNull;
  bool plus_minus = op == '+' || op == '-';
  auto allowed = [&](ValueType t) { return num(t) || (plus_minus && t == ValueType::kTimestamp); };
  if ((a_known && !allowed(a)) || (b_known && !allowed(b)) ||
      (a_known && b_known && !(num(a) && num(b)) &&
       !(a == ValueType::kTimestamp && b == ValueType::kInt) &&
       !(op == '+' && a == ValueType::kInt && b == ValueType::kTimestamp) &&
       !(op == '-' && a == ValueType::kTimestamp && b == ValueType::kTimestamp))) {
    *error = fmt::format("operator '{}' cannot be applied to {} and {}", op,
                         a_known ? model::ValueTypeName(a) : "a value of unknown type",
                         b_known ? model::ValueTypeName(b) : "a value of unknown type");
    return ValueType::kNull;
  }
  if (!a_known || !b_known) return ValueType::kNull;
  if (a == ValueType::kInt && b == ValueType::kInt) return ValueType::kInt;
  if (num(a) && num(b)) return ValueType::kDouble;
  if (a == ValueType::kTimestamp && b == ValueType::kTimestamp) return ValueType::kInt;
  return ValueType::kTimestamp;
}

void AppendText(std::string& out, const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: out += "null"; return;
    case ValueType::kBool: out += v.bool_value() ? "true" : "false"; return;
    case ValueType::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.int_value());
      out.append(buf, r.ptr);
      return;
    }
    case ValueType::kDouble: {
      double d = v.double_value();
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        size_t start = out.size();
        fmt::format_to(std::back_inserter(out), "{}", d);
        if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
      }
      return;
    }
    case ValueType::kString: out += v.string_value(); return;
    case ValueType::kTimestamp: AppendIsoTimestamp(out, v.int_value()); return;
    case ValueType::kArray:
    case ValueType::kObject: codec::AppendValueJson(out, v); return;
  }
}

Value MakeString(EvalContext& ctx, std::string_view s) {
  if (ctx.arena == nullptr) return Fail(ctx, "no arena in the evaluation context for string results");
  return ctx.arena->CopyStringValue(s);
}

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view s, int64_t* out) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

bool DoubleToInt(double d, int64_t* out) {
  if (!std::isfinite(d)) return false;
  double t = std::trunc(d);
  if (t < -9223372036854775808.0 || t >= 9223372036854775808.0) return false;
  *out = static_cast<int64_t>(t);
  return true;
}

}  // namespace

bool CastValue(const Value& v, ValueType target, EvalContext& ctx, Value* out, std::string* error) {
  if (v.is_null()) {
    *out = Value::Null();
    return true;
  }
  auto fail = [&](std::string_view what) {
    std::string shown;
    AppendText(shown, v);
    if (shown.size() > 64) shown = shown.substr(0, 61) + "...";
    *error = fmt::format("cannot cast {} '{}' to {}{}", model::ValueTypeName(v.type()), shown,
                         model::ValueTypeName(target), what);
    return false;
  };
  switch (target) {
    case ValueType::kInt: {
      int64_t i = 0;
      switch (v.type()) {
        case ValueType::kInt:
        case ValueType::kTimestamp: i = v.int_value(); break;
        case ValueType::kBool: i = v.bool_value() ? 1 : 0; break;
        case ValueType::kDouble:
          if (!DoubleToInt(v.double_value(), &i)) return fail(" (out of range)");
          break;
        case ValueType::kString:
          if (!ParseInt(v.string_value(), &i)) return fail("");
          break;
        default: return fail("");
      }
      *out = Value::Int(i);
      return true;
    }
    case ValueType::kDouble: {
      double d = 0;
      switch (v.type()) {
        case ValueType::kInt:
        case ValueType::kTimestamp: d = static_cast<double>(v.int_value()); break;
        case ValueType::kDouble: d = v.double_value(); break;
        case ValueType::kBool: d = v.bool_value() ? 1 : 0; break;
        case ValueType::kString:
          if (!ParseDouble(v.string_value(), &d)) return fail("");
          break;
        default: return fail("");
      }
      *out = Value::Double(d);
      return true;
    }
    case ValueType::kString: {
      if (v.is_string()) {
        *out = v;
        return true;
      }
      std::string text;
      AppendText(text, v);
      *out = MakeString(ctx, text);
      return !out->is_null() || (*error = ctx.error, false);
    }
    case ValueType::kBool: {
      switch (v.type()) {
        case ValueType::kBool: *out = v; return true;
        case ValueType::kInt: *out = Value::Bool(v.int_value() != 0); return true;
        case ValueType::kDouble: *out = Value::Bool(v.double_value() != 0); return true;
        case ValueType::kString: {
          std::string_view s = TrimSpaces(v.string_value());
          if (IEq(s, "true") || IEq(s, "t") || IEq(s, "yes") || IEq(s, "y") || s == "1") {
            *out = Value::Bool(true);
            return true;
          }
          if (IEq(s, "false") || IEq(s, "f") || IEq(s, "no") || IEq(s, "n") || s == "0") {
            *out = Value::Bool(false);
            return true;
          }
          return fail("");
        }
        default: return fail("");
      }
    }
    case ValueType::kTimestamp: {
      int64_t ms = 0;
      if (v.is_bool() || !ToMillis(v, &ms)) return fail("");
      *out = Value::Timestamp(ms);
      return true;
    }
    default: return fail("");
  }
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool ParseTimestamp(std::string_view s, int64_t* ms) {
  s = TrimSpaces(s);
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1) return false;
  int64_t month_days = (mo == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, static_cast<unsigned>(mo + 1), 1)) -
                       DaysFromCivil(y, static_cast<unsigned>(mo), 1);
  if (d > month_days) return false;
  size_t i = 10;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    if (!Digits(s, i + 1, 2, &h) || i + 3 >= s.size() || s[i + 3] != ':' || !Digits(s, i + 4, 2, &mi)) {
      return false;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!Digits(s, i + 1, 2, &sec)) return false;
      i += 3;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        int digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          if (digits < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
          ++digits;
          ++i;
        }
        if (digits == 0) return false;
        for (int k = digits; k < 3; ++k) frac_ms *= 10;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return false;
  }
  int64_t offset_min = 0;
  if (i < s.size()) {
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int64_t oh, om = 0;
      int sign = s[i] == '-' ? -1 : 1;
      if (!Digits(s, i + 1, 2, &oh)) return false;
      size_t j = i + 3;
      if (j < s.size() && s[j] == ':') ++j;
      if (j < s.size()) {
        if (!Digits(s, j, 2, &om)) return false;
        j += 2;
      }
      if (j != s.size() || oh > 23 || om > 59) return false;
      offset_min = sign * (oh * 60 + om);
      i = j;
    } else {
      return false;
    }
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *ms = ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + sec * 1000 + frac_ms;
  return true;
}

void AppendIsoTimestamp(std::string& out, int64_t ms) {
  int64_t days = FloorDiv(ms, 86'400'000);
  int64_t rem = FloorMod(ms, 86'400'000);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", y, m, d,
                 rem / 3'600'000, rem / 60'000 % 60, rem / 1000 % 60, rem % 1000);
}

bool ToMillis(const Value& v, int64_t* ms) {
  switch (v.type()) {
    case ValueType::kTimestamp:
    case ValueType::kInt: *ms = v.int_value(); return true;
    case ValueType::kDouble: return DoubleToInt(v.double_value(), ms);
    case ValueType::kString: return ParseTimestamp(v.string_value(), ms);
    default: return false;
  }
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

size_t Utf8Offset(std::string_view s, size_t n) {
  size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --n;
  }
  return i;
}

}  // namespace sluice::rules::internal
