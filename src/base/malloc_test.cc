// The allocator weir's programs and tests are linked with (WEIR_MALLOC, cmake/WeirHelpers.cmake):
// with mimalloc, malloc and operator new of this process must really come from it, or the
// measurements in BENCH.md would describe another allocator than the one the programs run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#ifdef WEIR_MALLOC_MIMALLOC
#include <mimalloc.h>
#endif

namespace weir {
namespace {

TEST(MallocTest, MallocAndNewComeFromTheConfiguredAllocator) {
#ifdef WEIR_MALLOC_MIMALLOC
  void* block = std::malloc(100);
  auto text = std::make_unique<std::string>(200, 'x');  // operator new, then the string's buffer
  EXPECT_TRUE(mi_is_in_heap_region(block));
  EXPECT_TRUE(mi_is_in_heap_region(text.get()));
  EXPECT_TRUE(mi_is_in_heap_region(text->data()));
  std::free(block);
#else
  GTEST_SKIP() << "WEIR_MALLOC=system: the C library's malloc";
#endif
}

}  // namespace
}  // namespace weir
