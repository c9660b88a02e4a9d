// SchemaIdTally: wire-format detection and counting per schema id.
#include "gateway/schema_id_tally.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sluice::gateway {
namespace {

std::string Wire(uint32_t id, std::string_view body = "x") {
  std::string s(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((id >> shift) & 0xff));
  s.append(body);
  return s;
}

std::map<int32_t, uint64_t> Counts(const SchemaIdTally& t) {
  std::map<int32_t, uint64_t> out;
  t.ForEach([&](int32_t id, uint64_t n) { out[id] += n; });
  return out;
}

TEST(SchemaIdTallyTest, OnlyWireFormatValuesAreCounted) {
  EXPECT_EQ(SchemaIdTally::WireFormatId(Wire(0x01020304)), 0x01020304);
  EXPECT_EQ(SchemaIdTally::WireFormatId(Wire(7, "")), 7);
  EXPECT_FALSE(SchemaIdTally::WireFormatId(Wire(0)).has_value());
  EXPECT_FALSE(SchemaIdTally::WireFormatId(Wire(0x80000000)).has_value());
  EXPECT_FALSE(SchemaIdTally::WireFormatId(std::string("\0\0\0", 3)).has_value());
  EXPECT_FALSE(SchemaIdTally::WireFormatId(R"({"a":1})").has_value());
  EXPECT_FALSE(SchemaIdTally::WireFormatId("").has_value());
  SchemaIdTally t;
  t.Add(std::nullopt);
  t.Add(std::string_view("plain text"));
  EXPECT_TRUE(t.empty());
}

TEST(SchemaIdTallyTest, CountsPerIdBeyondTheInlineEntries) {
  SchemaIdTally t;
  std::map<int32_t, uint64_t> want;
  for (int round = 0; round < 3; ++round) {
    for (uint32_t id = 1; id <= SchemaIdTally::kInline + 4; ++id) {
      std::string v = Wire(id);
      t.Add(std::string_view(v));
      ++want[static_cast<int32_t>(id)];
    }
  }
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(Counts(t), want);
}

}  // namespace
}  // namespace sluice::gateway
