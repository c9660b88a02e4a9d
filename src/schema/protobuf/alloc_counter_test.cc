// Replaces the global operator new for the test binary to count heap allocations (kept in its
// own file so GCC does not inline the pair into callers and warn about mismatched frees).
#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer brings its own operator new/delete; replacing them here would mix the two.
long AllocationCount() { return -1; }
#else
long AllocationCount() { return g_allocations.load(std::memory_order_relaxed); }

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif  // __SANITIZE_ADDRESS__
