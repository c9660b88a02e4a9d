// SLUICE_CHECK: abort with a message when an invariant is broken. Not for input validation.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace sluice::internal {
[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond,
                                     const std::string& msg) {
  std::fprintf(stderr, "SLUICE_CHECK failed at %s:%d: %s: %s\n", file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace sluice::internal

#define SLUICE_CHECK(cond, ...)                                                         \
  do {                                                                                  \
    if (!(cond)) [[unlikely]] {                                                         \
      ::sluice::internal::CheckFailed(__FILE__, __LINE__, #cond,                        \
                                      ::fmt::format("" __VA_ARGS__));                   \
    }                                                                                   \
  } while (0)

#ifdef NDEBUG
#define SLUICE_DCHECK(cond, ...) \
  do {                           \
  } while (0)
#else
#define SLUICE_DCHECK(cond, ...) SLUICE_CHECK(cond, __VA_ARGS__)
#endif
