// HugePageAllocator: an allocator for large, randomly accessed arrays (hash table slots, the
// write cache's entries, a snapshot's copies read in key order).
//
// Arrays of 2 MiB and more are aligned to 2 MiB and their whole 2 MiB pieces advised to use
// transparent huge pages: a random probe into a 16 MiB table then misses the TLB far less,
// which matters most in a virtual machine, where a TLB miss walks two page tables. Smaller
// arrays use plain new.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace weir {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly

  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    void* p = nullptr;
    if (posix_memalign(&p, kHugePage, bytes) != 0) throw std::bad_alloc();
    // Advice only: without THP the array still works. The whole huge pages only: a tail
    // rounded up to one would take 2 MiB for what may be a few bytes.
    madvise(p, bytes & ~(kHugePage - 1), MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(p);
    } else {
      std::free(p);
    }
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace weir
