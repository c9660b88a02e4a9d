// Standard base64 (RFC 4648 §4, '+' and '/') as the REST Proxy and CloudEvents `data_base64` use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::gateway::internal {

// Decodes standard base64; padding is optional, whitespace and other characters are refused.
// nullopt when `in` is not base64 (bad character, impossible length, bits after the end).
std::optional<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

}  // namespace sluice::gateway::internal
