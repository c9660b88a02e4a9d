// Content-Encoding decoding with a decoded-size cap. See content_encoding.h.
#include "gateway/content_encoding.h"

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

namespace sluice::gateway {

namespace {

constexpr size_t kOutStep = 64 * 1024;

Status TooLarge(std::string_view coding, size_t max) {
  return ResourceExhausted("the {}-decoded request body exceeds the request size limit of {} bytes",
                           coding, max);
}

// Makes room for at least one more step of output without passing max + 1 bytes (one byte over
// the cap is how a too-large result is noticed).
bool Grow(std::string& out, size_t used, size_t max) {
  size_t want = std::min(used + kOutStep, max + 1);
  if (want <= used) return false;
  out.resize(want);
  return true;
}

// gzip (window bits 15 + 16) or zlib (15) streams; gzip may hold several members.
Result<std::string> Inflate(std::string_view in, size_t max, bool gzip) {
  const char* name = gzip ? "gzip" : "deflate";
  z_stream zs{};
  if (inflateInit2(&zs, gzip ? 15 + 16 : 15) != Z_OK) return Internal("zlib init failed");
  std::unique_ptr<z_stream, void (*)(z_stream*)> guard(&zs, [](z_stream* z) { inflateEnd(z); });
  std::string out;
  size_t used = 0;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  if (in.size() > UINT32_MAX) return InvalidArgument("{} body too large", name);
  for (;;) {
    if (used == out.size() && !Grow(out, used, max)) return TooLarge(name, max);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(out.size() - used);
    int rc = inflate(&zs, Z_NO_FLUSH);
    used = out.size() - zs.avail_out;
    if (used > max) return TooLarge(name, max);
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (RFC 1952 allows concatenation).
      if (gzip && zs.avail_in > 0) {
        if (inflateReset(&zs) != Z_OK) return Internal("zlib reset failed");
        continue;
      }
      if (zs.avail_in > 0) return InvalidArgument("{} data followed by {} stray bytes", name,
                                                  zs.avail_in);
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      return InvalidArgument("{} data is truncated", name);
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return InvalidArgument("corrupt {} data: {}", name, zs.msg != nullptr ? zs.msg : "error");
    }
  }
  out.resize(used);
  return out;
}

Result<std::string> Unzstd(std::string_view in, size_t max) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return Internal("zstd init failed");
  // A frame may ask for a huge window; refuse more than the cap needs (and at most 128 MiB).
  size_t window_log = 10;
  while (window_log < 27 && (size_t{1} << window_log) < max) ++window_log;
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, static_cast<int>(window_log));
  std::string out;
  size_t used = 0;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t ret = 1;  // 0 once the last frame seen is complete
  while (ib.pos < ib.size || ret != 0) {
    if (used == out.size() && !Grow(out, used, max)) return TooLarge("zstd", max);
    ZSTD_outBuffer ob{out.data(), out.size(), used};
    ret = ZSTD_decompressStream(ctx.get(), &ob, &ib);
    used = ob.pos;
    if (ZSTD_isError(ret)) {
      // A window larger than the cap only serves output larger than the cap.
      if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge) {
        return TooLarge("zstd", max);
      }
      return InvalidArgument("corrupt zstd data: {}", ZSTD_getErrorName(ret));
    }
    if (used > max) return TooLarge("zstd", max);
    // No input left, room left for output, and the frame still unfinished: truncated.
    if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size) {
      return InvalidArgument("zstd data is truncated");
    }
  }
  out.resize(used);
  return out;
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

Result<std::string> DecodeContentEncoding(std::string_view content_encoding,
                                          std::string_view body, size_t max_decoded_bytes) {
  std::vector<std::string> codings;
  size_t start = 0;
  while (start <= content_encoding.size()) {
    size_t comma = content_encoding.find(',', start);
    std::string_view c = content_encoding.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!c.empty() && (c.front() == ' ' || c.front() == '\t')) c.remove_prefix(1);
    while (!c.empty() && (c.back() == ' ' || c.back() == '\t')) c.remove_suffix(1);
    std::string lc = Lower(c);
    if (!lc.empty() && lc != "identity") codings.push_back(std::move(lc));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (const auto& c : codings) {
    if (c != "gzip" && c != "x-gzip" && c != "deflate" && c != "zstd") {
      return Unimplemented("unsupported Content-Encoding '{}'; send gzip, zstd, deflate or identity",
                           c);
    }
  }
  std::string cur(body);
  if (codings.empty() && cur.size() > max_decoded_bytes) return TooLarge("identity", max_decoded_bytes);
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    Result<std::string> r;
    if (*it == "zstd") {
      r = Unzstd(cur, max_decoded_bytes);
    } else {
      r = Inflate(cur, max_decoded_bytes, *it != "deflate");
    }
    if (!r.ok()) return r.status();
    cur = std::move(r).value();
  }
  return cur;
}

Status DecodeRequestBodyInPlace(HttpRequest& req, size_t max_decoded_bytes) {
  std::string_view ce = req.Header("content-encoding");
  if (ce.empty()) return Status::Ok();
  auto decoded = DecodeContentEncoding(ce, req.body, max_decoded_bytes);
  if (!decoded.ok()) return decoded.status();
  req.body = std::move(decoded).value();
  std::erase_if(req.headers, [](const auto& h) { return h.first == "content-encoding"; });
  return Status::Ok();
}

std::optional<HttpResponse> DecodeRequestBody(HttpRequest& req, size_t max_decoded_bytes) {
  Status st = DecodeRequestBodyInPlace(req, max_decoded_bytes);
  if (st.ok()) return std::nullopt;
  if (st.code() == ErrorCode::kUnimplemented) {
    return HttpResponse::Error(415, "unsupported_media_type", st.message());
  }
  return HttpResponse::Error(st);
}

}  // namespace sluice::gateway
