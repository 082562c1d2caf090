#include "state/snapshot_buffers.h"

#include <algorithm>
#include <utility>

namespace weir {
namespace {

// Buffers this small are kept whatever they held.
constexpr size_t kSmallBytes = size_t{1} << 20;

bool WorthKeeping(size_t held, size_t filled) {
  return held <= 4 * std::max(filled, kSmallBytes);
}

}  // namespace

CachedWriteList SnapshotBuffers::TakeList(size_t column, size_t writes) {
  CachedWriteList list;
  size_t bytes_per_copy;
  {
    std::lock_guard lock(mu_);
    if (columns_.size() <= column) columns_.resize(column + 1);
    Column& c = columns_[column];
    list = std::exchange(c.list, {});
    bytes_per_copy = c.bytes_per_copy;
  }
  list.Reserve(writes, writes * bytes_per_copy);
  return list;
}

KeyOrderScratch SnapshotBuffers::TakeSortScratch() {
  std::lock_guard lock(mu_);
  return std::exchange(scratch_, {});
}

void SnapshotBuffers::Give(size_t column, CachedWriteList list) {
  const size_t copies = list.size();
  const size_t copy_bytes = list.CopyBytes();
  const bool keep =
      list.capacity() > 0 && WorthKeeping(list.HeldBytes(), list.FilledBytes());
  if (keep) list.Clear();
  std::lock_guard lock(mu_);
  if (column >= columns_.size()) return;  // not one TakeList handed out
  Column& c = columns_[column];
  if (copies > 0) c.bytes_per_copy = (copy_bytes + copies - 1) / copies;
  // Of two snapshots written at a time, the larger list stays.
  if (keep && list.capacity() > c.list.capacity()) std::swap(c.list, list);
}  // what is not kept is freed with the parameter, outside the lock

void SnapshotBuffers::Give(CachedWrites lists) {
  for (size_t c = 0; c < lists.size(); ++c) Give(c, std::move(lists[c]));
}

void SnapshotBuffers::Give(KeyOrderScratch scratch, size_t largest) {
  // Positions and their buckets (or packed keys, smaller), and the order.
  const size_t filled = largest * (2 * sizeof(key_order_detail::Position) + sizeof(uint32_t));
  if (!WorthKeeping(scratch.HeldBytes(), filled)) return;
  std::lock_guard lock(mu_);
  if (scratch.HeldBytes() > scratch_.HeldBytes()) std::swap(scratch_, scratch);
}

size_t SnapshotBuffers::HeldBytes() const {
  std::lock_guard lock(mu_);
  size_t bytes = scratch_.HeldBytes();
  for (const Column& c : columns_) bytes += c.list.capacity() > 0 ? c.list.HeldBytes() : 0;
  return bytes;
}

}  // namespace weir
