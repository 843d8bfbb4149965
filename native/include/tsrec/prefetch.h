// Software prefetch that survives optimisation. GCC 12 at -O3 dropped every __builtin_prefetch
// of the TBE backward's row prefetcher (0 prefetch instructions in the object, 56 at -O0; see
// native/bench/NOTES.md), so on x86-64 the instructions are issued with inline asm.
#pragma once
#include <cstdint>

namespace tsrec {

/** Prefetch the cache line holding p for reading (into all cache levels). */
inline void prefetch_read(const void* p) {
#if defined(__x86_64__) && defined(__GNUC__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

/** Prefetch the cache line holding p with intent to write (PREFETCHW where the CPU has it). */
inline void prefetch_write(const void* p) {
#if defined(__x86_64__) && defined(__GNUC__) && defined(__PRFCHW__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  prefetch_read(p);
#endif
}

/** Prefetch the `bytes` bytes starting at p: every 64-byte line they touch (p need not be aligned). */
inline void prefetch_span_read(const void* p, int bytes) {
  const char* c = static_cast<const char*>(p);
  const char* last = c + bytes - 1;
  for (; c <= last; c += 64) prefetch_read(c);
  if (bytes > 0 && ((reinterpret_cast<uintptr_t>(c - 64) ^ reinterpret_cast<uintptr_t>(last)) >> 6) != 0)
    prefetch_read(last);
}
inline void prefetch_span_write(const void* p, int bytes) {
  const char* c = static_cast<const char*>(p);
  const char* last = c + bytes - 1;
  for (; c <= last; c += 64) prefetch_write(c);
  if (bytes > 0 && ((reinterpret_cast<uintptr_t>(c - 64) ^ reinterpret_cast<uintptr_t>(last)) >> 6) != 0)
    prefetch_write(last);
}

}  // namespace tsrec
