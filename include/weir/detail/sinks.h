// Internal: the sinks behind DataStream::WriteAsText and DataStream::Print.
//
// Records are formatted to text one batch at a time: strings as they are, numbers with
// std::to_chars, bool as true/false, and anything else with fmt ("{}"; tuples and vectors via
// fmt/ranges.h, your own types through a fmt::formatter specialization).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "weir/detail/operators.h"
#include "weir/detail/two_phase_commit.h"
#include "weir/sink.h"

namespace weir {

// Flink's FileSystem.WriteMode: what WriteAsText does when the output already exists on a
// fresh start (a restore always continues the file it was writing).
enum class WriteMode {
  kNoOverwrite,  // fail if the output exists (Flink's default)
  kOverwrite,    // replace it
};

}  // namespace weir

namespace weir::detail {

template <typename T>
void AppendText(const T& v, std::string* out) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out->append(std::string_view(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    out->append(v ? "true" : "false");
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, res.ptr);
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

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
  Status Write(const std::vector<T>& records) override {
    text_.clear();
    for (const auto& r : records) {
      AppendText(r, &text_);
      text_.push_back('\n');
    }
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

// Calls a user function for every record (DataStream::AddSink). At-least-once: the function
// sees records again after a restore.
template <typename T, typename F>
class FunctionSinkOperator final : public OneInputOperator<T> {
 public:
  explicit FunctionSinkOperator(F fn) : fn_(std::move(fn)) {}
  void Accept(std::vector<T>& records) override {
    this->records_in_.Add(records.size());
    try {
      for (const auto& r : records) fn_(r);
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
  }

 private:
  F fn_;
};

// Writes `text` to standard output in one call (lines of one batch stay together).
void WriteToStdout(std::string_view text);

// Prints each record as a line to standard output; with parallelism > 1 each line starts with
// "<subtask+1>> ", as Flink's print() does.
template <typename T>
class PrintSinkOperator final : public OneInputOperator<T> {
 public:
  void Open() override {
    if (this->context().parallelism() > 1) {
      prefix_ = std::to_string(this->context().subtask_index() + 1) + "> ";
    }
  }
  void Accept(std::vector<T>& records) override {
    this->records_in_.Add(records.size());
    text_.clear();
    try {
      for (const auto& r : records) {
        text_.append(prefix_);
        AppendText(r, &text_);
        text_.push_back('\n');
      }
    } catch (...) {
      RethrowAsOperatorError(this->context());
    }
    WriteToStdout(text_);
  }

 private:
  std::string prefix_;
  std::string text_;
};

}  // namespace weir::detail
