// KeyGroupRange: the contiguous key groups [start, end] one subtask owns.
//
// Keyed state is stored and checkpointed by key group, so a restore with a different
// parallelism hands each new subtask the key groups of its new range, gathered from every old
// subtask whose range overlaps (Flink's KeyGroupRangeAssignment). Value type; thread-safe.
#pragma once

#include <algorithm>
#include <string>

namespace weir {

struct KeyGroupRange {
  int start = 0;
  int end = -1;  // inclusive; end < start means empty

  static KeyGroupRange ForSubtask(int max_parallelism, int parallelism, int subtask) {
    int s = (subtask * max_parallelism + parallelism - 1) / parallelism;
    int e = ((subtask + 1) * max_parallelism + parallelism - 1) / parallelism - 1;
    return {s, e};
  }

  int size() const { return end >= start ? end - start + 1 : 0; }
  bool empty() const { return size() == 0; }
  bool Contains(int kg) const { return kg >= start && kg <= end; }
  KeyGroupRange Intersect(const KeyGroupRange& o) const {
    return {std::max(start, o.start), std::min(end, o.end)};
  }
  std::string ToString() const {
    return "[" + std::to_string(start) + ", " + std::to_string(end) + "]";
  }
  friend bool operator==(const KeyGroupRange&, const KeyGroupRange&) = default;
};

}  // namespace weir
