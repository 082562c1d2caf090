// LineFileSink: each record as a line of a plain file, as the Flink NexmarkBench's
// LineFileSink writes them: `path` itself when the sink runs at parallelism 1, else
// `path.<subtask>`. Flushed at every checkpoint and at the end of the input. Not transactional:
// after a failure and restore, lines since the last checkpoint are written again
// (at-least-once), like Flink's; the benchmark's correctness runs do not fail. For exactly-once
// output use DataStream::WriteAsText.
//
// Thread-safety: one sink per subtask, called from its task thread only.
#pragma once

#include <weir/sink.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace weir::nexmark {

class LineFileSink final : public TwoPhaseCommitSink<std::string> {
 public:
  explicit LineFileSink(std::string path) : path_(std::move(path)) {}
  ~LineFileSink() override { Close(); }

  static std::string FileOf(const std::string& path, int subtask, int parallelism) {
    return parallelism == 1 ? path : path + "." + std::to_string(subtask);
  }

  Status Open(const SinkContext& context) override {
    file_name_ = FileOf(path_, context.subtask_index, context.parallelism);
    file_ = std::fopen(file_name_.c_str(), "w");
    if (file_ == nullptr) {
      return Status::IOError("cannot open " + file_name_ + ": " + std::strerror(errno));
    }
    return Status::OK();
  }
  Status Commit(std::string_view) override { return Status::OK(); }
  Status Write(const std::vector<std::string>& records) override {
    for (const std::string& line : records) {
      std::fwrite(line.data(), 1, line.size(), file_);
      std::fputc('\n', file_);
    }
    if (std::ferror(file_)) return Status::IOError("cannot write " + file_name_);
    return Status::OK();
  }
  Result<std::optional<std::string>> Prepare(int64_t) override {
    if (std::fflush(file_) != 0) return Status::IOError("cannot write " + file_name_);
    return std::optional<std::string>();
  }
  Status Finish() override {
    if (std::fflush(file_) != 0) return Status::IOError("cannot write " + file_name_);
    return Status::OK();
  }
  void Close() override {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
  }

 private:
  std::string path_;
  std::string file_name_;
  std::FILE* file_ = nullptr;
};

}  // namespace weir::nexmark
