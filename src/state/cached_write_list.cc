#include "state/cached_write_list.h"

#include <bit>

namespace weir {

// packed() hands out the in-memory headers as the file format's little-endian ones.
static_assert(std::endian::native == std::endian::little);

void CachedWriteList::Add(std::string_view key, bool present, std::string_view value) {
  // RocksDB's keys and values are below 4 GiB: its write batches hold 32-bit sizes.
  const Header h{static_cast<uint32_t>(key.size()),
                 present ? static_cast<uint32_t>(value.size()) : kAbsent};
  offsets_.push_back(bytes_.size());
  bytes_.append(reinterpret_cast<const char*>(&h), sizeof h);
  bytes_.append(key.data(), key.size());
  if (present) bytes_.append(value.data(), value.size());
}

void CachedWriteList::Clear() {
  bytes_.clear();
  offsets_.clear();
}

void CachedWriteList::SortByKey(KeyOrderScratch& scratch) {
  SortKeys(
      size(), [](size_t) { return 0; }, [this](size_t i) { return (*this)[i].key; }, scratch);
  spare_offsets_.clear();
  spare_offsets_.reserve(size());
  // In key order, the offsets are read at random: fetched a few ahead.
  constexpr size_t kAhead = 16;
  const std::vector<uint32_t>& order = scratch.order;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + kAhead < order.size()) PrefetchLine(&offsets_[order[i + kAhead]]);
    spare_offsets_.push_back(offsets_[order[i]]);
  }
  offsets_.swap(spare_offsets_);
}

Result<CachedWriteList> CachedWriteList::FromPacked(std::string_view bytes, size_t start) {
  CachedWriteList list;
  size_t at = start;
  while (at < bytes.size()) {
    Header h;
    if (bytes.size() - at < sizeof h) {
      return Status::Corruption("a cached write's header at byte " + std::to_string(at) +
                                " runs past the end (" + std::to_string(bytes.size()) + " bytes)");
    }
    std::memcpy(&h, bytes.data() + at, sizeof h);
    const uint64_t size = uint64_t{h.key_size} + (h.value_size == kAbsent ? 0 : h.value_size);
    if (bytes.size() - at - sizeof h < size) {
      return Status::Corruption("the cached write at byte " + std::to_string(at) + " has " +
                                std::to_string(size) + " bytes of key and value, past the end (" +
                                std::to_string(bytes.size()) + " bytes)");
    }
    list.offsets_.push_back(at);
    at += sizeof h + size;
  }
  list.bytes_.assign(bytes.data(), bytes.size());  // a copy onto huge pages
  return list;
}

}  // namespace weir
