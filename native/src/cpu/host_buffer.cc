#include "tsrec/host_buffer.h"

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tsrec {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

std::shared_ptr<HostBuffer> HostBuffer::Allocate(int64_t count) {
  std::shared_ptr<HostBuffer> b(new HostBuffer());
  if (count <= 0) return b;
  size_t bytes = static_cast<size_t>(count) * sizeof(float);
  const bool huge = bytes >= kHugePage;
  size_t align = huge ? kHugePage : 64;
  size_t padded = (bytes + align - 1) / align * align;
  void* p = nullptr;
  if (posix_memalign(&p, align, padded) != 0 || !p) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice must come before the first touch so the pages are faulted in as huge pages.
  if (huge) b->huge_ = madvise(p, padded, MADV_HUGEPAGE) == 0;
#endif
  b->data_ = static_cast<float*>(p);
  b->count_ = count;
  return b;
}

HostBuffer::~HostBuffer() { std::free(data_); }

}  // namespace tsrec
