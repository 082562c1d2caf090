// Internal: watermark alignment across sources (WatermarkStrategy::WithWatermarkAlignment,
// Flink's FLIP-182): the source subtasks of one alignment group stop reading while their
// watermark is more than their max drift ahead of the group's, the lowest watermark of its
// members.
//
// Flink's source subtasks report their watermarks to a coordinator every update interval, and
// hear back the group's as late again: a paused source resumes up to two intervals after it
// could. Here every subtask runs in one process: a member reports each watermark as its
// source emits it, reads the group's at every poll, and a paused member is woken as soon as
// the group's reaches the watermark it waits for (only then: a group that advances a little
// at a time wakes no one early).
//
// A member holds its group back from its first watermark on (before it, it has no event time
// to hold to), until it reports kMaxWatermark (idle, or at the end of its input) or leaves.
//
// Thread-safety: each member is used by its source's task thread; the group calls members'
// wake functions from the thread whose report advanced it.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weir/detail/batch.h"

namespace weir::detail {

class WatermarkAlignmentGroups {
 public:
  class Member;

  // Joins `group`. `wake` is called, from another task's thread, when the group's watermark
  // advances; it must stay callable until the member is destroyed.
  std::unique_ptr<Member> Join(const std::string& group, std::function<void()> wake) {
    std::lock_guard lock(mu_);
    std::shared_ptr<Group>& g = groups_[group];
    if (!g) g = std::make_shared<Group>();
    auto member = std::unique_ptr<Member>(new Member(g));
    std::lock_guard group_lock(g->mu);
    g->members.push_back(Entry{member.get(), std::move(wake), kMinWatermark, kNotWaiting});
    return member;
  }

 private:
  static constexpr int64_t kNotWaiting = kMaxWatermark;

  struct Entry {
    const Member* member;
    std::function<void()> wake;
    int64_t watermark;  // kMinWatermark: none yet; kMaxWatermark: holds nothing back
    int64_t waits_for;  // paused until the group's watermark reaches it; or kNotWaiting
  };
  struct Group {
    std::mutex mu;
    std::vector<Entry> members;  // guarded by mu
    std::atomic<int64_t> watermark{kMaxWatermark};

    // The lowest watermark of the members that have one, and the wake-up of those waiting
    // for it; with mu held.
    void Update() {
      int64_t lowest = kMaxWatermark;
      for (const Entry& e : members) {
        if (e.watermark != kMinWatermark) lowest = std::min(lowest, e.watermark);
      }
      watermark.store(lowest, std::memory_order_relaxed);
      // Under mu: a member leaves only with mu held, so every wake here is still callable.
      for (Entry& e : members) {
        if (e.waits_for == kNotWaiting || lowest < e.waits_for) continue;
        e.waits_for = kNotWaiting;
        if (e.wake) e.wake();
      }
    }
    Entry& Of(const Member* member) {
      return *std::find_if(members.begin(), members.end(),
                           [member](const Entry& e) { return e.member == member; });
    }
  };

 public:
  class Member {
   public:
    ~Member() {
      std::lock_guard lock(group_->mu);
      auto& members = group_->members;
      members.erase(members.begin() + (&group_->Of(this) - members.data()));
      group_->Update();
    }
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // This member's watermark: kMaxWatermark while it holds nothing back.
    void Report(int64_t watermark) {
      std::lock_guard lock(group_->mu);
      group_->Of(this).watermark = watermark;
      group_->Update();
    }
    // The group's watermark; kMaxWatermark while no member has one.
    int64_t GroupWatermark() const { return group_->watermark.load(std::memory_order_relaxed); }
    // Waits (its wake is called) until the group's watermark reaches `watermark`; false, and
    // no wait, if it has meanwhile.
    bool WaitFor(int64_t watermark) {
      std::lock_guard lock(group_->mu);
      if (group_->watermark.load(std::memory_order_relaxed) >= watermark) return false;
      group_->Of(this).waits_for = watermark;
      return true;
    }

   private:
    explicit Member(std::shared_ptr<Group> group) : group_(std::move(group)) {}
    friend class WatermarkAlignmentGroups;

    std::shared_ptr<Group> group_;
  };

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Group>> groups_;  // guarded by mu_
};

}  // namespace weir::detail
