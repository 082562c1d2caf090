// Collector<T>: how a user function emits records downstream.
//
// Collect appends to the operator's current output batch; nothing is sent per record. The
// engine creates one per call into user code and flushes it after; it belongs to the task
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "weir/detail/batch.h"

namespace weir {

// Emits records downstream. Collect appends to the current output batch; nothing is sent
// per record. An output record gets the event timestamp of the input record (or timer) it
// was emitted for, if that had one.
template <typename T>
class Collector {
 public:
  Collector(detail::Batch<T>* buffer, size_t flush_at, detail::BatchConsumer<T>* out)
      : buffer_(buffer), flush_at_(flush_at), out_(out) {}

  // A record passed as an rvalue is moved into the batch once (a parameter taken by value
  // would be moved twice, and a moved-from copy destroyed).
  void Collect(T&& value) {
    buffer_->records.push_back(std::move(value));
    if (buffer_->records.size() >= flush_at_) [[unlikely]] FlushFull();
  }
  void Collect(const T& value) {
    buffer_->records.push_back(value);
    if (buffer_->records.size() >= flush_at_) [[unlikely]] FlushFull();
  }
  // Sends what has been collected (the engine calls this after each input batch).
  void Flush() {
    if (buffer_->records.empty()) return;
    if (timestamped_) StampCollected();
    out_->Accept(*buffer_);
    buffer_->clear();
  }

  // For the engine: the timestamp the next records get, or none. A batch's records all have
  // one or all have none, so a change of kind first sends what was collected. Called per
  // record: the same timestamp again is one test here, a change a call.
  void SetTimestamp(int64_t timestamp) {
    if (timestamped_ && timestamp == timestamp_) [[likely]] return;
    ChangeTimestamp(timestamp);
  }
  void EraseTimestamp() {
    if (timestamped_) {
      Flush();
      timestamped_ = false;
    }
  }

 private:
  // Out of line, so that it does not crowd the engine's per-record loops.
  [[gnu::noinline]] void ChangeTimestamp(int64_t timestamp) {
    if (!timestamped_) {
      Flush();
      timestamped_ = true;
    } else {
      StampCollected();  // the records so far keep the timestamp before
    }
    timestamp_ = timestamp;
  }

  // Timestamps are filled in per run of records, not per record: Collect stays as small as
  // it is without event time.
  void StampCollected() { buffer_->timestamps.resize(buffer_->records.size(), timestamp_); }
  // Out of line: Collect, inlined into every user function, stays a push_back and a compare.
  [[gnu::noinline]] void FlushFull() { Flush(); }

  detail::Batch<T>* buffer_;
  size_t flush_at_;
  detail::BatchConsumer<T>* out_;
  bool timestamped_ = false;
  int64_t timestamp_ = 0;
};

}  // namespace weir
