// Message indexes: the wire encoding and the index path <-> message mapping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/varint.h"
#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MessageIndexesTest, ShortAndLongFormsOfFirstMessage) {
  auto a = DecodeMessageIndexes(std::string("\x00rest", 5));
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->indexes, ElementsAre(0));
  EXPECT_EQ(a->size, 1u);
  auto b = DecodeMessageIndexes(std::string("\x02\x00rest", 6));
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(b->indexes, ElementsAre(0));
  EXPECT_EQ(b->size, 2u);
}

TEST(MessageIndexesTest, EncodesLikeConfluent) {
  std::string out;
  AppendMessageIndexes(std::vector<int32_t>{0}, out);
  EXPECT_EQ(out, std::string("\x00", 1));
  out.clear();
  AppendMessageIndexes(std::vector<int32_t>{}, out);
  EXPECT_EQ(out, std::string("\x00", 1));
  out.clear();
  AppendMessageIndexes(std::vector<int32_t>{1}, out);
  EXPECT_EQ(out, "\x02\x02");
  out.clear();
  AppendMessageIndexes(std::vector<int32_t>{0, 2}, out);
  EXPECT_EQ(out, std::string("\x04\x00\x04", 3));
  out.clear();
  AppendMessageIndexes(std::vector<int32_t>{3, 200}, out);
  auto back = DecodeMessageIndexes(out + "payload");
  ASSERT_TRUE(back.ok());
  EXPECT_THAT(back->indexes, ElementsAre(3, 200));
  EXPECT_EQ(back->size, out.size());
}

TEST(MessageIndexesTest, RejectsMalformedLists) {
  EXPECT_FALSE(DecodeMessageIndexes("").ok());
  EXPECT_FALSE(DecodeMessageIndexes("\x01").ok());          // count -1
  EXPECT_FALSE(DecodeMessageIndexes("\x04\x02").ok());      // two announced, one present
  EXPECT_FALSE(DecodeMessageIndexes("\x02\x01").ok());      // index -1
  EXPECT_FALSE(DecodeMessageIndexes("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").ok());
  std::string many;
  varint::AppendSigned(many, 65);
  many.append(65, '\0');
  auto r = DecodeMessageIndexes(many);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("count 65"));
}

TEST(MessageIndexesTest, PathsSkipMapEntriesAndMapBothWays) {
  auto parsed = Parse(R"(syntax = "proto3";
package p;
message A {
  map<string, int32> counts = 1;
  message B { message C {} }
  message D {}
}
enum E { X = 0; }
message F {}
)", {});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const auto& schema = static_cast<const ProtobufSchema&>(**parsed);
  const auto& file = *schema.file();
  auto check = [&](std::vector<int32_t> path, const char* name) {
    auto d = FindMessageByIndexes(file, path);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ((*d)->full_name(), name);
    EXPECT_EQ(MessageIndexesOf(**d), path);
  };
  check({0}, "p.A");
  check({1}, "p.F");
  check({0, 0}, "p.A.B");  // CountsEntry does not take index 0
  check({0, 1}, "p.A.D");
  check({0, 0, 0}, "p.A.B.C");
  auto first = FindMessageByIndexes(file, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->full_name(), "p.A");
  auto bad = FindMessageByIndexes(file, std::vector<int32_t>{2});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("index 2"));
  bad = FindMessageByIndexes(file, std::vector<int32_t>{0, 2});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'p.A' has no nested message at index 2"));
}

}  // namespace
}  // namespace sluice::schema::protobuf
