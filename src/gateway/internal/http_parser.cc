#include "gateway/internal/http_parser.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace sluice::gateway::internal {

namespace {

// tchar of RFC 9110 §5.6.2.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated, trimmed, non-empty element of a list header.
template <typename Fn>
void ForEachListElement(std::string_view value, Fn&& fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = TrimOws(value.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

ParseResult Fail(ParseError& error, int status, std::string message) {
  error.status = status;
  error.message = std::move(message);
  return ParseResult::kError;
}

// Printable form of a short piece of hostile input for an error message.
std::string Quote(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > 40) out += "...";
  return out;
}

ParseResult ParseRequestLine(std::string_view line, RequestHead& head, ParseError& error) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return Fail(error, 400, fmt::format("malformed request line '{}'", Quote(line)));
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return Fail(error, 400, fmt::format("malformed request line '{}'", Quote(line)));
  }
  head.method = line.substr(0, sp1);
  head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(head.method)) {
    return Fail(error, 400, fmt::format("invalid method '{}'", Quote(head.method)));
  }
  if (head.target.empty()) return Fail(error, 400, "empty request target");
  for (unsigned char c : head.target) {
    if (c <= 0x20 || c == 0x7f) {
      return Fail(error, 400, fmt::format("invalid character in request target '{}'",
                                          Quote(head.target)));
    }
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Fail(error, 400, fmt::format("malformed HTTP version '{}'", Quote(version)));
  }
  // Absolute-form ("http://host:port/path?q", RFC 9112 §3.2.2), which a server must accept
  // although clients send it only to proxies: the request is for the path and query; the
  // authority, like Host, plays no part in routing here.
  if (head.target.front() != '/') {
    size_t colon = head.target.find("://");
    std::string_view scheme = head.target.substr(0, colon);
    if (colon != std::string_view::npos && (IEquals(scheme, "http") || IEquals(scheme, "https"))) {
      std::string_view rest = head.target.substr(colon + 3);
      head.target = rest.substr(std::min(rest.find_first_of("/?"), rest.size()));
    }
  }
  if (version == "HTTP/1.1") {
    head.version = 11;
  } else if (version == "HTTP/1.0") {
    head.version = 10;
  } else {
    return Fail(error, 505, fmt::format("HTTP version {} is not supported; use HTTP/1.1",
                                        Quote(version)));
  }
  return ParseResult::kDone;
}

// Interprets the headers the framing depends on.
ParseResult ApplyHeader(std::string_view name, std::string_view value, RequestHead& head,
                        bool& has_transfer_encoding, bool& connection_close,
                        bool& connection_keep_alive, ParseError& error) {
  if (IEquals(name, "content-length")) {
    if (value.empty() || value.size() > 19) {
      return Fail(error, 400, fmt::format("invalid Content-Length '{}'", Quote(value)));
    }
    uint64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') {
        return Fail(error, 400, fmt::format("invalid Content-Length '{}'", Quote(value)));
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (head.has_content_length && head.content_length != n) {
      return Fail(error, 400, "conflicting Content-Length headers");
    }
    head.has_content_length = true;
    head.content_length = n;
  } else if (IEquals(name, "transfer-encoding")) {
    // Only `chunked` is supported, and it must be the only (and so the final) coding.
    bool other = false;
    int chunked = 0;
    ForEachListElement(value, [&](std::string_view item) {
      if (IEquals(item, "chunked")) {
        ++chunked;
      } else {
        other = true;
      }
    });
    if (other || chunked != 1 || has_transfer_encoding) {
      return Fail(error, 501,
                  fmt::format("unsupported Transfer-Encoding '{}'; only 'chunked' is supported",
                              Quote(value)));
    }
    has_transfer_encoding = true;
    head.chunked = true;
  } else if (IEquals(name, "connection")) {
    ForEachListElement(value, [&](std::string_view item) {
      if (IEquals(item, "close")) connection_close = true;
      if (IEquals(item, "keep-alive")) connection_keep_alive = true;
    });
  } else if (IEquals(name, "expect")) {
    if (!IEquals(value, "100-continue")) {
      return Fail(error, 417, fmt::format("unsupported expectation '{}'", Quote(value)));
    }
    head.expect_continue = true;
  }
  return ParseResult::kDone;
}

}  // namespace

ParseResult ParseRequestHead(std::string_view in, size_t max_bytes, size_t& scanned,
                             RequestHead& head, ParseError& error) {
  // Empty lines before the request line are ignored (RFC 9112 §2.2).
  size_t start = 0;
  while (in.size() - start >= 2 && in[start] == '\r' && in[start + 1] == '\n') start += 2;
  if (start > 0 && scanned < start) scanned = start;
  size_t from = scanned > 3 ? scanned - 3 : start;
  if (from < start) from = start;
  size_t end = in.find("\r\n\r\n", from);
  if (end == std::string_view::npos) {
    scanned = in.size();
    if (in.size() >= max_bytes) {
      return Fail(error, 431, fmt::format("request head larger than {} bytes", max_bytes));
    }
    return ParseResult::kNeedMore;
  }
  head.size = end + 4;
  if (head.size > max_bytes) {
    return Fail(error, 431, fmt::format("request head larger than {} bytes", max_bytes));
  }
  std::string_view text = in.substr(start, end + 2 - start);  // every line ends with CRLF

  head.headers.clear();
  head.has_content_length = false;
  head.content_length = 0;
  head.chunked = false;
  head.expect_continue = false;

  size_t eol = text.find("\r\n");
  if (ParseRequestLine(text.substr(0, eol), head, error) != ParseResult::kDone) {
    return ParseResult::kError;
  }
  text.remove_prefix(eol + 2);
  bool has_transfer_encoding = false, connection_close = false, connection_keep_alive = false;
  int hosts = 0;
  while (!text.empty()) {
    eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 2);
    if (line.front() == ' ' || line.front() == '\t') {
      return Fail(error, 400, "obsolete line folding in a header is not allowed");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Fail(error, 400, fmt::format("malformed header line '{}'", Quote(line)));
    }
    std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      return Fail(error, 400, fmt::format("invalid header name '{}'", Quote(name)));
    }
    std::string_view value = TrimOws(line.substr(colon + 1));
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return Fail(error, 400, fmt::format("invalid character in header '{}'", Quote(name)));
      }
    }
    if (ApplyHeader(name, value, head, has_transfer_encoding, connection_close,
                    connection_keep_alive, error) != ParseResult::kDone) {
      return ParseResult::kError;
    }
    if (IEquals(name, "host")) ++hosts;
    head.headers.emplace_back(name, value);
  }
  if (head.chunked && head.has_content_length) {
    return Fail(error, 400, "both Transfer-Encoding and Content-Length present");
  }
  if (head.chunked && head.version == 10) {
    return Fail(error, 400, "Transfer-Encoding is not allowed in HTTP/1.0");
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any with two, is 400 (HTTP/1.0
  // predates Host and may omit it).
  if (hosts > 1) return Fail(error, 400, "more than one Host header");
  if (hosts == 0 && head.version == 11) {
    return Fail(error, 400, "an HTTP/1.1 request needs a Host header");
  }
  head.keep_alive = head.version == 11 ? !connection_close
                                       : (connection_keep_alive && !connection_close);
  return ParseResult::kDone;
}

ParseResult ChunkedDecoder::Feed(std::string_view in, std::string& body, size_t& consumed,
                                 ParseError& error) {
  size_t pos = 0;
  consumed = 0;
  while (state_ != State::kDone) {
    switch (state_) {
      case State::kSize: {
        size_t eol = in.find("\r\n", pos);
        if (eol == std::string_view::npos) {
          if (in.size() - pos > max_line_) return Fail(error, 400, "chunk size line too long");
          consumed = pos;
          return ParseResult::kNeedMore;
        }
        std::string_view line = in.substr(pos, eol - pos);
        if (line.size() > max_line_) return Fail(error, 400, "chunk size line too long");
        size_t digits = 0;
        uint64_t size = 0;
        while (digits < line.size()) {
          char c = Lower(line[digits]);
          int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
          if (v < 0) break;
          if (digits == 15) return Fail(error, 400, "chunk size too large");
          size = size * 16 + static_cast<uint64_t>(v);
          ++digits;
        }
        std::string_view rest = line.substr(digits);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
          rest.remove_prefix(1);
        }
        if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
          return Fail(error, 400, fmt::format("malformed chunk size '{}'", Quote(line)));
        }
        if (body.size() + size > max_body_) {
          return Fail(error, 413,
                      fmt::format("request body exceeds the limit of {} bytes", max_body_));
        }
        pos = eol + 2;
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        size_t n = std::min<uint64_t>(remaining_, in.size() - pos);
        body.append(in.data() + pos, n);
        pos += n;
        remaining_ -= n;
        if (remaining_ > 0) {
          consumed = pos;
          return ParseResult::kNeedMore;
        }
        state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        if (in.size() - pos < 2) {
          consumed = pos;
          return ParseResult::kNeedMore;
        }
        if (in[pos] != '\r' || in[pos + 1] != '\n') {
          return Fail(error, 400, "chunk data not followed by CRLF");
        }
        pos += 2;
        state_ = State::kSize;
        break;
      }
      case State::kTrailer: {
        size_t eol = in.find("\r\n", pos);
        if (eol == std::string_view::npos) {
          if (trailer_bytes_ + (in.size() - pos) > max_line_) {
            return Fail(error, 400, "chunked trailer too long");
          }
          consumed = pos;
          return ParseResult::kNeedMore;
        }
        trailer_bytes_ += eol + 2 - pos;
        if (trailer_bytes_ > max_line_) return Fail(error, 400, "chunked trailer too long");
        bool blank = eol == pos;
        pos = eol + 2;
        if (blank) state_ = State::kDone;
        break;
      }
      case State::kDone:
        break;
    }
  }
  consumed = pos;
  return ParseResult::kDone;
}

}  // namespace sluice::gateway::internal
