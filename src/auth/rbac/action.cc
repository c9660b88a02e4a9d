// Names of RBAC actions.
#include "auth/rbac/action.h"

namespace sluice::auth_rbac {

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kProduce: return "produce";
    case Action::kConsume: return "consume";
    case Action::kAdmin: return "admin";
    case Action::kSchemaRead: return "schema-read";
    case Action::kSchemaWrite: return "schema-write";
  }
  return "unknown";
}

std::optional<Action> ParseAction(std::string_view name) {
  if (name == "produce") return Action::kProduce;
  if (name == "consume") return Action::kConsume;
  if (name == "admin") return Action::kAdmin;
  if (name == "schema-read" || name == "schema_read") return Action::kSchemaRead;
  if (name == "schema-write" || name == "schema_write") return Action::kSchemaWrite;
  return std::nullopt;
}

}  // namespace sluice::auth_rbac
