// Request body decompression for the produce routes (`Content-Encoding: gzip | zstd | deflate`),
// with a hard cap on the decoded size so a small compressed body (a "zip bomb") cannot make the
// server allocate more than the request-size limit.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "gateway/http.h"

namespace sluice::gateway {

// Decodes `body` as described by a Content-Encoding header value: a comma-separated list of
// codings applied in order (so decoded in reverse); "identity" and an empty value leave the body
// as is. gzip (also "x-gzip", several concatenated members allowed), deflate (zlib format, as
// RFC 9110 defines it) and zstd (several frames allowed).
// Errors: kUnimplemented (a coding we do not know: HTTP 415), kResourceExhausted (the decoded
// body would exceed max_decoded_bytes: 413; decoding stops at the cap), kInvalidArgument
// (corrupt or truncated data: 400).
Result<std::string> DecodeContentEncoding(std::string_view content_encoding,
                                          std::string_view body, size_t max_decoded_bytes);

// The shared step of every produce route: decodes req.body in place per its Content-Encoding
// header and drops the header. Errors as DecodeContentEncoding (kUnimplemented means 415).
Status DecodeRequestBodyInPlace(HttpRequest& req, size_t max_decoded_bytes);
// As above, with the error as Sluice's error response (415 / 413 / 400), or nullopt.
std::optional<HttpResponse> DecodeRequestBody(HttpRequest& req, size_t max_decoded_bytes);

}  // namespace sluice::gateway
