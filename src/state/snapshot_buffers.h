// SnapshotBuffers: the memory a RocksDB backend's snapshots copy the write cache's dirty
// values into and sort them in, kept from one checkpoint to the next. A million copies and
// their sort are about 90 MB; allocated afresh, glibc maps them from the kernel each time and
// every 4 KiB page faults and is zeroed again (a fifth of a million-key full checkpoint's
// time), and a list grown as it fills moves its copies again at every doubling. The task
// thread takes buffers for a snapshot; the snapshot gives them back once written (or
// abandoned), on whichever thread.
//
// Memory: at most one list per state column and one sort's scratch are kept, each what a
// recent snapshot needed (the peak is the same); a buffer given back holding more than four
// times what it was filled with is freed, so the memory follows a state that shrinks.
// Thread-safety: every method from any thread.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "state/cached_write_list.h"
#include "state/key_order.h"

namespace weir {

class SnapshotBuffers {
 public:
  // An empty list with room for `writes` copies of column `column` (an index into
  // RocksDbInstance::states()): the one that column's last snapshot gave back, else a new one
  // sized for copies like that column's last ones.
  CachedWriteList TakeList(size_t column, size_t writes);
  KeyOrderScratch TakeSortScratch();

  // `lists` by column, as TakeList handed them out.
  void Give(CachedWrites lists);
  void Give(size_t column, CachedWriteList list);
  // `largest`: the most items sorted in `scratch` since it was taken.
  void Give(KeyOrderScratch scratch, size_t largest);

  // What the buffers given back hold, in bytes.
  size_t HeldBytes() const;

 private:
  struct Column {
    CachedWriteList list;  // empty; no memory when none was given back
    // Of the last list given back. Before any: a short key and value, which the write cache
    // holds in its entries.
    size_t bytes_per_copy = CachedWriteList::BytesOf(15, 15);
  };

  mutable std::mutex mu_;
  std::vector<Column> columns_;  // grown by TakeList only: Give, in destructors, allocates nothing
  KeyOrderScratch scratch_;
};

}  // namespace weir
