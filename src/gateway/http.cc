// HttpRequest/HttpResponse helpers and percent-coding.
#include "gateway/http.h"

#include <cctype>

#include "codec/json_writer.h"

namespace sluice::gateway {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::string_view();
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string HttpRequest::MediaType() const {
  std::string scratch;
  return std::string(MediaType(scratch));
}

std::string_view HttpRequest::MediaType(std::string& scratch) const {
  std::string_view ct = Header("content-type");
  auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  bool lower = true;
  for (char c : ct) lower = lower && !(c >= 'A' && c <= 'Z');
  if (lower) return ct;
  scratch.assign(ct);
  for (auto& c : scratch) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scratch;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(const Status& status) {
  HttpResponse r =
      Error(ErrorCodeToHttp(status.code()), ErrorCodeName(status.code()), status.message());
  // 503 means "try again shortly" (starting, stopping, store busy): say when.
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse HttpResponse::Error(int http_status, std::string_view error_code,
                                 std::string_view message) {
  codec::JsonWriter w;
  w.BeginObject().Field("error_code", error_code).Field("message", message).EndObject();
  return Json(http_status, w.Take());
}

Result<std::string> PercentDecode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return InvalidArgument("malformed percent-escape in '{}'", s);
      }
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("malformed percent-escape in '{}'", s);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace sluice::gateway
