// Internal: the untyped link between a source's enumerator (on the coordinating side) and its
// readers (in the tasks), behind env.FromSource (weir/source.h).
//
// The JobMaster owns one SourceCoordinatorBase per source and makes a new one for each run of
// the job (restored from the checkpoint that run restores). A reader's operator registers with
// it and asks for splits; the enumerator's answers travel as encoded bytes through the reader's
// SplitInbox, which wakes the reader's task.
//
// Checkpoints: the JobMaster snapshots the enumerator when it triggers checkpoint N, before the
// barrier reaches any reader. A split assigned after that must reach its reader only after the
// reader took its own snapshot for N (otherwise a restore from N would have it twice: still in
// the enumerator and already in the reader; or never: a reader snapshot taken before it
// arrived). So each inbox event carries the id of the last enumerator snapshot before it (its
// epoch), and a reader takes events up to the last checkpoint it snapshotted, or heard
// completed or aborted. Flink closes an "event valve" per subtask for the same reason.
//
// Thread-safety: SplitInbox is thread-safe. SourceCoordinatorBase's methods may be called from
// any thread; implementations serialize them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weir/codec.h"
#include "weir/detail/keyed_state.h"
#include "weir/source.h"
#include "weir/status.h"

namespace weir::detail {

// The operator state list (union: one element, from subtask 0) that keeps the enumerator's
// state in a checkpoint, beside its readers' splits.
inline constexpr char kEnumeratorStateName[] = "source-enumerator";

// What the enumerator sent one reader and the reader has not taken yet.
class SplitInbox {
 public:
  // Coordinating side.
  void PushSplit(std::string split, int64_t epoch) { Push(Event{epoch, false, std::move(split)}); }
  void PushNoMoreSplits(int64_t epoch) { Push(Event{epoch, true, {}}); }
  // The reader's task: called on each push.
  void SetWaker(std::function<void()> wake) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = std::move(wake);
    if (!events_.empty() && wake_) wake_();
  }

  // Reader side. Cheap: one atomic load.
  bool MaybeHasEvents() const { return pending_.load(std::memory_order_acquire); }
  // Whether an event of epoch <= `through` waits.
  bool HasEventsThrough(int64_t through) const {
    std::lock_guard<std::mutex> lock(mu_);
    return !events_.empty() && events_.front().epoch <= through;
  }
  // Takes the events of epoch <= `through`, in order; false if there was none.
  bool Take(int64_t through, std::vector<std::string>* splits, bool* no_more_splits) {
    std::lock_guard<std::mutex> lock(mu_);
    bool took = false;
    while (!events_.empty() && events_.front().epoch <= through) {
      Event& e = events_.front();
      if (e.no_more) {
        *no_more_splits = true;
      } else {
        splits->push_back(std::move(e.split));
      }
      events_.pop_front();
      took = true;
    }
    pending_.store(!events_.empty(), std::memory_order_release);
    return took;
  }

 private:
  struct Event {
    int64_t epoch;
    bool no_more;
    std::string split;
  };
  void Push(Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    pending_.store(true, std::memory_order_release);
    if (wake_) wake_();
  }

  mutable std::mutex mu_;
  std::deque<Event> events_;      // guarded by mu_; epochs never decrease
  std::function<void()> wake_;    // guarded by mu_
  std::atomic<bool> pending_{false};
};

// One source's enumerator, untyped.
class SourceCoordinatorBase {
 public:
  virtual ~SourceCoordinatorBase() = default;

  // Coordinating side. `restored`: the run restores a checkpoint that has this source;
  // `state` its enumerator state (null: the checkpoint has none, from before enumerators).
  virtual Status Start(bool restored, const std::string* state) = 0;
  // The enumerator's state for checkpoint `checkpoint_id`; later assignments wait for it.
  virtual Result<std::string> Snapshot(int64_t checkpoint_id) = 0;
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) = 0;
  // Runs the periodic calls that are due.
  virtual Status RunPeriodic(int64_t now_ms) = 0;
  virtual void Close() = 0;

  // A reader's task thread.
  virtual SplitInbox* RegisterReader(int subtask, std::function<void()> wake) = 0;
  virtual void RequestSplit(int subtask) = 0;
};

template <typename T, typename Split, typename EnumState>
class SourceCoordinator final : public SourceCoordinatorBase,
                                private SplitEnumeratorContext<Split> {
 public:
  using SourceT = Source<T, Split, EnumState>;

  SourceCoordinator(std::shared_ptr<const SourceT> source, std::string name, int parallelism,
                    const Configuration* config, FileSystem* fs)
      : source_(std::move(source)),
        name_(std::move(name)),
        parallelism_(parallelism),
        config_(config),
        fs_(fs) {
    for (int i = 0; i < parallelism; ++i) inboxes_.push_back(std::make_unique<SplitInbox>());
    registered_.assign(static_cast<size_t>(parallelism), false);
  }

  Status Start(bool restored, const std::string* state) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Call("starting", [&] {
      if (!restored) {
        enumerator_ = source_->CreateEnumerator(*this);
      } else {
        EnumState s{};
        if (state != nullptr && !DecodeFromString(*state, s)) {
          throw StateError(Status::Corruption("the enumerator state of source '" + name_ +
                                              "' in the checkpoint does not decode")
                               .AsPermanent());
        }
        enumerator_ = source_->RestoreEnumerator(*this, std::move(s));
      }
      enumerator_->Start();
    });
  }

  Result<std::string> Snapshot(int64_t checkpoint_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    WEIR_RETURN_IF_ERROR(Call("snapshotting", [&] {
      out = EncodeToString(enumerator_->SnapshotState(checkpoint_id));
    }));
    epoch_ = checkpoint_id;
    return out;
  }

  void NotifyCheckpointComplete(int64_t checkpoint_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!enumerator_) return;
    (void)Call("notifying", [&] { enumerator_->NotifyCheckpointComplete(checkpoint_id); });
  }

  Status RunPeriodic(int64_t now_ms) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : periodic_) {
      if (p.next_ms == 0) p.next_ms = now_ms + p.period_ms;
      if (now_ms < p.next_ms) continue;
      p.next_ms = now_ms + p.period_ms;
      WEIR_RETURN_IF_ERROR(Call("running a periodic call of", [&] { p.fn(); }));
    }
    return Status::OK();
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!enumerator_) return;
    (void)Call("closing", [&] { enumerator_->Close(); });
    enumerator_.reset();
    periodic_.clear();
  }

  SplitInbox* RegisterReader(int subtask, std::function<void()> wake) override {
    std::lock_guard<std::mutex> lock(mu_);
    SplitInbox* inbox = inboxes_.at(static_cast<size_t>(subtask)).get();
    inbox->SetWaker(std::move(wake));
    registered_[static_cast<size_t>(subtask)] = true;
    enumerator_->AddReader(subtask);
    return inbox;
  }

  void RequestSplit(int subtask) override {
    std::lock_guard<std::mutex> lock(mu_);
    enumerator_->HandleSplitRequest(subtask);
  }

 private:
  // SplitEnumeratorContext, called by the enumerator with mu_ held.
  int parallelism() const override { return parallelism_; }
  std::vector<int> registered_readers() const override {
    std::vector<int> out;
    for (size_t i = 0; i < registered_.size(); ++i) {
      if (registered_[i]) out.push_back(static_cast<int>(i));
    }
    return out;
  }
  void AssignSplit(int subtask, const Split& split) override {
    Inbox(subtask)->PushSplit(EncodeToString(split), epoch_);
  }
  void SignalNoMoreSplits(int subtask) override { Inbox(subtask)->PushNoMoreSplits(epoch_); }
  void CallPeriodically(std::function<void()> fn, std::chrono::milliseconds period) override {
    periodic_.push_back(Periodic{std::move(fn), std::max<int64_t>(1, period.count()), 0});
  }
  const Configuration& configuration() const override { return *config_; }
  FileSystem& file_system() const override { return *fs_; }

  SplitInbox* Inbox(int subtask) {
    if (subtask < 0 || subtask >= parallelism_) {
      throw std::out_of_range("source '" + name_ + "': no reader subtask " +
                              std::to_string(subtask) + " (parallelism " +
                              std::to_string(parallelism_) + ")");
    }
    return inboxes_[static_cast<size_t>(subtask)].get();
  }

  // Runs an enumerator call; an exception becomes an error naming the source.
  template <typename F>
  Status Call(const char* what, F&& fn) {
    try {
      fn();
      return Status::OK();
    } catch (const StateError& e) {
      return e.status().WithContext(std::string(what) + " the enumerator of source '" + name_ + "'");
    } catch (const std::exception& e) {
      return Status::Internal(std::string(what) + " the enumerator of source '" + name_ +
                              "': " + e.what());
    }
  }

  struct Periodic {
    std::function<void()> fn;
    int64_t period_ms;
    int64_t next_ms;
  };

  std::shared_ptr<const SourceT> source_;
  std::string name_;
  int parallelism_;
  const Configuration* config_;
  FileSystem* fs_;
  std::mutex mu_;
  std::unique_ptr<SplitEnumerator<Split, EnumState>> enumerator_;  // guarded by mu_
  std::vector<std::unique_ptr<SplitInbox>> inboxes_;               // one per subtask
  std::vector<bool> registered_;                                   // guarded by mu_
  std::vector<Periodic> periodic_;                                 // guarded by mu_
  int64_t epoch_ = 0;  // guarded by mu_: the last checkpoint the enumerator was snapshot for
};

}  // namespace weir::detail
