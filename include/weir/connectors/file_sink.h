// The exactly-once text file sink behind DataStream::WriteAsText (Flink's writeAsText with
// TwoPhaseCommitSinkFunction semantics).
//
//   stream.WriteAsText("output/sums.txt", weir::WriteMode::kOverwrite);
//   stream.SinkTo([] { return std::make_unique<weir::TextFileSink<Row>>("out", mode); });
//
// Each parallel subtask writes one file: the path itself at parallelism 1, else the files
// 1..p of a directory at that path, as Flink does. With checkpointing, the lines a subtask
// writes between two checkpoint barriers form a transaction that is staged in a hidden
// directory next to the file and appended to the file only when its checkpoint completes;
// after any crash and restore the file is byte-identical to a run without failures. Without
// checkpointing, lines are appended directly and the file is fsynced at the end of input.
// Records are formatted as AppendText does (weir/detail/sinks.h).
//
// Thread-safety: a sink instance belongs to its subtask (see weir/sink.h for which of its
// methods run on a snapshot thread).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weir/detail/sinks.h"
#include "weir/sink.h"

namespace weir {

// Flink's FileSystem.WriteMode: what WriteAsText does when the output already exists on a
// fresh start (a restore always continues the file it was writing).
enum class WriteMode {
  kNoOverwrite,  // fail if the output exists (Flink's default)
  kOverwrite,    // replace it
};

// The text file sink: one file per subtask, written with two-phase commit (weir/sink.h).
// With checkpointing, lines go to a staging file per transaction and are appended to the
// target only when the checkpoint that covers them completes. This is the non-template core,
// working on bytes; implemented in src/connectors/text_file_writer.cc.
class TextFileWriter {
 public:
  TextFileWriter(std::string path, WriteMode mode);
  ~TextFileWriter();

  Status Open(const SinkContext& context);
  Status Commit(std::string_view transaction);
  Status Initialize(const std::vector<SinkOutput>& restored);
  Status OnRestoreConfirmed();
  Status Write(std::string_view bytes);
  Result<std::optional<std::string>> Prepare(int64_t checkpoint_id);
  Status Persist(std::string_view transaction) const;
  Status PersistCommitted();
  std::vector<SinkOutput> SnapshotOutputs() const;
  Status Finish();
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Formats records as lines of text and hands them to a TextFileWriter.
template <typename T>
class TextFileSink final : public TwoPhaseCommitSink<T> {
 public:
  TextFileSink(std::string path, WriteMode mode) : writer_(std::move(path), mode) {}

  Status Open(const SinkContext& context) override { return writer_.Open(context); }
  Status Commit(std::string_view txn) override { return writer_.Commit(txn); }
  Status Initialize(const std::vector<SinkOutput>& restored) override {
    return writer_.Initialize(restored);
  }
  Status OnRestoreConfirmed() override { return writer_.OnRestoreConfirmed(); }
  Status Write(const std::vector<T>& records) override {
    text_.clear();
    detail::AppendLines(records, &text_);
    return writer_.Write(text_);
  }
  Result<std::optional<std::string>> Prepare(int64_t checkpoint_id) override {
    return writer_.Prepare(checkpoint_id);
  }
  Status Persist(std::string_view txn) override { return writer_.Persist(txn); }
  Status PersistCommitted() override { return writer_.PersistCommitted(); }
  std::vector<SinkOutput> SnapshotOutputs() override { return writer_.SnapshotOutputs(); }
  Status Finish() override { return writer_.Finish(); }
  void Close() override { writer_.Close(); }

 private:
  TextFileWriter writer_;
  std::string text_;
};

}  // namespace weir
