// Fuzz target for the expression language (rules/expression.h): compiles arbitrary text and, when
// it compiles, evaluates it over a fixed event (with a clone too). Checks, beyond "no crash and no
// stack overflow": a compile error is kInvalidArgument with a "line:col: " prefix (or the length
// limit), and evaluation errors leave a NULL value.
// Built as a libFuzzer target with clang (-DSLUICE_FUZZ=ON), and as a replay/mutation driver
// with GCC (fuzz_main.cc) that ctest runs.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/value_json.h"
#include "rules/expression.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "expression_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;  // NOLINT
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = rules::Expression::Compile(text);
  if (!compiled.ok()) {
    Require(compiled.status().code() == ErrorCode::kInvalidArgument, "compile error code");
    const std::string& m = compiled.status().message();
    Require(m.find(": ") != std::string::npos, "compile error without position");
    return 0;
  }
  static model::Arena row_arena;
  static model::Value row = [] {
    codec::ValueJsonDecoder decoder;
    return *decoder.Decode(
        R"({"a":1,"b":2.5,"s":"hello","n":null,"t":true,"arr":[1,"x",{"y":2}],)"
        R"("obj":{"k":"v"},"ts":"2024-05-01T12:34:56.789Z"})",
        row_arena);
  }();
  model::Arena arena(4096);
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<rules::Expression> clone = (*compiled)->Clone();
    rules::Expression& e = round == 0 ? **compiled : *clone;
    rules::EvalContext ctx;
    ctx.arena = &arena;
    ctx.now_ms = 1714566896789;
    model::Value v = e.Evaluate(row, ctx);
    if (!(ctx.error.empty() || v.is_null())) {
      std::fprintf(stderr, "input: %.*s\nerror: %s\n", static_cast<int>(text.size()), text.data(),
                   ctx.error.c_str());
      Require(false, "error with a non-NULL value");
    }
    ctx.error.clear();
    (void)e.Test(row, ctx);
    std::string json = codec::ValueToJson(v);
    (void)json;
  }
  return 0;
}
