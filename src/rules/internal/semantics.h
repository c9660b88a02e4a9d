// Value semantics shared by operators, casts and functions: comparison, arithmetic, conversions
// to text, and UTC calendar arithmetic on millisecond timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/value.h"
#include "rules/expression.h"

namespace sluice::rules::internal {

using model::Value;
using model::ValueType;

// Bit for a type in a set of accepted types.
constexpr uint16_t Bit(ValueType t) { return static_cast<uint16_t>(1u << static_cast<int>(t)); }

// Records the first run-time error in ctx and returns NULL.
Value Fail(EvalContext& ctx, std::string_view message);

// Outcome of comparing two non-NULL values.
enum class Cmp : int8_t { kLess = -1, kEqual = 0, kGreater = 1, kUnequal = 2, kIncomparable = 3 };
// Numbers compare by value (int with double too); strings bytewise; booleans false < true;
// timestamps with timestamps, with numbers (as milliseconds) and with ISO-8601 strings (parsed);
// arrays and objects only for (in)equality (kEqual or kUnequal). Other pairs: kIncomparable.
Cmp CompareValues(const Value& a, const Value& b);
// Whether values of the two static types can be compared (ordering when `ordered`).
bool Comparable(ValueType a, ValueType b, bool ordered);
// SQL "=": NULL when either side is NULL; sets an error for incomparable types.
Value EqualsSql(const Value& a, const Value& b, EvalContext& ctx);

// a op b for op in + - * / %; NULL in -> NULL out. Errors: integer overflow, division by zero,
// unsupported operand types.
Value Arith(char op, const Value& a, const Value& b, EvalContext& ctx);
// Static result type of `a op b`, or kNull with *error set when the types cannot be combined.
// `unknown` types are passed as kNull and give kNull without error.
ValueType ArithType(char op, ValueType a, ValueType b, bool a_known, bool b_known, std::string* error);

// Text form used by CAST(x AS STRING), || and concat(): integers in decimal, doubles shortest
// round-trip with ".0" when integral, booleans true/false, timestamps ISO-8601 UTC with
// milliseconds, arrays and objects as JSON. Appends to `out`.
void AppendText(std::string& out, const Value& v);
// A string Value in ctx.arena (an error when ctx has no arena).
Value MakeString(EvalContext& ctx, std::string_view s);

// CAST. On failure returns false and sets *error (the value is not converted).
bool CastValue(const Value& v, ValueType target, EvalContext& ctx, Value* out, std::string* error);

// --- time (UTC, proleptic Gregorian) ---
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);
// Floor division helpers for negative timestamps.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }
// ISO-8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|+HH:MM|-HH:MM|+HHMM]; no zone means UTC.
bool ParseTimestamp(std::string_view s, int64_t* ms);
// "YYYY-MM-DDTHH:MM:SS.sssZ".
void AppendIsoTimestamp(std::string& out, int64_t ms);
// A timestamp from a timestamp, integer/double milliseconds or an ISO-8601 string.
bool ToMillis(const Value& v, int64_t* ms);

// Number of UTF-8 characters (bytes that are not continuation bytes).
size_t Utf8Length(std::string_view s);
// Byte offset of character `n` (clamped to s.size()).
size_t Utf8Offset(std::string_view s, size_t n);

}  // namespace sluice::rules::internal
