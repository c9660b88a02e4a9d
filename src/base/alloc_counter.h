// Heap-allocation counting for tests (link sluice_alloc_counter): while g_counting is set, every
// operator new on this thread adds one to g_allocations. Off under AddressSanitizer, which brings
// its own operator new (g_counting_available is false there: skip the test).
#pragma once

#include <cstddef>

extern thread_local bool g_counting;
extern thread_local size_t g_allocations;
extern bool g_counting_available;
