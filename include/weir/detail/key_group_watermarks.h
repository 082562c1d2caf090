// Internal: an event-time operator's watermark, kept through a restore by key group.
//
// An operator's watermark starts again from nothing after a restore (Flink's does too). A
// record that was late before the failure and is replayed before the first new watermark then
// goes into a window that fired long ago and fires it again, or joins in an interval join that
// would have dropped it: output that no run without the failure makes, behind an exactly-once
// sink. So each subtask of the window operator and the interval join writes its watermark into
// the checkpoint beside the key groups it held (union operator state), and after a restore a
// key's records and windows are judged by the higher of the live watermark and the one its
// key group had, until the live one passes them all. A key group had one owner, so this is
// exact at any parallelism.
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

// Key groups [first, last] had `watermark` when the checkpoint was taken, and sliced windows
// (WindowedStream::Sliced) that end at or before `slices_fired_through` had fired in a job that
// sliced: the slices such a window shares with later ones are not its contents any more.
struct KeyGroupWatermark {
  int32_t first = 0;
  int32_t last = -1;
  int64_t watermark = kMinWatermark;
  int64_t slices_fired_through = kMinWatermark;
};

}  // namespace weir::detail

template <>
struct weir::Codec<weir::detail::KeyGroupWatermark>
    : weir::FieldsCodec<weir::detail::KeyGroupWatermark, &weir::detail::KeyGroupWatermark::first,
                        &weir::detail::KeyGroupWatermark::last,
                        &weir::detail::KeyGroupWatermark::watermark,
                        &weir::detail::KeyGroupWatermark::slices_fired_through> {};

namespace weir::detail {

class KeyGroupWatermarks {
 public:
  static constexpr const char* kStateName = "watermarks-by-key-group";

  // Keeps, of the restored entries, those of the key groups of the subtask `ctx` runs.
  void Restore(const OperatorState& restored, const OperatorContext& ctx) {
    Restore(restored, ctx.max_parallelism(), ctx.parallelism(), ctx.subtask_index());
  }

  // The same for subtask `subtask` of `parallelism`, with the runtime's assignment of key
  // groups.
  void Restore(const OperatorState& restored, int max_parallelism, int parallelism,
               int subtask) {
    max_parallelism_ = max_parallelism;
    first_ = (subtask * max_parallelism + parallelism - 1) / parallelism;
    last_ = ((subtask + 1) * max_parallelism + parallelism - 1) / parallelism - 1;
    groups_.clear();
    highest_ = kMinWatermark;
    slices_fired_ = false;
    for (const OperatorStateList& list : restored) {
      if (list.name != kStateName) continue;
      groups_.assign(static_cast<size_t>(last_ - first_ + 1), Restored{});
      for (const std::string& bytes : list.elements) {
        KeyGroupWatermark e;
        if (!DecodeFromString(bytes, e)) {
          throw StateError(Status::Corruption(
              "a restored watermark (operator state '" + std::string(kStateName) +
              "') does not decode: the checkpoint is damaged or of another program"));
        }
        for (int kg = std::max(e.first, first_); kg <= std::min(e.last, last_); ++kg) {
          Restored& g = groups_[static_cast<size_t>(kg - first_)];
          g.watermark = std::max(g.watermark, e.watermark);
          g.slices_fired_through = std::max(g.slices_fired_through, e.slices_fired_through);
          highest_ = std::max(highest_, g.watermark);
          slices_fired_ |= g.slices_fired_through != kMinWatermark;
        }
      }
    }
    ahead_ = highest_ != kMinWatermark;
  }

  // Whether some key group's restored watermark is still ahead of the live one.
  bool Active() const { return ahead_; }

  // The restored watermark of the key these bytes encode; kMinWatermark if none was.
  int64_t FloorOf(std::string_view key_bytes) const { return Of(key_bytes).watermark; }

  // Through when the key's sliced windows had fired in a job that sliced (kept after the live
  // watermark passed the restored one: a late record may come long after).
  int64_t SlicesFiredThrough(std::string_view key_bytes) const {
    return slices_fired_ ? Of(key_bytes).slices_fired_through : kMinWatermark;
  }

  // The live watermark reached `live`.
  void Advance(int64_t live) {
    if (live >= highest_) ahead_ = false;
  }

  // Adds this subtask's entries, runs of equal key groups as one: per key group, the higher
  // of the live watermark and the restored one; and through when sliced windows fired, which a
  // job that slices advances with its watermark and one that does not keeps. The maximum
  // watermark (the end of input, or a stop that drained) is not kept: a job resumed after it
  // would find every record late.
  void Snapshot(int64_t live, bool sliced, OperatorSnapshot* out) const {
    OperatorStateList list{kStateName, OperatorStateList::Mode::kUnion, {}};
    KeyGroupWatermark run{first_, first_ - 1, kMinWatermark, kMinWatermark};
    for (int kg = first_; kg <= last_; ++kg) {
      const Restored g = groups_.empty() ? Restored{} : groups_[static_cast<size_t>(kg - first_)];
      int64_t w = std::max(live, g.watermark);
      if (w == kMaxWatermark) w = kMinWatermark;
      const int64_t fired = sliced ? w : g.slices_fired_through;
      if (run.last >= run.first && (w != run.watermark || fired != run.slices_fired_through)) {
        if (run.watermark != kMinWatermark || run.slices_fired_through != kMinWatermark) {
          list.elements.push_back(EncodeToString(run));
        }
        run.first = kg;
      }
      run.last = kg;
      run.watermark = w;
      run.slices_fired_through = fired;
    }
    if (run.last >= run.first &&
        (run.watermark != kMinWatermark || run.slices_fired_through != kMinWatermark)) {
      list.elements.push_back(EncodeToString(run));
    }
    out->state.push_back(std::move(list));
  }

 private:
  struct Restored {
    int64_t watermark = kMinWatermark;
    int64_t slices_fired_through = kMinWatermark;
  };

  Restored Of(std::string_view key_bytes) const {
    if (groups_.empty()) return Restored{};
    const int kg = KeyGroupForHash(Hash64(key_bytes), max_parallelism_);
    if (kg < first_ || kg > last_) return Restored{};  // not this subtask's: not restored
    return groups_[static_cast<size_t>(kg - first_)];
  }

  int max_parallelism_ = 1;
  int first_ = 0, last_ = -1;     // this subtask's key groups
  std::vector<Restored> groups_;  // by key group - first_; empty if nothing was restored
  int64_t highest_ = kMinWatermark;
  bool ahead_ = false;         // highest_ is ahead of the live watermark
  bool slices_fired_ = false;  // some slices_fired_through was restored
};

}  // namespace weir::detail
