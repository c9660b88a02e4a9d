// Fuzz target for the HTTP/1.1 request parser (gateway/internal/http_parser.h): the request
// head, and a chunked body after it. Checks, beyond "no crash": every view of a parsed head lies
// inside the input; a head parsed from the whole input parses the same from every byte-by-byte
// prefix (NeedMore until complete); a chunked body decodes to the same bytes in one piece or
// split anywhere, and never beyond its limit.
// Built as a libFuzzer target with clang (-DSLUICE_FUZZ=ON), and as a replay/mutation driver
// with GCC (fuzz_main.cc) that ctest runs.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/internal/http_parser.h"

namespace {

using sluice::gateway::internal::ChunkedDecoder;
using sluice::gateway::internal::ParseError;
using sluice::gateway::internal::ParseRequestHead;
using sluice::gateway::internal::ParseResult;
using sluice::gateway::internal::RequestHead;

void Require(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string_view in(input);
  constexpr size_t kMaxHead = 4096;
  RequestHead head;
  ParseError err;
  size_t scanned = 0;
  const ParseResult r = ParseRequestHead(in, kMaxHead, scanned, head, err);
  if (r == ParseResult::kError) {
    Require(err.status >= 400 && err.status <= 505, "error status in range");
    Require(!err.message.empty(), "error has a message");
    return 0;
  }
  if (r == ParseResult::kNeedMore) {
    Require(in.size() < kMaxHead, "need-more only under the head limit");
    return 0;
  }
  Require(head.size <= in.size() && head.size <= kMaxHead, "head size within input and limit");
  Require(!head.method.empty() && !head.target.empty(), "method and target present");
  Require(Inside(head.method, in) && Inside(head.target, in), "views inside input");
  for (const auto& [name, value] : head.headers) {
    Require(Inside(name, in) && Inside(value, in), "header views inside input");
  }
  Require(!(head.chunked && head.has_content_length), "never both framings");

  // Incremental: every shorter prefix is NeedMore (or the same error the full text would give
  // is impossible here since the full text parsed), and the scan position carries over.
  if (in.size() < 2048) {
    size_t scan = 0;
    RequestHead h2;
    ParseError e2;
    for (size_t n = 0; n < head.size; ++n) {
      ParseResult pr = ParseRequestHead(in.substr(0, n), kMaxHead, scan, h2, e2);
      Require(pr != ParseResult::kDone, "a prefix never completes early");
      if (pr == ParseResult::kError) return 0;  // a prefix may already be malformed
    }
    Require(ParseRequestHead(in.substr(0, head.size), kMaxHead, scan, h2, e2) ==
                ParseResult::kDone,
            "the exact head completes incrementally");
    Require(h2.size == head.size && h2.method == head.method && h2.target == head.target,
            "incremental parse agrees");
  }

  if (head.chunked) {
    constexpr uint64_t kMaxBody = 1 << 16;
    const std::string_view rest = in.substr(head.size);
    ChunkedDecoder whole(kMaxBody);
    std::string body;
    size_t used = 0;
    ParseResult br = whole.Feed(rest, body, used, err);
    Require(body.size() <= kMaxBody, "body within its limit");
    Require(used <= rest.size(), "consumed within input");
    if (br == ParseResult::kDone) {
      // The same body split in two at every point decodes identically.
      for (size_t split = 0; split <= used && split < 512; ++split) {
        ChunkedDecoder d(kMaxBody);
        std::string b2;
        size_t u = 0;
        std::string pending(rest.substr(0, split));
        ParseResult p = d.Feed(pending, b2, u, err);
        Require(p != ParseResult::kError, "a prefix of a valid body is not an error");
        if (p == ParseResult::kNeedMore) {
          pending = pending.substr(u) + std::string(rest.substr(split, used - split));
          p = d.Feed(pending, b2, u, err);
        }
        Require(p == ParseResult::kDone && b2 == body, "split decoding agrees");
      }
    }
  }
  return 0;
}
