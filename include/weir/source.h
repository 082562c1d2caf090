// Source: a data source in Flink's FLIP-27 shape, for env.FromSource(source, strategy, name).
//
// A source is cut into splits (a file, a range of numbers, a Kafka partition). Two parts read it:
//
//   SplitEnumerator   one per source, on the job's coordinating side (the JobMaster), never in
//                     a task. It finds the splits (once, or periodically: new files), hands
//                     them to reader subtasks when they ask, and its state (which splits are
//                     still to hand out, which it already found) is in every checkpoint.
//   SourceReader      one per parallel subtask, polled from the subtask's task thread. It
//                     reads the splits it was given and says, per poll, "more available",
//                     "nothing available now" (then the task sleeps until the reader or a new
//                     split wakes it, so an idle source uses no CPU and still answers
//                     checkpoints and cancellation at once), or "end of input". Its splits and
//                     their positions are in every checkpoint; on a restore at another
//                     parallelism they are dealt out to the new readers again.
//
//   struct Range { int64_t next; int64_t last; };
//   template <> struct weir::Codec<Range> : weir::FieldsCodec<Range, &Range::next, &Range::last> {};
//   class MySource : public weir::Source<int64_t, Range, std::vector<Range>> { ... };
//   env.FromSource(MySource(...), weir::WatermarkStrategy<int64_t>::NoWatermarks(), "numbers");
//
// Splits and the enumerator's state are encoded with weir::Codec (codec.h): they cross from the
// coordinating side to the tasks as bytes and are stored in checkpoints.
//
// Event time: with a WatermarkStrategy, each split has its own watermark generator (a reader
// says which split its records are from, ReaderOutput::ForSplit); the reader's watermark is the
// minimum over its splits, and a split that finished (ReleaseSplit) leaves the minimum.
//
// Thread-safety: a Source's Create* methods are called from several threads at once (one per
// subtask, and the coordinating side): keep them const and free of shared mutable state. An
// enumerator is called by one thread at a time (its coordinator holds a lock around each
// call). A reader is owned by its task thread, except SourceReaderContext::WakeUp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weir/detail/batch.h"

namespace weir {

class Configuration;
class FileSystem;

// What one poll of a reader found.
enum class InputStatus {
  kMoreAvailable,     // call again soon
  kNothingAvailable,  // call again once woken: by SourceReaderContext::WakeUp or a new split
  kEndOfInput,        // this reader is done: it has no split and the enumerator has no more
};

// What the enumerator is given: where it sends splits, and how it schedules periodic work.
template <typename Split>
class SplitEnumeratorContext {
 public:
  virtual ~SplitEnumeratorContext() = default;
  // The parallelism of the source's readers.
  virtual int parallelism() const = 0;
  // Subtasks whose reader registered in this run of the job, ascending.
  virtual std::vector<int> registered_readers() const = 0;
  // Hands `split` to the reader of `subtask` (it gets it even before it registers).
  virtual void AssignSplit(int subtask, const Split& split) = 0;
  // Tells the reader of `subtask` that no split will follow: once it read what it has, it ends.
  virtual void SignalNoMoreSplits(int subtask) = 0;
  // Calls `fn` every `period` (with the enumerator's lock held, on the coordinating side),
  // until the enumerator closes. For discovering new splits.
  virtual void CallPeriodically(std::function<void()> fn, std::chrono::milliseconds period) = 0;
  virtual const Configuration& configuration() const = 0;
  virtual FileSystem& file_system() const = 0;
};

// Finds splits and assigns them. An exception thrown by a method fails the job (Start: the job
// does not start) with its message.
template <typename Split, typename EnumState>
class SplitEnumerator {
 public:
  virtual ~SplitEnumerator() = default;
  virtual void Start() {}
  // The reader of `subtask` asks for a split: assign one, or signal no more, or remember the
  // request and answer it when a split turns up.
  virtual void HandleSplitRequest(int subtask) = 0;
  // The reader of `subtask` registered (each run of the job, after a restore too).
  virtual void AddReader(int subtask) {}
  // The state to restore from: taken when a checkpoint is triggered, before any reader takes
  // its part (a split assigned after it reaches the reader only after the reader's snapshot).
  virtual EnumState SnapshotState(int64_t checkpoint_id) = 0;
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) {}
  virtual void Close() {}
};

// What a reader is given.
class SourceReaderContext {
 public:
  virtual ~SourceReaderContext() = default;
  virtual int subtask_index() const = 0;
  virtual int parallelism() const = 0;
  // Asks the enumerator for a split (the answer arrives as AddSplits or NotifyNoMoreSplits).
  virtual void SendSplitRequest() = 0;
  // Any thread: the reader has something again after a kNothingAvailable; the task polls it.
  virtual void WakeUp() = 0;
  virtual const Configuration& configuration() const = 0;
  virtual FileSystem& file_system() const = 0;
};

// Where a reader puts its records in a poll: into the batch the engine sends on, without a
// virtual call or an allocation per record. At most room() records per poll.
template <typename T>
class ReaderOutput final {
 public:
  // The records that follow are of split `split_id` (only matters with a WatermarkStrategy:
  // each split has its own watermark generator). The engine sends what it holds on a change.
  void ForSplit(std::string_view split_id) {
    if (on_split_ != nullptr) on_split_(owner_, split_id);
  }
  // A split is finished: it leaves the minimum its reader's watermark is taken over.
  void ReleaseSplit(std::string_view split_id) {
    if (on_release_ != nullptr) on_release_(owner_, split_id);
  }
  // A reader collects with timestamps always, or never.
  void Collect(T record) { batch_->records.push_back(std::move(record)); }
  void Collect(T record, int64_t timestamp) {
    batch_->records.push_back(std::move(record));
    batch_->timestamps.push_back(timestamp);
  }
  // Collects all of `records` (at most room()) with their timestamps, one each, at once: if
  // nothing was collected before in this poll, the vectors are swapped with the engine's
  // (moved as three pointers, not record by record). Both are empty afterwards and may keep a
  // capacity: a reader that fills the same two vectors every poll allocates nothing. Throws
  // std::invalid_argument (the task fails) if the two differ in size.
  void CollectAll(std::vector<T>& records, std::vector<int64_t>& timestamps) {
    HandOn(records, timestamps, "CollectAll");
    records.clear();
  }
  // As CollectAll, but instead of emptied, `records` comes back holding records the engine
  // is done with, for the reader to refill: those of the last batch the engine sent on (an
  // earlier poll's, or this one's if a split change sent it), as the operators downstream
  // left them: moved from, most of them (valid, in an unspecified state), fewer if an
  // operator dropped some, or none. After records collected one by one in this poll, they
  // are `records`' own, moved from. A reader that sets every field of each record it emits,
  // as a generator does, so refills them where they are: no record is destroyed after one
  // poll and made anew for the next. Once a reader calls it, the engine keeps each batch's
  // records until the next batch is sent.
  void ExchangeAll(std::vector<T>& records, std::vector<int64_t>& timestamps) {
    const bool swapped = HandOn(records, timestamps, "ExchangeAll");
    if (spare_ == nullptr) return;
    keeps_records_ = true;
    if (swapped) records.swap(*spare_);
  }
  // How many more records this poll takes.
  size_t room() const { return limit_ > batch_->records.size() ? limit_ - batch_->records.size() : 0; }

  // For the engine. `spare` (may be null): where the engine keeps the records of the last
  // batch it emitted, for ExchangeAll to hand back.
  using SplitHook = void (*)(void* owner, std::string_view split_id);
  ReaderOutput(detail::Batch<T>* batch, void* owner, SplitHook on_split, SplitHook on_release,
               std::vector<T>* spare = nullptr)
      : batch_(batch), owner_(owner), on_split_(on_split), on_release_(on_release),
        spare_(spare) {}
  void set_limit(size_t limit) { limit_ = limit; }
  // Whether the reader asked for records back (ExchangeAll): the engine then keeps each
  // batch's records in `spare`.
  bool keeps_records() const { return keeps_records_; }

 private:
  // Moves `records` and `timestamps` into the batch: by swapping the vectors if nothing was
  // collected before in this poll (returns true; both come back empty), else record by record
  // (`records` keeps the moved-from records). Throws std::invalid_argument if they differ in
  // size.
  bool HandOn(std::vector<T>& records, std::vector<int64_t>& timestamps, const char* method) {
    if (records.size() != timestamps.size()) {
      throw std::invalid_argument("a source reader collected " + std::to_string(records.size()) +
                                  " records with " + std::to_string(timestamps.size()) +
                                  " timestamps (ReaderOutput::" + method + " needs one each)");
    }
    bool swapped = false;
    if (batch_->records.empty()) {
      batch_->records.swap(records);
      batch_->timestamps.swap(timestamps);
      records.clear();
      swapped = true;
    } else {
      for (size_t i = 0; i < records.size(); ++i) Collect(std::move(records[i]), timestamps[i]);
    }
    timestamps.clear();
    return swapped;
  }

  detail::Batch<T>* batch_;
  void* owner_;
  SplitHook on_split_;
  SplitHook on_release_;
  std::vector<T>* spare_;
  bool keeps_records_ = false;
  size_t limit_ = 0;
};

// Reads the splits it is given. Created per subtask once the subtask's state is known; the
// splits restored from a checkpoint arrive by AddSplits before Start.
template <typename T, typename Split>
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  virtual void Start() {}
  // Emits up to output.room() records (a batch: do not emit one and return).
  virtual InputStatus PollNext(ReaderOutput<T>& output) = 0;
  virtual void AddSplits(std::vector<Split> splits) = 0;
  virtual void NotifyNoMoreSplits() = 0;
  // The unfinished splits with their current positions: what a restore resumes from (records
  // emitted so far are not read again).
  virtual std::vector<Split> SnapshotState(int64_t checkpoint_id) = 0;
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) {}
  virtual void Close() {}
};

// A source: makes its enumerator and readers. Copied into the job; shared by its subtasks.
template <typename T, typename Split, typename EnumState>
class Source {
 public:
  using OutputType = T;
  using SplitType = Split;
  using EnumStateType = EnumState;

  virtual ~Source() = default;
  virtual std::unique_ptr<SplitEnumerator<Split, EnumState>> CreateEnumerator(
      SplitEnumeratorContext<Split>& context) const = 0;
  // From a checkpoint's enumerator state. A checkpoint taken before the source had an
  // enumerator restores with a default EnumState.
  virtual std::unique_ptr<SplitEnumerator<Split, EnumState>> RestoreEnumerator(
      SplitEnumeratorContext<Split>& context, EnumState state) const = 0;
  virtual std::unique_ptr<SourceReader<T, Split>> CreateReader(
      SourceReaderContext& context) const = 0;
  // The operator state list the readers' splits are kept in.
  virtual std::string split_state_name() const { return "source-splits"; }
};

}  // namespace weir
