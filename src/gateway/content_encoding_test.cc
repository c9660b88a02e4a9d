// Unit tests of request body decompression: round trips, the decoded-size cap (zip bombs),
// corrupt and truncated data, unknown codings.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include "gateway/content_encoding.h"

namespace sluice::gateway {
namespace {

std::string Zlib(std::string_view in, bool gzip) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 15 + 16 : 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
std::string Gzip(std::string_view in) { return Zlib(in, true); }

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

TEST(ContentEncodingTest, RoundTripsGzipDeflateAndZstd) {
  std::string body = R"([{"a":1},{"b":2}])";
  EXPECT_EQ(DecodeContentEncoding("gzip", Gzip(body), 1024).value(), body);
  EXPECT_EQ(DecodeContentEncoding("X-GZIP", Gzip(body), 1024).value(), body);
  EXPECT_EQ(DecodeContentEncoding("deflate", Zlib(body, false), 1024).value(), body);
  EXPECT_EQ(DecodeContentEncoding("zstd", Zstd(body), 1024).value(), body);
  EXPECT_EQ(DecodeContentEncoding("identity", body, 1024).value(), body);
  // Codings apply in order, so they are undone in reverse.
  EXPECT_EQ(DecodeContentEncoding("gzip, zstd", Zstd(Gzip(body)), 1024).value(), body);
}

TEST(ContentEncodingTest, ConcatenatedGzipMembersAndZstdFramesDecodeWhole) {
  EXPECT_EQ(DecodeContentEncoding("gzip", Gzip("abc") + Gzip("def"), 1024).value(), "abcdef");
  EXPECT_EQ(DecodeContentEncoding("zstd", Zstd("abc") + Zstd("def"), 1024).value(), "abcdef");
}

TEST(ContentEncodingTest, BombsStopAtTheCap) {
  std::string big(50 * 1024 * 1024, 'a');  // 50 MiB of 'a' compresses to ~50 KiB
  for (auto [coding, data] : {std::pair<const char*, std::string>{"gzip", Gzip(big)},
                              {"zstd", Zstd(big)}}) {
    ASSERT_LT(data.size(), 1024u * 1024) << coding;
    auto r = DecodeContentEncoding(coding, data, 1024 * 1024);
    ASSERT_FALSE(r.ok()) << coding;
    EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted) << coding;
  }
  // Exactly at the cap is fine.
  std::string exact(4096, 'b');
  EXPECT_EQ(DecodeContentEncoding("gzip", Gzip(exact), 4096).value().size(), 4096u);
  EXPECT_EQ(DecodeContentEncoding("zstd", Zstd(exact), 4096).value().size(), 4096u);
  EXPECT_FALSE(DecodeContentEncoding("zstd", Zstd(exact), 4095).ok());
}

TEST(ContentEncodingTest, CorruptAndTruncatedDataAreInvalidArgument) {
  std::string body(1000, 'x');
  std::string gz = Gzip(body);
  std::string zs = Zstd(body);
  for (auto [coding, data] : {std::pair<const char*, std::string>{"gzip", "not gzip at all"},
                              {"gzip", gz.substr(0, gz.size() / 2)},
                              {"gzip", gz + "trailing"},
                              {"gzip", ""},
                              {"zstd", "not zstd"},
                              {"zstd", zs.substr(0, zs.size() - 3)},
                              {"zstd", ""},
                              {"deflate", "\x78\x9c garbage"}}) {
    auto r = DecodeContentEncoding(coding, data, 1 << 20);
    ASSERT_FALSE(r.ok()) << coding << " " << data.size();
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << r.status().ToString();
  }
}

TEST(ContentEncodingTest, UnknownCodingIsUnimplemented) {
  auto r = DecodeContentEncoding("br", "x", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("'br'"), std::string::npos);
}

TEST(ContentEncodingTest, RequestHelperReplacesBodyAndAnswers415) {
  HttpRequest req;
  req.headers = {{"content-encoding", "gzip"}};
  req.body = Gzip("{}");
  EXPECT_FALSE(DecodeRequestBody(req, 100).has_value());
  EXPECT_EQ(req.body, "{}");
  EXPECT_TRUE(req.Header("content-encoding").empty());
  req.headers = {{"content-encoding", "compress"}};
  auto bad = DecodeRequestBody(req, 100);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 415);
}

}  // namespace
}  // namespace sluice::gateway
