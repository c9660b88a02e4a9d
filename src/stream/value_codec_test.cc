#include "stream/value_codec.h"

#include <gtest/gtest.h>

#include "codec/value_json.h"

namespace sluice::stream {
namespace {

TEST(ValueCodecTest, RoundTripsEveryType) {
  model::Arena arena;
  codec::ValueJsonDecoder d;
  auto v = d.Decode(R"({"a":[1,2.5,"x",null,true,false],"b":{"c":{}},"":-7})", arena);
  ASSERT_TRUE(v.ok());
  std::string bytes;
  EncodeValue(*v, bytes);
  EncodeValue(model::Value::Timestamp(42), bytes);
  std::string_view in = bytes;
  auto back = DecodeValue(in, arena);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(codec::ValueToJson(*back), codec::ValueToJson(*v));
  auto ts = DecodeValue(in, arena);
  ASSERT_TRUE(ts.ok());
  EXPECT_TRUE(ts->is_timestamp());
  EXPECT_TRUE(in.empty());
}

TEST(ValueCodecTest, EqualNumbersEncodeAlike) {
  std::string a, b;
  EncodeValue(model::Value::Int(3), a);
  EncodeValue(model::Value::Double(3.0), b);
  EXPECT_EQ(a, b);
}

TEST(ValueCodecTest, TruncatedOrGarbageInputIsAnError) {
  model::Arena arena;
  std::string bytes;
  model::Value items[] = {model::Value::String("hello"), model::Value::Int(1)};
  EncodeValue(model::Value::Array(items), bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string_view in(bytes.data(), n);
    EXPECT_FALSE(DecodeValue(in, arena).ok()) << n;
  }
  std::string_view junk = "\xff\x01\x02";
  EXPECT_FALSE(DecodeValue(junk, arena).ok());
  std::string huge = "a\xff\xff\xff\xff\x0f";  // an array claiming 4 billion items
  std::string_view h = huge;
  EXPECT_FALSE(DecodeValue(h, arena).ok());
}

}  // namespace
}  // namespace sluice::stream
