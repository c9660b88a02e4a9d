// `sluice apikey create`: generates an API key locally (no server involved). The key is printed
// once; only its SHA-256 goes into the auth policy file.
#include <fmt/format.h>

#include "app/commands.h"
#include "auth/rbac/api_key_store.h"

namespace sluice::app {

namespace {
constexpr const char* kApiKeyUsage =
    "sluice apikey create PRINCIPAL [--id ID]\n"
    "  prints a new API key for PRINCIPAL (once) and the policy entry holding its SHA-256\n"
    "  --id ID   the key's id in the policy (default PRINCIPAL-<8 hex digits of the hash>)";
}

int RunApiKey(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      fmt::print("usage: {}\n", kApiKeyUsage);
      return 0;
    }
  }
  if (args.empty() || args[0] != "create") {
    fmt::print(stderr, "usage: {}\n", kApiKeyUsage);
    return 2;
  }
  std::string principal, id;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--id" && i + 1 < args.size()) {
      id = args[++i];
    } else if (args[i].starts_with("--")) {
      fmt::print(stderr, "sluice: unknown flag {}\nusage: {}\n", args[i], kApiKeyUsage);
      return 2;
    } else if (principal.empty()) {
      principal = args[i];
    } else {
      fmt::print(stderr, "sluice: unexpected argument {}\nusage: {}\n", args[i], kApiKeyUsage);
      return 2;
    }
  }
  if (principal.empty()) {
    fmt::print(stderr, "sluice: PRINCIPAL is required\nusage: {}\n", kApiKeyUsage);
    return 2;
  }
  auto key = auth_rbac::GenerateApiKey();
  if (!key.ok()) {
    fmt::print(stderr, "sluice: {}\n", key.status().message());
    return 1;
  }
  if (id.empty()) id = principal + "-" + key->stored_hash.substr(7, 8);
  fmt::print(
      "API key (shown once, give it to {0}): {1}\n"
      "Add to the api_keys list of the auth policy file:\n"
      "  - id: {2}\n"
      "    principal: {0}\n"
      "    hash: \"{3}\"\n",
      principal, key->key, id, key->stored_hash);
  return 0;
}

}  // namespace sluice::app
