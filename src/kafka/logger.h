// The kafka component's logger.
#pragma once

#include "base/logging.h"

namespace sluice::kafka {

inline spdlog::logger& Log() {
  static auto& l = logging::Get("kafka");
  return l;
}

}  // namespace sluice::kafka
