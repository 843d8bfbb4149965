// Host memory for tables and optimizer state: 64-byte aligned, and 2 MiB aligned with
// MADV_HUGEPAGE for large buffers (random row gathers measured 2-2.5x faster with huge pages).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tsrec {

/** An owned, aligned, uninitialised block of floats (the owner fills it, in parallel). Shared so JS views can outlive
 * the owner. */
class HostBuffer {
 public:
  /** Allocates `count` floats; returns null when the allocation fails. */
  static std::shared_ptr<HostBuffer> Allocate(int64_t count);
  ~HostBuffer();
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return count_; }
  size_t bytes() const { return static_cast<size_t>(count_) * sizeof(float); }
  /** True when the kernel was asked to back this buffer with transparent huge pages. */
  bool huge_pages() const { return huge_; }
  /**
   * True when [p, p + bytes) lies inside one live huge-page HostBuffer (e.g. a tensor the tsrec
   * backend allocated with allocFloat32): kernels that would copy random-access inputs into
   * huge-page scratch for the TLB can read such memory in place.
   */
  static bool InHugePages(const void* p, size_t bytes);

 private:
  HostBuffer() = default;
  float* data_ = nullptr;
  int64_t count_ = 0;
  bool huge_ = false;
};

}  // namespace tsrec
