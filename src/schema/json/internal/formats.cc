// Hand-written format checkers (no regex): RFC 3339 dates and times, a practical e-mail shape,
// RFC 4122 UUID text, dotted-quad IPv4, IPv6 via inet_pton, RFC 1123 host names.
#include "schema/json/internal/formats.h"

#include <arpa/inet.h>

#include <string>

namespace sluice::schema::json::internal {

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& value) {
  if (pos + n > s.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

bool FullDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, m) || !Digits(s, 8, 2, d)) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > kDays[m - 1]) return false;
  if (m == 2 && d == 29) return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return true;
}

bool FullTime(std::string_view s) {
  int h, m, sec;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  if (!Digits(s, 0, 2, h) || !Digits(s, 3, 2, m) || !Digits(s, 6, 2, sec)) return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return true;
  if (s[i] != '+' && s[i] != '-') return false;
  int oh, om;
  if (s.size() != i + 6 || s[i + 3] != ':') return false;
  return Digits(s, i + 1, 2, oh) && Digits(s, i + 4, 2, om) && oh <= 23 && om <= 59;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool Hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    ++label;
  }
  return true;
}

bool Email(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.size() > 64) return false;
  char prev = 0;
  for (char c : local) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return Hostname(s.substr(at + 1));
}

bool Uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

bool Ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool Ipv6(std::string_view s) {
  if (s.size() > 45) return false;
  char buf[46];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

}  // namespace

Format FormatFromName(std::string_view name) {
  if (name == "date-time") return Format::kDateTime;
  if (name == "date") return Format::kDate;
  if (name == "time") return Format::kTime;
  if (name == "email") return Format::kEmail;
  if (name == "uuid") return Format::kUuid;
  if (name == "ipv4") return Format::kIpv4;
  if (name == "ipv6") return Format::kIpv6;
  if (name == "hostname") return Format::kHostname;
  return Format::kNone;
}

const char* FormatName(Format f) {
  switch (f) {
    case Format::kDateTime:
      return "date-time";
    case Format::kDate:
      return "date";
    case Format::kTime:
      return "time";
    case Format::kEmail:
      return "email";
    case Format::kUuid:
      return "uuid";
    case Format::kIpv4:
      return "ipv4";
    case Format::kIpv6:
      return "ipv6";
    case Format::kHostname:
      return "hostname";
    case Format::kNone:
      break;
  }
  return "";
}

bool CheckFormat(Format f, std::string_view s) {
  switch (f) {
    case Format::kNone:
      return true;
    case Format::kDateTime: {
      if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) return false;
      return FullDate(s.substr(0, 10)) && FullTime(s.substr(11));
    }
    case Format::kDate:
      return FullDate(s);
    case Format::kTime:
      return FullTime(s);
    case Format::kEmail:
      return Email(s);
    case Format::kUuid:
      return Uuid(s);
    case Format::kIpv4:
      return Ipv4(s);
    case Format::kIpv6:
      return Ipv6(s);
    case Format::kHostname:
      return Hostname(s);
  }
  return true;
}

}  // namespace sluice::schema::json::internal
