// The built-in functions. Each implementation may assume its arguments have the declared types
// (CallNode checks them) and are not NULL when the spec is null_in_null_out.
#include "rules/internal/functions.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace sluice::rules::internal {
namespace {

using Args = const Value*;

// --- helpers ---

// Uninitialised arena bytes for a string result; nullptr (with an error in ctx) without arena.
char* Alloc(EvalContext& ctx, size_t n) {
  if (ctx.arena == nullptr) {
    Fail(ctx, "no arena in the evaluation context for string results");
    return nullptr;
  }
  return static_cast<char*>(ctx.arena->Allocate(std::max<size_t>(n, 1), 1));
}

Value StringResult(EvalContext& ctx, std::string_view s) {
  if (s.empty()) return Value::String({});
  return MakeString(ctx, s);
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }

std::string_view Str(const Value& v) { return v.string_value(); }

// --- string functions ---

template <char (*F)(char)>
Value MapChars(Args a, int, CallState&, EvalContext& ctx) {
  std::string_view s = Str(a[0]);
  if (s.empty()) return a[0];
  char* p = Alloc(ctx, s.size());
  if (p == nullptr) return Value::Null();
  for (size_t i = 0; i < s.size(); ++i) p[i] = F(s[i]);
  return Value::String({p, s.size()});
}

Value Length(Args a, int, CallState&, EvalContext&) {
  return Value::Int(static_cast<int64_t>(Utf8Length(Str(a[0]))));
}

Value Substr(Args a, int n, CallState&, EvalContext& ctx) {
  std::string_view s = Str(a[0]);
  int64_t start = a[1].int_value();
  int64_t end = INT64_MAX;
  if (n > 2) {
    if (a[2].int_value() < 0) return Fail(ctx, "substr(): negative length");
    if (__builtin_add_overflow(start, a[2].int_value(), &end)) end = INT64_MAX;
  }
  int64_t begin = std::max<int64_t>(start, 1);
  if (end <= begin) return Value::String({});
  size_t b = Utf8Offset(s, static_cast<size_t>(begin - 1));
  size_t e = end == INT64_MAX ? s.size() : Utf8Offset(s, static_cast<size_t>(end - 1));
  return Value::String(s.substr(b, e - b));
}

template <bool kLeft, bool kRight>
Value Trim(Args a, int n, CallState&, EvalContext&) {
  std::string_view s = Str(a[0]);
  std::string_view chars = n > 1 ? Str(a[1]) : std::string_view(" ");
  if (kLeft) {
    size_t i = s.find_first_not_of(chars);
    s.remove_prefix(i == std::string_view::npos ? s.size() : i);
  }
  if (kRight) {
    size_t i = s.find_last_not_of(chars);
    s = s.substr(0, i == std::string_view::npos ? 0 : i + 1);
  }
  return Value::String(s);
}

Value Concat(Args a, int n, CallState& st, EvalContext& ctx) {
  st.scratch.clear();
  for (int i = 0; i < n; ++i) {
    if (!a[i].is_null()) AppendText(st.scratch, a[i]);
  }
  return StringResult(ctx, st.scratch);
}

Value ConcatWs(Args a, int n, CallState& st, EvalContext& ctx) {
  if (a[0].is_null()) return Value::Null();
  st.scratch.clear();
  bool first = true;
  for (int i = 1; i < n; ++i) {
    if (a[i].is_null()) continue;
    if (!first) st.scratch += Str(a[0]);
    first = false;
    AppendText(st.scratch, a[i]);
  }
  return StringResult(ctx, st.scratch);
}

Value Replace(Args a, int, CallState& st, EvalContext& ctx) {
  std::string_view s = Str(a[0]), from = Str(a[1]), to = Str(a[2]);
  if (from.empty() || s.find(from) == std::string_view::npos) return a[0];
  st.scratch.clear();
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    st.scratch.append(s.substr(pos, hit - pos));
    st.scratch.append(to);
    pos = hit + from.size();
  }
  st.scratch.append(s.substr(pos));
  return StringResult(ctx, st.scratch);
}

Value StartsWith(Args a, int, CallState&, EvalContext&) { return Value::Bool(Str(a[0]).starts_with(Str(a[1]))); }
Value EndsWith(Args a, int, CallState&, EvalContext&) { return Value::Bool(Str(a[0]).ends_with(Str(a[1]))); }
Value Contains(Args a, int, CallState&, EvalContext&) {
  return Value::Bool(Str(a[0]).find(Str(a[1])) != std::string_view::npos);
}

Value Position(Args a, int, CallState&, EvalContext&) {
  std::string_view sub = Str(a[0]), s = Str(a[1]);
  size_t hit = s.find(sub);
  if (hit == std::string_view::npos) return Value::Int(0);
  return Value::Int(static_cast<int64_t>(Utf8Length(s.substr(0, hit)) + 1));
}

Value Split(Args a, int, CallState&, EvalContext& ctx) {
  std::string_view s = Str(a[0]), d = Str(a[1]);
  if (ctx.arena == nullptr) return Fail(ctx, "no arena in the evaluation context for array results");
  size_t count = 0;
  if (d.empty()) {
    count = Utf8Length(s);
  } else {
    count = 1;
    for (size_t p = s.find(d); p != std::string_view::npos; p = s.find(d, p + d.size())) ++count;
  }
  auto items = ctx.arena->AllocateArray<Value>(count);
  if (d.empty()) {
    size_t i = 0;
    for (size_t k = 0; k < count; ++k) {
      size_t j = Utf8Offset(s.substr(i), 1) + i;
      items[k] = Value::String(s.substr(i, j - i));
      i = j;
    }
  } else {
    size_t pos = 0;
    for (size_t k = 0; k < count; ++k) {
      size_t hit = k + 1 < count ? s.find(d, pos) : s.size();
      items[k] = Value::String(s.substr(pos, hit - pos));
      pos = hit + d.size();
    }
  }
  return Value::Array(items);
}

template <bool kLeft>
Value Pad(Args a, int n, CallState& st, EvalContext& ctx) {
  std::string_view s = Str(a[0]);
  int64_t len = a[1].int_value();
  std::string_view pad = n > 2 ? Str(a[2]) : std::string_view(" ");
  if (len <= 0) return Value::String({});
  if (len > (1 << 20)) return Fail(ctx, "pad length over 1048576");
  size_t have = Utf8Length(s);
  if (have >= static_cast<size_t>(len)) return Value::String(s.substr(0, Utf8Offset(s, len)));
  if (pad.empty()) return a[0];
  size_t need = static_cast<size_t>(len) - have;
  size_t pad_chars = Utf8Length(pad);
  st.scratch.clear();
  if (!kLeft) st.scratch.append(s);
  while (need > 0) {
    size_t take = std::min(need, pad_chars);
    st.scratch.append(pad.substr(0, Utf8Offset(pad, take)));
    need -= take;
  }
  if (kLeft) st.scratch.append(s);
  return StringResult(ctx, st.scratch);
}

Value Reverse(Args a, int, CallState&, EvalContext& ctx) {
  std::string_view s = Str(a[0]);
  if (s.empty()) return a[0];
  char* p = Alloc(ctx, s.size());
  if (p == nullptr) return Value::Null();
  size_t out = s.size();
  for (size_t i = 0; i < s.size();) {
    size_t j = Utf8Offset(s.substr(i), 1) + i;
    out -= j - i;
    std::memcpy(p + out, s.data() + i, j - i);
    i = j;
  }
  return Value::String({p, s.size()});
}

// --- regular expressions ---

re2::StringPiece Piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

Value RegexpLike(Args a, int, CallState& st, EvalContext& ctx) {
  const RE2* re = st.Regex(a[1], ctx);
  if (re == nullptr) return Value::Null();
  return Value::Bool(RE2::PartialMatch(Piece(Str(a[0])), *re));
}

Value RegexpExtract(Args a, int n, CallState& st, EvalContext& ctx) {
  const RE2* re = st.Regex(a[1], ctx);
  if (re == nullptr) return Value::Null();
  int64_t group = n > 2 ? a[2].int_value() : (re->NumberOfCapturingGroups() > 0 ? 1 : 0);
  if (group < 0 || group > re->NumberOfCapturingGroups() || group > 20) {
    return Fail(ctx, fmt::format("regexp_extract(): group {} out of range (the pattern has {})",
                                 group, re->NumberOfCapturingGroups()));
  }
  std::array<re2::StringPiece, 21> groups;
  std::string_view s = Str(a[0]);
  if (!re->Match(Piece(s), 0, s.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(group) + 1)) {
    return Value::Null();
  }
  const re2::StringPiece& g = groups[group];
  if (g.data() == nullptr) return Value::Null();
  return Value::String(std::string_view(g.data(), g.size()));
}

Value RegexpReplace(Args a, int, CallState& st, EvalContext& ctx) {
  const RE2* re = st.Regex(a[1], ctx);
  if (re == nullptr) return Value::Null();
  std::string error;
  if (!re->CheckRewriteString(Piece(Str(a[2])), &error)) {
    return Fail(ctx, fmt::format("regexp_replace(): invalid replacement: {}", error));
  }
  st.scratch.assign(Str(a[0]));
  RE2::GlobalReplace(&st.scratch, *re, Piece(Str(a[2])));
  return StringResult(ctx, st.scratch);
}

// --- math ---

Value Abs(Args a, int, CallState&, EvalContext& ctx) {
  if (a[0].is_int()) {
    if (a[0].int_value() == INT64_MIN) return Fail(ctx, "integer overflow in abs()");
    return Value::Int(std::abs(a[0].int_value()));
  }
  return Value::Double(std::fabs(a[0].double_value()));
}

double RoundHalfAway(double x) { return std::round(x); }

Value Round(Args a, int n, CallState&, EvalContext& ctx) {
  int64_t d = n > 1 ? a[1].int_value() : 0;
  if (d > 300 || d < -300) return Fail(ctx, "round(): digits out of range");
  if (a[0].is_int()) {
    if (d >= 0) return a[0];
    if (d < -18) return Value::Int(0);
    int64_t p = 1;
    for (int64_t i = 0; i < -d; ++i) p *= 10;
    int64_t x = a[0].int_value();
    int64_t q = x / p, r = x % p;
    if (2 * (r < 0 ? -r : r) >= p) q += x < 0 ? -1 : 1;
    int64_t out;
    if (__builtin_mul_overflow(q, p, &out)) return Fail(ctx, "integer overflow in round()");
    return Value::Int(out);
  }
  double x = a[0].double_value();
  if (d == 0) return Value::Double(RoundHalfAway(x));
  double p = std::pow(10.0, static_cast<double>(d));
  double r = RoundHalfAway(x * p) / p;
  return Value::Double(std::isfinite(r) ? r : x);
}

template <double (*F)(double)>
Value IntOrDouble(Args a, int, CallState&, EvalContext&) {
  if (a[0].is_int()) return a[0];
  return Value::Double(F(a[0].double_value()));
}
double Floor(double x) { return std::floor(x); }
double Ceil(double x) { return std::ceil(x); }

Value Sqrt(Args a, int, CallState&, EvalContext& ctx) {
  double x = a[0].AsDouble();
  if (x < 0) return Fail(ctx, "sqrt() of a negative number");
  return Value::Double(std::sqrt(x));
}
Value Exp(Args a, int, CallState&, EvalContext&) { return Value::Double(std::exp(a[0].AsDouble())); }
template <double (*F)(double)>
Value Log(Args a, int, CallState&, EvalContext& ctx) {
  double x = a[0].AsDouble();
  if (x <= 0) return Fail(ctx, "logarithm of a number that is not positive");
  return Value::Double(F(x));
}
double Ln(double x) { return std::log(x); }
double Log10(double x) { return std::log10(x); }
Value Pow(Args a, int, CallState&, EvalContext&) {
  return Value::Double(std::pow(a[0].AsDouble(), a[1].AsDouble()));
}
Value Mod(Args a, int, CallState&, EvalContext& ctx) { return Arith('%', a[0], a[1], ctx); }
Value Sign(Args a, int, CallState&, EvalContext&) {
  if (a[0].is_int()) return Value::Int((a[0].int_value() > 0) - (a[0].int_value() < 0));
  double x = a[0].double_value();
  return Value::Double(x > 0 ? 1.0 : (x < 0 ? -1.0 : x));
}

template <bool kGreatest>
Value Extreme(Args a, int n, CallState&, EvalContext& ctx) {
  Value best;
  for (int i = 0; i < n; ++i) {
    if (a[i].is_null()) continue;
    if (best.is_null()) {
      best = a[i];
      continue;
    }
    Cmp c = CompareValues(a[i], best);
    if (c == Cmp::kIncomparable || c == Cmp::kUnequal) {
      return Fail(ctx, fmt::format("{}(): cannot compare {} with {}", kGreatest ? "greatest" : "least",
                                   model::ValueTypeName(a[i].type()), model::ValueTypeName(best.type())));
    }
    if (kGreatest ? c == Cmp::kGreater : c == Cmp::kLess) best = a[i];
  }
  return best;
}

// --- time ---

Value Now(Args, int, CallState&, EvalContext& ctx) { return Value::Timestamp(ctx.now_ms); }

bool Millis(const Value& v, int64_t* ms, std::string_view fn, EvalContext& ctx) {
  if (ToMillis(v, ms)) return true;
  std::string shown;
  AppendText(shown, v);
  Fail(ctx, fmt::format("{}(): '{}' is not a timestamp (expected ISO-8601 like "
                        "2024-05-01T12:00:00Z or milliseconds)", fn, shown));
  return false;
}

Value ToTimestamp(Args a, int, CallState&, EvalContext& ctx) {
  int64_t ms;
  if (!Millis(a[0], &ms, "to_timestamp", ctx)) return Value::Null();
  return Value::Timestamp(ms);
}

Value FromUnixtime(Args a, int, CallState&, EvalContext& ctx) {
  if (a[0].is_int()) {
    int64_t ms;
    if (__builtin_mul_overflow(a[0].int_value(), 1000, &ms)) return Fail(ctx, "from_unixtime(): out of range");
    return Value::Timestamp(ms);
  }
  double ms = std::round(a[0].double_value() * 1000);
  if (!(std::fabs(ms) < 9.2e18)) return Fail(ctx, "from_unixtime(): out of range");
  return Value::Timestamp(static_cast<int64_t>(ms));
}

Value UnixMillis(Args a, int, CallState&, EvalContext& ctx) {
  int64_t ms;
  if (!Millis(a[0], &ms, "unix_millis", ctx)) return Value::Null();
  return Value::Int(ms);
}
Value UnixSeconds(Args a, int, CallState&, EvalContext& ctx) {
  int64_t ms;
  if (!Millis(a[0], &ms, "unix_seconds", ctx)) return Value::Null();
  return Value::Int(FloorDiv(ms, 1000));
}

enum class Unit : uint8_t {
  kMillisecond, kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear,
  kDow, kDoy, kEpoch, kInvalid
};

Unit ParseUnit(std::string_view s) {
  static constexpr std::pair<std::string_view, Unit> kUnits[] = {
      {"millisecond", Unit::kMillisecond}, {"milliseconds", Unit::kMillisecond},
      {"second", Unit::kSecond},           {"seconds", Unit::kSecond},
      {"minute", Unit::kMinute},           {"minutes", Unit::kMinute},
      {"hour", Unit::kHour},               {"hours", Unit::kHour},
      {"day", Unit::kDay},                 {"days", Unit::kDay},
      {"week", Unit::kWeek},               {"weeks", Unit::kWeek},
      {"month", Unit::kMonth},             {"months", Unit::kMonth},
      {"quarter", Unit::kQuarter},         {"year", Unit::kYear},
      {"years", Unit::kYear},              {"dow", Unit::kDow},
      {"dayofweek", Unit::kDow},           {"doy", Unit::kDoy},
      {"dayofyear", Unit::kDoy},           {"epoch", Unit::kEpoch}};
  char buf[16];
  if (s.size() >= sizeof(buf)) return Unit::kInvalid;
  for (size_t i = 0; i < s.size(); ++i) buf[i] = AsciiLower(s[i]);
  std::string_view lower(buf, s.size());
  for (auto [name, u] : kUnits) {
    if (lower == name) return u;
  }
  return Unit::kInvalid;
}

std::string CheckTruncUnit(int index, const Value& v) {
  if (index != 0 || !v.is_string()) return "";
  Unit u = ParseUnit(v.string_value());
  if (u == Unit::kInvalid || u == Unit::kDow || u == Unit::kDoy || u == Unit::kEpoch) {
    return fmt::format("unknown date_trunc unit '{}' (expected millisecond, second, minute, hour, "
                       "day, week, month, quarter or year)", v.string_value());
  }
  return "";
}

std::string CheckExtractUnit(int index, const Value& v) {
  if (index != 0 || !v.is_string()) return "";
  Unit u = ParseUnit(v.string_value());
  if (u == Unit::kInvalid || u == Unit::kWeek) {
    return fmt::format("unknown extract unit '{}' (expected year, quarter, month, day, hour, minute, "
                       "second, millisecond, dow, doy or epoch)", v.string_value());
  }
  return "";
}

int64_t ExtractUnit(Unit u, int64_t ms) {
  int64_t days = FloorDiv(ms, 86'400'000);
  int64_t rem = FloorMod(ms, 86'400'000);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  switch (u) {
    case Unit::kYear: return y;
    case Unit::kQuarter: return (m - 1) / 3 + 1;
    case Unit::kMonth: return m;
    case Unit::kDay: return d;
    case Unit::kHour: return rem / 3'600'000;
    case Unit::kMinute: return rem / 60'000 % 60;
    case Unit::kSecond: return rem / 1000 % 60;
    case Unit::kMillisecond: return rem % 1000;
    case Unit::kDow: return FloorMod(days + 4, 7);  // 1970-01-01 was a Thursday; Sunday = 0
    case Unit::kDoy: return days - DaysFromCivil(y, 1, 1) + 1;
    case Unit::kEpoch: return FloorDiv(ms, 1000);
    default: return 0;
  }
}

Value Extract(Args a, int, CallState&, EvalContext& ctx) {
  Unit u = ParseUnit(Str(a[0]));
  if (!CheckExtractUnit(0, a[0]).empty()) return Fail(ctx, CheckExtractUnit(0, a[0]));
  int64_t ms;
  if (!Millis(a[1], &ms, "extract", ctx)) return Value::Null();
  return Value::Int(ExtractUnit(u, ms));
}

template <Unit U>
Value ExtractFixed(Args a, int, CallState&, EvalContext& ctx) {
  int64_t ms;
  if (!Millis(a[0], &ms, "extract", ctx)) return Value::Null();
  return Value::Int(ExtractUnit(U, ms));
}

Value DateTrunc(Args a, int, CallState&, EvalContext& ctx) {
  std::string err = CheckTruncUnit(0, a[0]);
  if (!err.empty()) return Fail(ctx, err);
  int64_t ms;
  if (!Millis(a[1], &ms, "date_trunc", ctx)) return Value::Null();
  Unit u = ParseUnit(Str(a[0]));
  auto floor_to = [&](int64_t step) { return FloorDiv(ms, step) * step; };
  switch (u) {
    case Unit::kMillisecond: return Value::Timestamp(ms);
    case Unit::kSecond: return Value::Timestamp(floor_to(1000));
    case Unit::kMinute: return Value::Timestamp(floor_to(60'000));
    case Unit::kHour: return Value::Timestamp(floor_to(3'600'000));
    case Unit::kDay: return Value::Timestamp(floor_to(86'400'000));
    case Unit::kWeek: {  // weeks start on Monday (ISO 8601)
      int64_t days = FloorDiv(ms, 86'400'000);
      int64_t monday = days - FloorMod(days + 3, 7);
      return Value::Timestamp(monday * 86'400'000);
    }
    default: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(FloorDiv(ms, 86'400'000), &y, &m, &d);
      if (u == Unit::kYear) m = 1;
      if (u == Unit::kQuarter) m = (m - 1) / 3 * 3 + 1;
      return Value::Timestamp(DaysFromCivil(y, m, 1) * 86'400'000);
    }
  }
}

std::string CheckFormat(int index, const Value& v) {
  if (index != 1 || !v.is_string()) return "";
  if (v.string_value().size() > 256) return "format_timestamp(): pattern longer than 256 bytes";
  return "";
}

Value FormatTimestamp(Args a, int n, CallState& st, EvalContext& ctx) {
  int64_t ms;
  if (!Millis(a[0], &ms, "format_timestamp", ctx)) return Value::Null();
  st.scratch.clear();
  if (n < 2) {
    AppendIsoTimestamp(st.scratch, ms);
    return StringResult(ctx, st.scratch);
  }
  std::string_view p = Str(a[1]);
  if (p.size() > 256) return Fail(ctx, "format_timestamp(): pattern longer than 256 bytes");
  int64_t days = FloorDiv(ms, 86'400'000), rem = FloorMod(ms, 86'400'000);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  auto out = std::back_inserter(st.scratch);
  for (size_t i = 0; i < p.size();) {
    std::string_view rest = p.substr(i);
    if (rest.starts_with("yyyy")) { fmt::format_to(out, "{:04}", y); i += 4; }
    else if (rest.starts_with("MM")) { fmt::format_to(out, "{:02}", m); i += 2; }
    else if (rest.starts_with("dd")) { fmt::format_to(out, "{:02}", d); i += 2; }
    else if (rest.starts_with("HH")) { fmt::format_to(out, "{:02}", rem / 3'600'000); i += 2; }
    else if (rest.starts_with("mm")) { fmt::format_to(out, "{:02}", rem / 60'000 % 60); i += 2; }
    else if (rest.starts_with("ss")) { fmt::format_to(out, "{:02}", rem / 1000 % 60); i += 2; }
    else if (rest.starts_with("SSS")) { fmt::format_to(out, "{:03}", rem % 1000); i += 3; }
    else if (p[i] == '\'') {
      size_t end = p.find('\'', i + 1);
      if (end == std::string_view::npos) end = p.size();
      st.scratch.append(p.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      st.scratch += p[i++];
    }
  }
  return StringResult(ctx, st.scratch);
}

// --- JSON and collections ---

// Decodes JSON text into ctx.arena. Empty text is refused here: the decoder would memcpy with
// null pointers (UBSan) for it.
bool DecodeJson(std::string_view text, CallState& st, EvalContext& ctx, std::string_view fn, Value* out) {
  if (ctx.arena == nullptr) {
    Fail(ctx, "no arena in the evaluation context for JSON");
    return false;
  }
  if (text.empty()) {
    Fail(ctx, fmt::format("{}: invalid JSON: empty text", fn));
    return false;
  }
  if (st.json == nullptr) st.json = std::make_unique<codec::ValueJsonDecoder>();
  auto r = st.json->Decode(text, *ctx.arena);
  if (!r.ok()) {
    Fail(ctx, fmt::format("{}: {}", fn, r.status().message()));
    return false;
  }
  *out = *r;
  return true;
}

Value JsonParse(Args a, int, CallState& st, EvalContext& ctx) {
  Value out;
  if (!DecodeJson(Str(a[0]), st, ctx, "json_parse()", &out)) return Value::Null();
  return out;
}

Value ToJson(Args a, int, CallState& st, EvalContext& ctx) {
  st.scratch.clear();
  codec::AppendValueJson(st.scratch, a[0]);
  return StringResult(ctx, st.scratch);
}

// Walks a JSON path ($, .name, ['name'], [n]) from `v`. Returns false on a syntax error.
bool WalkJsonPath(Value v, std::string_view path, Value* out, std::string* error) {
  size_t i = 0;
  auto bad = [&](std::string_view why) {
    *error = fmt::format("invalid JSON path '{}': {}", path, why);
    return false;
  };
  if (path.empty() || path[0] != '$') return bad("must start with $");
  ++i;
  bool missing = false;
  while (i < path.size()) {
    if (path[i] == '.') {
      size_t start = ++i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      if (i == start) return bad("empty member name");
      const Value* m = missing ? nullptr : v.Find(path.substr(start, i - start));
      if (m == nullptr) missing = true; else v = *m;
    } else if (path[i] == '[') {
      ++i;
      if (i < path.size() && (path[i] == '\'' || path[i] == '"')) {
        char q = path[i];
        size_t end = path.find(q, i + 1);
        if (end == std::string_view::npos || end + 1 >= path.size() || path[end + 1] != ']') {
          return bad("unterminated ['name']");
        }
        const Value* m = missing ? nullptr : v.Find(path.substr(i + 1, end - i - 1));
        if (m == nullptr) missing = true; else v = *m;
        i = end + 2;
      } else {
        size_t start = i;
        uint64_t idx = 0;
        while (i < path.size() && path[i] >= '0' && path[i] <= '9' && i - start < 10) {
          idx = idx * 10 + static_cast<uint64_t>(path[i] - '0');
          ++i;
        }
        if (i == start || i >= path.size() || path[i] != ']') return bad("expected [index] or ['name']");
        ++i;
        if (!missing && v.is_array() && idx < v.items().size()) v = v.items()[idx]; else missing = true;
      }
    } else {
      return bad(fmt::format("unexpected '{}'", path[i]));
    }
  }
  *out = missing ? Value::Null() : v;
  return true;
}

std::string CheckJsonPath(int index, const Value& v) {
  if (index != 1 || !v.is_string()) return "";
  Value out;
  std::string error;
  if (!WalkJsonPath(Value::Null(), v.string_value(), &out, &error)) return error;
  return "";
}

template <bool kScalarText>
Value JsonExtract(Args a, int, CallState& st, EvalContext& ctx) {
  Value doc = a[0];
  if (doc.is_string() &&
      !DecodeJson(Str(doc), st, ctx, kScalarText ? "json_value()" : "json_extract()", &doc)) {
    return Value::Null();
  }
  Value out;
  std::string error;
  if (!WalkJsonPath(doc, Str(a[1]), &out, &error)) return Fail(ctx, error);
  if (!kScalarText) return out;
  if (out.is_string() || out.is_null()) return out;
  if (out.is_array() || out.is_object()) return Value::Null();
  st.scratch.clear();
  AppendText(st.scratch, out);
  return StringResult(ctx, st.scratch);
}

Value Cardinality(Args a, int, CallState&, EvalContext&) {
  return Value::Int(static_cast<int64_t>(a[0].is_array() ? a[0].items().size() : a[0].members().size()));
}

Value ElementAt(Args a, int, CallState&, EvalContext& ctx) {
  if (a[0].is_object()) {
    if (!a[1].is_string()) return Fail(ctx, "element_at(): an object needs a string key");
    const Value* v = a[0].Find(Str(a[1]));
    return v != nullptr ? *v : Value::Null();
  }
  if (!a[1].is_int()) return Fail(ctx, "element_at(): an array needs an integer index");
  int64_t i = a[1].int_value();
  int64_t size = static_cast<int64_t>(a[0].items().size());
  if (i == 0) return Fail(ctx, "element_at(): indexes start at 1");
  int64_t k = i > 0 ? i - 1 : size + i;
  if (k < 0 || k >= size) return Value::Null();
  return a[0].items()[k];
}

// --- hashing and masking ---

Value Digest(Args a, CallState& st, EvalContext& ctx, const EVP_MD* md) {
  std::string_view data;
  if (a[0].is_string()) {
    data = Str(a[0]);
  } else {
    st.scratch.clear();
    AppendText(st.scratch, a[0]);
    data = st.scratch;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr) != 1) {
    return Fail(ctx, "digest failed");
  }
  char* p = Alloc(ctx, len * 2);
  if (p == nullptr) return Value::Null();
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    p[2 * i] = kHex[digest[i] >> 4];
    p[2 * i + 1] = kHex[digest[i] & 15];
  }
  return Value::String({p, len * 2});
}
Value Sha256(Args a, int, CallState& st, EvalContext& ctx) { return Digest(a, st, ctx, EVP_sha256()); }
Value Md5(Args a, int, CallState& st, EvalContext& ctx) { return Digest(a, st, ctx, EVP_md5()); }

Value Hash64(Args a, int, CallState&, EvalContext&) {
  return Value::Int(static_cast<int64_t>(a[0].Hash()));
}

// Replaces every character but the last `keep` with `mask` (UTF-8 aware).
void MaskInto(std::string& out, std::string_view s, size_t keep, std::string_view mask) {
  size_t chars = Utf8Length(s);
  size_t masked = chars > keep ? chars - keep : 0;
  for (size_t i = 0; i < masked; ++i) out.append(mask);
  out.append(s.substr(Utf8Offset(s, masked)));
}

Value Mask(Args a, int n, CallState& st, EvalContext& ctx) {
  int64_t keep = n > 1 ? a[1].int_value() : 0;
  std::string_view mask = n > 2 ? Str(a[2]) : std::string_view("*");
  if (keep < 0) return Fail(ctx, "mask(): keep_last_n must not be negative");
  if (n > 2 && Utf8Length(mask) != 1) return Fail(ctx, "mask(): mask_char must be one character");
  st.scratch.clear();
  MaskInto(st.scratch, Str(a[0]), static_cast<size_t>(keep), mask);
  return StringResult(ctx, st.scratch);
}

Value MaskEmail(Args a, int, CallState& st, EvalContext& ctx) {
  std::string_view s = Str(a[0]);
  size_t at = s.rfind('@');
  st.scratch.clear();
  if (at == std::string_view::npos || at == 0) {
    MaskInto(st.scratch, s, 0, "*");
  } else {
    std::string_view local = s.substr(0, at);
    size_t first = Utf8Offset(local, 1);
    st.scratch.append(local.substr(0, first));
    for (size_t i = Utf8Length(local); i > 1; --i) st.scratch += '*';
    st.scratch.append(s.substr(at));
  }
  return StringResult(ctx, st.scratch);
}

// --- the table ---

using R = ResultRule;
constexpr ValueType kS = ValueType::kString, kI = ValueType::kInt, kD = ValueType::kDouble,
                    kB = ValueType::kBool, kT = ValueType::kTimestamp, kA = ValueType::kArray;

std::vector<FunctionSpec> MakeTable() {
  std::vector<FunctionSpec> t;
  auto add = [&](std::string_view name, int min, int max, std::vector<uint16_t> types, R rule,
                 ValueType result, FunctionImpl impl) -> FunctionSpec& {
    FunctionSpec s;
    s.name = name;
    s.min_args = min;
    s.max_args = max;
    s.arg_types = std::move(types);
    s.rule = rule;
    s.result = result;
    s.impl = impl;
    t.push_back(std::move(s));
    return t.back();
  };
  // strings
  add("lower", 1, 1, {kStr}, R::kFixed, kS, MapChars<AsciiLower>);
  add("upper", 1, 1, {kStr}, R::kFixed, kS, MapChars<AsciiUpper>);
  add("length", 1, 1, {kStr}, R::kFixed, kI, Length);
  add("substr", 2, 3, {kStr, kIntT}, R::kFixed, kS, Substr);
  add("trim", 1, 2, {kStr}, R::kFixed, kS, Trim<true, true>);
  add("ltrim", 1, 2, {kStr}, R::kFixed, kS, Trim<true, false>);
  add("rtrim", 1, 2, {kStr}, R::kFixed, kS, Trim<false, true>);
  add("concat", 1, -1, {kAnyType}, R::kFixed, kS, Concat).null_in_null_out = false;
  add("concat_ws", 2, -1, {kStr, kAnyType}, R::kFixed, kS, ConcatWs).null_in_null_out = false;
  add("replace", 3, 3, {kStr}, R::kFixed, kS, Replace);
  add("starts_with", 2, 2, {kStr}, R::kFixed, kB, StartsWith);
  add("ends_with", 2, 2, {kStr}, R::kFixed, kB, EndsWith);
  add("contains", 2, 2, {kStr}, R::kFixed, kB, Contains);
  add("position", 2, 2, {kStr}, R::kFixed, kI, Position);
  add("split", 2, 2, {kStr}, R::kFixed, kA, Split);
  add("lpad", 2, 3, {kStr, kIntT, kStr}, R::kFixed, kS, Pad<true>);
  add("rpad", 2, 3, {kStr, kIntT, kStr}, R::kFixed, kS, Pad<false>);
  add("reverse", 1, 1, {kStr}, R::kFixed, kS, Reverse);
  // regular expressions
  add("regexp_like", 2, 2, {kStr}, R::kFixed, kB, RegexpLike).regex_arg = 1;
  add("regexp_extract", 2, 3, {kStr, kStr, kIntT}, R::kFixed, kS, RegexpExtract).regex_arg = 1;
  add("regexp_replace", 3, 3, {kStr}, R::kFixed, kS, RegexpReplace).regex_arg = 1;
  // math
  add("abs", 1, 1, {kNum}, R::kArg0, kD, Abs);
  add("round", 1, 2, {kNum, kIntT}, R::kArg0, kD, Round);
  add("floor", 1, 1, {kNum}, R::kArg0, kD, IntOrDouble<Floor>);
  add("ceil", 1, 1, {kNum}, R::kArg0, kD, IntOrDouble<Ceil>);
  add("sqrt", 1, 1, {kNum}, R::kFixed, kD, Sqrt);
  add("exp", 1, 1, {kNum}, R::kFixed, kD, Exp);
  add("ln", 1, 1, {kNum}, R::kFixed, kD, Log<Ln>);
  add("log10", 1, 1, {kNum}, R::kFixed, kD, Log<Log10>);
  add("pow", 2, 2, {kNum}, R::kFixed, kD, Pow);
  add("mod", 2, 2, {kNum}, R::kNumeric, kD, Mod);
  add("sign", 1, 1, {kNum}, R::kArg0, kD, Sign);
  add("greatest", 1, -1, {kAnyType}, R::kCommon, kD, Extreme<true>).null_in_null_out = false;
  add("least", 1, -1, {kAnyType}, R::kCommon, kD, Extreme<false>).null_in_null_out = false;
  // time
  add("now", 0, 0, {}, R::kFixed, kT, Now).pure = false;
  add("to_timestamp", 1, 1, {kTime}, R::kFixed, kT, ToTimestamp);
  add("from_unixtime", 1, 1, {kNum}, R::kFixed, kT, FromUnixtime);
  add("unix_millis", 1, 1, {kTime}, R::kFixed, kI, UnixMillis);
  add("unix_seconds", 1, 1, {kTime}, R::kFixed, kI, UnixSeconds);
  add("date_trunc", 2, 2, {kStr, kTime}, R::kFixed, kT, DateTrunc).check_constant = CheckTruncUnit;
  add("extract", 2, 2, {kStr, kTime}, R::kFixed, kI, Extract).check_constant = CheckExtractUnit;
  add("year", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kYear>);
  add("quarter", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kQuarter>);
  add("month", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kMonth>);
  add("day", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kDay>);
  add("hour", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kHour>);
  add("minute", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kMinute>);
  add("second", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kSecond>);
  add("millisecond", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kMillisecond>);
  add("day_of_week", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kDow>);
  add("day_of_year", 1, 1, {kTime}, R::kFixed, kI, ExtractFixed<Unit::kDoy>);
  add("format_timestamp", 1, 2, {kTime, kStr}, R::kFixed, kS, FormatTimestamp).check_constant =
      CheckFormat;
  // JSON and collections
  add("json_parse", 1, 1, {kStr}, R::kDynamic, kD, JsonParse);
  add("to_json", 1, 1, {kAnyType}, R::kFixed, kS, ToJson);
  add("json_extract", 2, 2, {kAnyType, kStr}, R::kDynamic, kD, JsonExtract<false>).check_constant =
      CheckJsonPath;
  add("json_value", 2, 2, {kAnyType, kStr}, R::kFixed, kS, JsonExtract<true>).check_constant =
      CheckJsonPath;
  add("array_length", 1, 1, {kArr | kObj}, R::kFixed, kI, Cardinality);
  add("element_at", 2, 2, {kArr | kObj, kIntT | kStr}, R::kDynamic, kD, ElementAt);
  // hashing and masking
  add("sha256", 1, 1, {kAnyType}, R::kFixed, kS, Sha256);
  add("md5", 1, 1, {kAnyType}, R::kFixed, kS, Md5);
  add("hash64", 1, 1, {kAnyType}, R::kFixed, kI, Hash64);
  add("mask", 1, 3, {kStr, kIntT, kStr}, R::kFixed, kS, Mask);
  add("mask_email", 1, 1, {kStr}, R::kFixed, kS, MaskEmail);
  return t;
}

constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"char_length", "length"},   {"character_length", "length"}, {"substring", "substr"},
    {"power", "pow"},            {"ceiling", "ceil"},            {"cardinality", "array_length"},
    {"current_timestamp", "now"}, {"dow", "day_of_week"},        {"doy", "day_of_year"},
    {"rlike", "regexp_like"},    {"regexp_substr", "regexp_extract"}};

}  // namespace

const FunctionSpec* FindFunction(std::string_view name) {
  static const std::vector<FunctionSpec> table = MakeTable();
  for (auto [alias, canonical] : kAliases) {
    if (name == alias) name = canonical;
  }
  for (const FunctionSpec& s : table) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::span<const std::string_view> FunctionNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const FunctionSpec& s : MakeTable()) v.push_back(s.name);
    for (auto [alias, canonical] : kAliases) v.push_back(alias);
    for (std::string_view special : {"coalesce", "if", "nullif", "ifnull", "nvl"}) v.push_back(special);
    return v;
  }();
  return names;
}

std::string DescribeTypes(uint16_t set) {
  if (set == kAnyType) return "any value";
  if (set == kTime) return "a timestamp, number or ISO-8601 string";
  std::vector<std::string_view> names;
  if ((set & kNum) == kNum) {
    names.push_back("number");
    set &= static_cast<uint16_t>(~kNum);
  }
  for (int t = 0; t < 8; ++t) {
    if (set & (1u << t)) names.push_back(model::ValueTypeName(static_cast<ValueType>(t)));
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace sluice::rules::internal
