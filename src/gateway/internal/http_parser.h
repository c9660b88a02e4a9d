// A small, strict HTTP/1.1 request parser (RFC 9112) for the server's hot path: the request head
// is parsed in place from the connection's read buffer (no allocation; header views point into
// the buffer), and chunked bodies are decoded incrementally. Strict where leniency enables request
// smuggling: CRLF line endings only, no whitespace before a header's colon, no obs-fold, a
// Content-Length that is digits only and agrees with every repetition, Transfer-Encoding and
// Content-Length together refused, Transfer-Encoding other than `chunked` refused, exactly one
// Host required in HTTP/1.1 (at most one in HTTP/1.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::gateway::internal {

enum class ParseResult { kDone, kNeedMore, kError };

// What to answer when parsing fails: an HTTP status (400, 413, 417, 431, 501, 505) and a message
// for the JSON error body.
struct ParseError {
  int status = 400;
  std::string message;
};

struct RequestHead {
  std::string_view method;
  // As sent, except that an absolute-form target ("http://host/p?q") is reduced to the part
  // after the authority ("/p?q"); that part is empty or starts with '?' when the path is empty,
  // which means "/" (the caller adds it: a view cannot).
  std::string_view target;
  unsigned version = 11;  // 10 or 11
  // Names as sent (not lower-cased), values without surrounding whitespace; views into the input.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;  // from the version and the Connection header
  bool expect_continue = false;
  size_t size = 0;  // bytes of the head, including the blank line that ends it
};

// Parses one request head from the start of `in`. `scanned` carries how far an earlier call got
// looking for the end of the head (start at 0 for each new request; the parser updates it), so
// a head arriving a byte at a time costs linear time. kNeedMore: no complete head yet (and it is
// still under `max_bytes`). On kDone every view in `head` points into `in`.
ParseResult ParseRequestHead(std::string_view in, size_t max_bytes, size_t& scanned,
                             RequestHead& head, ParseError& error);

// Decodes a chunked body incrementally (chunk extensions skipped, trailers read and dropped).
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(uint64_t max_body_bytes, size_t max_line_bytes = 4096)
      : max_body_(max_body_bytes), max_line_(max_line_bytes) {}

  // Consumes what it can of `in`, appending chunk data to `body`; `consumed` gets the bytes used.
  // kDone once the last chunk and trailers are read (bytes after them are the next request's);
  // kNeedMore when `in` ends first; kError for malformed framing (400) or a body over the limit
  // (413).
  ParseResult Feed(std::string_view in, std::string& body, size_t& consumed, ParseError& error);

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;  // bytes left in the current chunk
  uint64_t max_body_;
  size_t max_line_;
  size_t trailer_bytes_ = 0;
};

}  // namespace sluice::gateway::internal
