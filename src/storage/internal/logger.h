// The embedded store's logger ("storage" component). Not `Log()`: storage::Log is the log
// interface.
#pragma once

#include "base/logging.h"

namespace sluice::storage::internal {

inline spdlog::logger& Logger() {
  static auto& l = logging::Get("storage");
  return l;
}

}  // namespace sluice::storage::internal
