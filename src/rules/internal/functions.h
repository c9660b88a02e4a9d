// The built-in function table: names, argument counts and types, result types and the
// implementations. Documented one by one in docs/expressions.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "codec/value_json.h"
#include "rules/internal/semantics.h"

namespace sluice::rules::internal {

// Sets of accepted argument types.
inline constexpr uint16_t kAnyType = 0xFF;
inline constexpr uint16_t kStr = Bit(ValueType::kString);
inline constexpr uint16_t kNum = Bit(ValueType::kInt) | Bit(ValueType::kDouble);
inline constexpr uint16_t kIntT = Bit(ValueType::kInt);
inline constexpr uint16_t kBoolT = Bit(ValueType::kBool);
// Anything that converts to a timestamp: timestamps, millisecond numbers, ISO-8601 strings.
inline constexpr uint16_t kTime = Bit(ValueType::kTimestamp) | kNum | kStr;
inline constexpr uint16_t kArr = Bit(ValueType::kArray);
inline constexpr uint16_t kObj = Bit(ValueType::kObject);

enum class ResultRule : uint8_t {
  kFixed,    // `result`
  kArg0,     // the type of the first argument
  kNumeric,  // integer when all arguments are integers, double when one is a double
  kCommon,   // the common type of all arguments when they agree
  kDynamic,  // unknown until run time
};

// Per-call-site state: compiled regex (constant or last dynamic pattern), JSON decoder, scratch.
struct CallState {
  const RE2* regex = nullptr;            // set when the pattern argument is a constant
  std::unique_ptr<RE2> owned_regex;      // the constant pattern, or the cached dynamic one
  std::string regex_source;              // source of owned_regex when dynamic
  std::unique_ptr<codec::ValueJsonDecoder> json;
  std::string scratch;
  // The regex for pattern `p`: the constant one, or a cached compile of `p`. nullptr with an
  // error in ctx when `p` does not compile.
  const RE2* Regex(const Value& p, EvalContext& ctx);
};

using FunctionImpl = Value (*)(const Value* args, int n, CallState& st, EvalContext& ctx);

struct FunctionSpec {
  std::string_view name;
  int min_args = 0;
  int max_args = 0;  // -1: any number
  // Accepted types per argument; the last entry repeats for further arguments.
  std::vector<uint16_t> arg_types;
  ResultRule rule = ResultRule::kFixed;
  ValueType result = ValueType::kNull;
  FunctionImpl impl = nullptr;
  bool null_in_null_out = true;  // a NULL argument gives NULL without calling impl
  bool pure = true;              // constant arguments may be folded at compile time
  int regex_arg = -1;            // argument index holding an RE2 pattern
  // Checks a constant argument at compile time; returns an error message or "".
  std::string (*check_constant)(int index, const Value& v) = nullptr;

  uint16_t ArgTypes(int i) const {
    return arg_types.empty() ? kAnyType : arg_types[std::min<size_t>(i, arg_types.size() - 1)];
  }
};

// The spec for a case-insensitive name or alias (lower-cased by the parser); nullptr if none.
const FunctionSpec* FindFunction(std::string_view lower_name);
// Every canonical name and alias, for "did you mean" hints.
std::span<const std::string_view> FunctionNames();
// "argument N must be string or integer, got double" helper text for a set of types.
std::string DescribeTypes(uint16_t set);

}  // namespace sluice::rules::internal
