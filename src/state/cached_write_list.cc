#include "state/cached_write_list.h"

#include "state/key_order.h"

namespace weir {

void CachedWriteList::Add(std::string_view key, bool present, std::string_view value) {
  // RocksDB's keys and values are below 4 GiB: its write batches hold 32-bit sizes.
  const Header h{static_cast<uint32_t>(key.size()),
                 present ? static_cast<uint32_t>(value.size()) : kAbsent};
  offsets_.push_back(bytes_.size());
  bytes_.append(reinterpret_cast<const char*>(&h), sizeof h);
  bytes_.append(key.data(), key.size());
  if (present) bytes_.append(value.data(), value.size());
}

void CachedWriteList::SortByKey() {
  const std::vector<uint32_t> order = OrderByKey(
      size(), [](size_t) { return 0; }, [this](size_t i) { return (*this)[i].key; });
  std::vector<size_t> sorted(order.size());
  for (size_t i = 0; i < order.size(); ++i) sorted[i] = offsets_[order[i]];
  offsets_.swap(sorted);
}

}  // namespace weir
