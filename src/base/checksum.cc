#include "base/checksum.h"

#include <new>

#define XXH_STATIC_LINKING_ONLY  // the state's definition, to keep it inside Checksum
#include <xxhash.h>
#if defined(WEIR_HAVE_XXH_DISPATCH)  // see cmake/WeirDependencies.cmake
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#define WEIR_XXH3_UPDATE XXH3_64bits_update_dispatch
#define WEIR_XXH3 XXH3_64bits_dispatch
#else
#define WEIR_XXH3_UPDATE XXH3_64bits_update
#define WEIR_XXH3 XXH3_64bits
#endif

namespace weir {
namespace {

static_assert(sizeof(XXH3_state_t) == 576 && alignof(XXH3_state_t) == 64,
              "Checksum::state_ must match this xxHash's XXH3_state_t");

XXH3_state_t* State(unsigned char* s) { return std::launder(reinterpret_cast<XXH3_state_t*>(s)); }
const XXH3_state_t* State(const unsigned char* s) {
  return std::launder(reinterpret_cast<const XXH3_state_t*>(s));
}

}  // namespace

Checksum::Checksum() { XXH3_64bits_reset(new (state_) XXH3_state_t); }

void Checksum::Update(std::string_view bytes) {
  WEIR_XXH3_UPDATE(State(state_), bytes.data(), bytes.size());
}

uint64_t Checksum::Digest() const { return XXH3_64bits_digest(State(state_)); }

uint64_t Checksum::Of(std::string_view bytes) {
  return WEIR_XXH3(bytes.data(), bytes.size());
}

}  // namespace weir
