// CompiledValidator: a JSON Schema compiled into flat checker nodes, run over simdjson's DOM.
#pragma once

#include <memory>

#include "base/status.h"
#include "schema/json/internal/schema_set.h"
#include "schema/schema.h"

namespace sluice::schema::json::internal {

// Compiles the root schema of `set` (every keyword of every draft's common vocabulary; see
// README for the gaps). The validator copies what it needs; `set` may go away afterwards.
Result<std::unique_ptr<Validator>> CompileValidator(const SchemaSet& set);

}  // namespace sluice::schema::json::internal
