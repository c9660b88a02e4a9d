// Checks for the "format" values the validator enforces (date-time, date, time, email, uuid,
// ipv4, ipv6, hostname); other formats are annotations only.
#pragma once

#include <string_view>

namespace sluice::schema::json::internal {

enum class Format { kNone, kDateTime, kDate, kTime, kEmail, kUuid, kIpv4, kIpv6, kHostname };

Format FormatFromName(std::string_view name);
const char* FormatName(Format f);
bool CheckFormat(Format f, std::string_view s);

}  // namespace sluice::schema::json::internal
