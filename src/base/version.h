// The version of this build, as `sluice --version` prints it and `sluice_build_info` exposes
// it. Keep equal to the VERSION in the top-level CMakeLists.txt's project().
#pragma once

namespace sluice {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace sluice
