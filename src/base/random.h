// Random names: job ids, savepoint and staging file names, backend instance ids.
//
// Not for anything security-relevant; only unlikely to repeat across processes and runs.
// Thread-safe (each thread has its own generator, seeded from std::random_device).
#pragma once

#include <cstddef>
#include <string>

namespace weir {

// `chars` random lowercase hex digits.
std::string RandomHex(size_t chars);

}  // namespace weir
