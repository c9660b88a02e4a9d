#include "codec/value_json.h"

#include <gtest/gtest.h>

namespace sluice::codec {
namespace {

TEST(ValueJsonTest, DecodesTypesAndWritesThemBack) {
  model::Arena arena;
  ValueJsonDecoder decoder;
  auto v = decoder.Decode(
      R"({"a":1,"b":-2.5,"c":"x\"y","d":[true,null,{"e":18446744073709551615}],"f":{}})", arena);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->Find("a")->is_int());
  EXPECT_TRUE(v->Find("b")->is_double());
  EXPECT_EQ(v->Find("c")->string_value(), "x\"y");
  EXPECT_TRUE(v->Find("d")->items()[2].Find("e")->is_double());
  EXPECT_EQ(ValueToJson(*v),
            R"({"a":1,"b":-2.5,"c":"x\"y","d":[true,null,{"e":1.8446744073709552e+19}],"f":{}})");
}

TEST(ValueJsonTest, ValuesOutliveTheDecodersNextCall) {
  model::Arena arena;
  ValueJsonDecoder decoder;
  auto first = decoder.Decode(R"({"name":"first"})", arena);
  auto second = decoder.Decode(R"({"name":"second, longer"})", arena);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->Find("name")->string_value(), "first");
}

TEST(ValueJsonTest, RejectsBadJsonWithAReason) {
  model::Arena arena;
  ValueJsonDecoder decoder;
  auto v = decoder.Decode(R"({"a":)", arena);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("invalid JSON"), std::string::npos);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(decoder.Decode(deep, arena).ok());
}

}  // namespace
}  // namespace sluice::codec
