// The stream processor's logger.
#pragma once

#include "base/logging.h"

namespace sluice::stream {

inline spdlog::logger& Log() {
  static auto& l = logging::Get("stream");
  return l;
}

}  // namespace sluice::stream
