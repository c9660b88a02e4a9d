// Action: what a principal wants to do to a resource (produce, consume, admin, schema access),
// with the stable names used in policy files and error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::auth_rbac {

enum class Action : uint8_t {
  kProduce = 0,
  kConsume,
  kAdmin,
  kSchemaRead,
  kSchemaWrite,
};
inline constexpr int kActionCount = 5;

// Config/message name: "produce", "consume", "admin", "schema-read", "schema-write".
std::string_view ActionName(Action action);

// Parses an action name; accepts "schema-read" and "schema_read" (same for schema-write).
// Returns nullopt for anything else.
std::optional<Action> ParseAction(std::string_view name);

// Bit for `action` in an action set (rules keep their actions as a bitmask).
constexpr uint32_t ActionBit(Action action) { return 1u << static_cast<uint32_t>(action); }

}  // namespace sluice::auth_rbac
