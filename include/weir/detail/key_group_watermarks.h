// Internal: an event-time operator's watermark, kept through a restore by key group.
//
// An operator's watermark starts again from nothing after a restore (Flink's does too). A
// record that was late before the failure and is replayed before the first new watermark then
// goes into a window that fired long ago and fires it again: output that no run without the
// failure makes, behind an exactly-once sink. So each subtask writes its watermark into the
// checkpoint beside the key groups it held (union operator state), and after a restore a key's
// records and windows are judged by the higher of the live watermark and the one its key
// group had, until the live one passes them all. A key group had one owner, so this is exact
// at any parallelism.
//
// Task thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/hash.h"
#include "weir/detail/keyed_state.h"
#include "weir/detail/operator.h"

namespace weir::detail {

// Key groups [first, last] had `watermark` when the checkpoint was taken.
struct KeyGroupWatermark {
  int32_t first = 0;
  int32_t last = -1;
  int64_t watermark = kMinWatermark;
};

}  // namespace weir::detail

template <>
struct weir::Codec<weir::detail::KeyGroupWatermark>
    : weir::FieldsCodec<weir::detail::KeyGroupWatermark, &weir::detail::KeyGroupWatermark::first,
                        &weir::detail::KeyGroupWatermark::last,
                        &weir::detail::KeyGroupWatermark::watermark> {};

namespace weir::detail {

class KeyGroupWatermarks {
 public:
  static constexpr const char* kStateName = "watermarks-by-key-group";

  // Keeps, of the restored entries, those of this subtask's key groups.
  void Restore(const OperatorState& restored, const OperatorContext& ctx) {
    max_parallelism_ = ctx.max_parallelism();
    // The key groups this subtask holds, as the runtime assigns them.
    const int p = ctx.parallelism();
    const int s = ctx.subtask_index();
    first_ = (s * max_parallelism_ + p - 1) / p;
    last_ = ((s + 1) * max_parallelism_ + p - 1) / p - 1;
    floors_.clear();
    highest_ = kMinWatermark;
    for (const OperatorStateList& list : restored) {
      if (list.name != kStateName) continue;
      floors_.assign(static_cast<size_t>(last_ - first_ + 1), kMinWatermark);
      for (const std::string& bytes : list.elements) {
        KeyGroupWatermark e;
        if (!DecodeFromString(bytes, e)) {
          throw StateError(Status::Corruption(
              "a restored watermark (operator state '" + std::string(kStateName) +
              "') does not decode: the checkpoint is damaged or of another program"));
        }
        for (int kg = std::max(e.first, first_); kg <= std::min(e.last, last_); ++kg) {
          int64_t& floor = floors_[static_cast<size_t>(kg - first_)];
          floor = std::max(floor, e.watermark);
          highest_ = std::max(highest_, floor);
        }
      }
    }
    if (highest_ == kMinWatermark) floors_.clear();
    ahead_ = !floors_.empty();
  }

  // Whether some key group's restored watermark is still ahead of the live one.
  bool Active() const { return ahead_; }

  // The restored watermark of the key these bytes encode; kMinWatermark if none was. Kept
  // after the live watermark passed it: it also says which windows had fired before the
  // restore.
  int64_t FloorOf(std::string_view key_bytes) const {
    if (floors_.empty()) return kMinWatermark;
    const int kg = KeyGroupForHash(Hash64(key_bytes), max_parallelism_);
    if (kg < first_ || kg > last_) return kMinWatermark;  // not this subtask's: not restored
    return floors_[static_cast<size_t>(kg - first_)];
  }

  // The live watermark reached `live`.
  void Advance(int64_t live) {
    if (live >= highest_) ahead_ = false;
  }

  // Adds this subtask's entries: per key group, the higher of the live watermark and the
  // restored one, runs of equal values as one entry.
  void Snapshot(int64_t live, OperatorSnapshot* out) const {
    OperatorStateList list{kStateName, OperatorStateList::Mode::kUnion, {}};
    if (!ahead_) {
      if (live != kMinWatermark) {
        list.elements.push_back(EncodeToString(KeyGroupWatermark{first_, last_, live}));
      }
    } else {
      KeyGroupWatermark run{first_, first_ - 1, kMinWatermark};
      for (int kg = first_; kg <= last_; ++kg) {
        const int64_t w = std::max(live, floors_[static_cast<size_t>(kg - first_)]);
        if (run.last >= run.first && w != run.watermark) {
          list.elements.push_back(EncodeToString(run));
          run.first = kg;
        }
        run.last = kg;
        run.watermark = w;
      }
      list.elements.push_back(EncodeToString(run));
    }
    out->state.push_back(std::move(list));
  }

 private:
  int max_parallelism_ = 1;
  int first_ = 0, last_ = -1;    // this subtask's key groups
  std::vector<int64_t> floors_;  // by key group - first_; empty if nothing was restored
  int64_t highest_ = kMinWatermark;
  bool ahead_ = false;  // highest_ is ahead of the live watermark
};

}  // namespace weir::detail
