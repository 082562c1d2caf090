#include "base/random.h"

#include <random>

namespace weir {

std::string RandomHex(size_t chars) {
  static thread_local std::mt19937_64 rng{(uint64_t{std::random_device{}()} << 32) ^
                                          std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(chars);
  for (size_t i = 0; i < chars; ++i) s.push_back(kHex[rng() % 16]);
  return s;
}

}  // namespace weir
