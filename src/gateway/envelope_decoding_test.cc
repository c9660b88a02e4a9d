// Unit tests of the pure produce-body decoders: CloudEvents modes, REST Proxy v2 and v3 bodies.
#include <gtest/gtest.h>

#include "codec/json_parser.h"
#include "gateway/envelope_decoding.h"
#include "gateway/internal/base64.h"

namespace sluice::gateway {
namespace {

std::optional<std::string> HeaderOf(const PublishEvent& e, std::string_view name) {
  for (const auto& h : e.record.headers) {
    if (h.key == name) return h.value.value_or("<null>");
  }
  return std::nullopt;
}

class EnvelopeDecodingTest : public ::testing::Test {
 protected:
  Status Ce(CloudEventsMode mode, std::string_view ct, const HeaderList& headers,
            std::string_view body) {
    events_.clear();
    return DecodeCloudEvents(mode, ct, headers, body, limits_, parser_, events_);
  }
  codec::JsonParser parser_;
  DecodeLimits limits_{1024, 10};
  std::vector<PublishEvent> events_;
};

TEST_F(EnvelopeDecodingTest, DetectsCloudEventsModesByContentTypeAndHeaders) {
  EXPECT_EQ(DetectCloudEventsMode("application/cloudevents+json", {}),
            CloudEventsMode::kStructured);
  EXPECT_EQ(DetectCloudEventsMode("application/cloudevents-batch+json", {}),
            CloudEventsMode::kBatch);
  EXPECT_EQ(DetectCloudEventsMode("application/json", {{"ce-specversion", "1.0"}}),
            CloudEventsMode::kBinary);
  EXPECT_EQ(DetectCloudEventsMode("application/json", {{"x-other", "1"}}), CloudEventsMode::kNone);
}

TEST_F(EnvelopeDecodingTest, BinaryModeMapsHeadersKeyAndTrace) {
  HeaderList h = {{"ce-specversion", "1.0"},  {"ce-id", "42"},
                  {"ce-source", "/orders"},   {"ce-type", "order.created"},
                  {"ce-partitionkey", "cust-7"}, {"ce-traceparent", "00-abc-def-01"},
                  {"ce-subject", "hello%20world"}};
  ASSERT_TRUE(Ce(CloudEventsMode::kBinary, "text/plain", h, "payload bytes").ok());
  ASSERT_EQ(events_.size(), 1u);
  const auto& e = events_[0];
  EXPECT_EQ(e.record.value, "payload bytes");
  EXPECT_EQ(e.record.key, "cust-7");
  EXPECT_EQ(HeaderOf(e, "ce_id"), "42");
  EXPECT_EQ(HeaderOf(e, "ce_specversion"), "1.0");
  EXPECT_EQ(HeaderOf(e, "ce_subject"), "hello world");
  EXPECT_EQ(HeaderOf(e, "traceparent"), "00-abc-def-01");
  EXPECT_EQ(HeaderOf(e, "content-type"), "text/plain");
  EXPECT_FALSE(HeaderOf(e, "ce_partitionkey").has_value());
}

TEST_F(EnvelopeDecodingTest, MissingAttributesAndWrongSpecversionAreNamed) {
  HeaderList h = {{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-type", "t"}};
  Status st = Ce(CloudEventsMode::kBinary, "", h, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing required attribute 'source'"), std::string::npos)
      << st.message();
  st = Ce(CloudEventsMode::kStructured, "",
          {}, R"({"specversion":"0.3","id":"1","source":"s","type":"t"})");
  EXPECT_NE(st.message().find("unsupported specversion '0.3'"), std::string::npos)
      << st.message();
  st = Ce(CloudEventsMode::kBatch, "", {},
          R"([{"specversion":"1.0","id":"1","source":"s","type":"t"},
              {"specversion":"1.0","id":"2","source":"s"}])");
  EXPECT_NE(st.message().find("event 1: missing required attribute 'type'"), std::string::npos)
      << st.message();
  st = Ce(CloudEventsMode::kStructured, "", {},
          R"({"specversion":"1.0","id":"1","source":"s","type":"t","Bad-Name":"x"})");
  EXPECT_NE(st.message().find("'Bad-Name' is invalid"), std::string::npos) << st.message();
  st = Ce(CloudEventsMode::kStructured, "", {},
          R"({"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"})");
  EXPECT_NE(st.message().find("RFC 3339"), std::string::npos) << st.message();
}

TEST_F(EnvelopeDecodingTest, StructuredModeStoresDataByContentType) {
  ASSERT_TRUE(Ce(CloudEventsMode::kStructured, "", {},
                 R"({"specversion":"1.0","id":"1","source":"s","type":"t",
                     "datacontenttype":"application/json","data":{"a": [1, 2]},
                     "sequence":7,"flag":true})")
                  .ok());
  EXPECT_EQ(events_[0].record.value, R"({"a":[1,2]})");
  EXPECT_EQ(HeaderOf(events_[0], "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(events_[0], "ce_sequence"), "7");
  EXPECT_EQ(HeaderOf(events_[0], "ce_flag"), "true");
  ASSERT_TRUE(Ce(CloudEventsMode::kStructured, "", {},
                 R"({"specversion":"1.0","id":"1","source":"s","type":"t",
                     "datacontenttype":"text/plain","data":"plain text"})")
                  .ok());
  EXPECT_EQ(events_[0].record.value, "plain text");
  ASSERT_TRUE(Ce(CloudEventsMode::kStructured, "", {},
                 R"({"specversion":"1.0","id":"1","source":"s","type":"t",
                     "data_base64":"AAEC"})")
                  .ok());
  EXPECT_EQ(events_[0].record.value, std::string("\0\1\2", 3));
  EXPECT_FALSE(Ce(CloudEventsMode::kStructured, "", {},
                  R"({"specversion":"1.0","id":"1","source":"s","type":"t",
                      "data":1,"data_base64":"AA=="})")
                   .ok());
  ASSERT_TRUE(Ce(CloudEventsMode::kBatch, "", {}, "[]").ok());
  EXPECT_TRUE(events_.empty());
}

TEST_F(EnvelopeDecodingTest, RestProxyV2BinaryHasPerRecordBase64Errors) {
  auto r = DecodeRestProxyV2(R"({"records":[{"key":"a2V5","value":"dmFsdWU="},
                                             {"value":"not base64!"},
                                             {"value":"dg==","partition":2}]})",
                             EmbeddedFormat::kBinary, limits_, parser_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->records.size(), 3u);
  EXPECT_TRUE(r->records[0].error.ok());
  EXPECT_EQ(r->records[0].event.record.key, "key");
  EXPECT_EQ(r->records[0].event.record.value, "value");
  EXPECT_NE(r->records[1].error.message().find("record 1: 'value' is not valid base64"),
            std::string::npos);
  EXPECT_EQ(r->records[2].event.partition, 2);
  EXPECT_FALSE(DecodeRestProxyV2("{}", EmbeddedFormat::kJson, limits_, parser_).ok());
  EXPECT_FALSE(DecodeRestProxyV2(R"({"records":[{"value":1}],"value_schema_id":3})",
                                 EmbeddedFormat::kJson, limits_, parser_)
                   .ok());
  auto j = DecodeRestProxyV2(R"({"records":[{"key":"k","value":{"x": 1}}],"value_schema_id":3})",
                             EmbeddedFormat::kJsonSchema, limits_, parser_);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->value_schema_id, 3);
  EXPECT_EQ(j->records[0].event.record.key, "\"k\"");
  EXPECT_EQ(j->records[0].event.record.value, R"({"x":1})");
  EXPECT_EQ(ParseV2MediaType("application/vnd.kafka.jsonschema.v2+json"),
            EmbeddedFormat::kJsonSchema);
  EXPECT_FALSE(ParseV2MediaType("application/vnd.kafka.v2+json").has_value());
}

TEST_F(EnvelopeDecodingTest, RestProxyV3SplitsConcatenatedRecords) {
  auto r = DecodeRestProxyV3(
      R"({"value":{"type":"JSON","data":{"a":"}{"}}}
         {"key":{"type":"STRING","data":"k"},"value":{"type":"BINARY","data":"!!"}}
         {"partition_id":1,"headers":[{"name":"h","value":"aGk="}],
          "value":{"type":"STRING","data":"s"},"timestamp":"2024-01-02T03:04:05.678Z"}
         {"value": )",
      limits_, parser_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_TRUE((*r)[0].error.ok());
  EXPECT_EQ((*r)[0].event.record.value, R"({"a":"}{"})");
  EXPECT_NE((*r)[1].error.message().find("not valid base64"), std::string::npos);
  EXPECT_TRUE((*r)[2].error.ok()) << (*r)[2].error.ToString();
  EXPECT_EQ((*r)[2].event.partition, 1);
  EXPECT_EQ((*r)[2].event.record.timestamp, 1704164645678);
  EXPECT_EQ((*r)[2].event.record.headers.at(0).value, "hi");
  EXPECT_NE((*r)[3].error.message().find("not closed"), std::string::npos);
  EXPECT_FALSE(DecodeRestProxyV3("  ", limits_, parser_).ok());
}

TEST(Base64Test, DecodesStandardAlphabetAndRejectsGarbage) {
  EXPECT_EQ(internal::Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(internal::Base64Decode("aGVsbG8"), "hello");
  EXPECT_EQ(internal::Base64Decode(""), "");
  EXPECT_FALSE(internal::Base64Decode("aGVsbG8-").has_value());
  EXPECT_FALSE(internal::Base64Decode("a").has_value());
  EXPECT_EQ(internal::Base64Encode("hello"), "aGVsbG8=");
}

TEST(Rfc3339Test, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339Millis("1970-01-01T01:00:00.5+01:00"), 500);
  EXPECT_FALSE(ParseRfc3339Millis("1970-01-01 00:00:00").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("1970-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("2026-04-31T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("2026-02-29T00:00:00Z").has_value());
  EXPECT_EQ(ParseRfc3339Millis("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(ParseRfc3339Millis("2000-02-29T00:00:00.25Z"), 951782400250);
  EXPECT_FALSE(ParseRfc3339Millis("1900-02-29T00:00:00Z").has_value());
}

TEST(Rfc3339Test, ParseTimeMillisTakesMillisOrADateTime) {
  EXPECT_EQ(ParseTimeMillis("1700000000124"), 1700000000124);
  EXPECT_EQ(ParseTimeMillis("0"), 0);
  EXPECT_EQ(ParseTimeMillis("2023-11-14T22:13:20.124Z"), 1700000000124);
  EXPECT_EQ(ParseTimeMillis("2023-11-14T23:13:20.124+01:00"), 1700000000124);
  EXPECT_EQ(ParseTimeMillis("2023-11-14T23:13:20.124 01:00"), 1700000000124);  // a decoded '+'
  for (const char* bad : {"", "-1", "10x", "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
                          "99999999999999999999", "yesterday"}) {
    EXPECT_FALSE(ParseTimeMillis(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sluice::gateway
