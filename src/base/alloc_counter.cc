// Replaces the global operator new/delete in the tests that link sluice_alloc_counter, to count
// this thread's heap allocations while g_counting is set (kept in its own file so the
// replacements are not inlined). Declarations: base/alloc_counter.h.
#include "base/alloc_counter.h"

#include <cstdlib>
#include <new>

thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer brings its own operator new/delete; replacing them here would mix the two.
bool g_counting_available = false;
#else
bool g_counting_available = true;
void* operator new(size_t size) {
  if (g_counting) ++g_allocations;
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#endif  // __SANITIZE_ADDRESS__
