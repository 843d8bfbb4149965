#include "tsrec/host_buffer.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tsrec {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;

// Live huge-page buffers: start address -> end address.
std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
std::map<uintptr_t, uintptr_t>& registry() {
  static auto* r = new std::map<uintptr_t, uintptr_t>();  // never destroyed: buffers may outlive statics
  return *r;
}
}  // namespace

bool HostBuffer::InHugePages(const void* p, size_t bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lk(registry_mu());
  auto& r = registry();
  auto it = r.upper_bound(a);
  if (it == r.begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->second;
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
  if (b->huge_) {
    std::lock_guard<std::mutex> lk(registry_mu());
    registry()[reinterpret_cast<uintptr_t>(p)] = reinterpret_cast<uintptr_t>(p) + bytes;
  }
  return b;
}

HostBuffer::~HostBuffer() {
  if (huge_) {
    std::lock_guard<std::mutex> lk(registry_mu());
    registry().erase(reinterpret_cast<uintptr_t>(data_));
  }
  std::free(data_);
}

}  // namespace tsrec
